// apimemu: an Azure API Management emulator that executes this project's policy files on Mono.
// Started by the Go package internal/apimemu, which compiles the policies' expressions, writes
// the configuration file named on the command line, and fronts it with its own listener.
// Protocol: prints "apimemu: listening on <prefix>" once ready; exits when stdin closes.
using System;
using System.IO;
using System.Net;
using System.Threading;
using Newtonsoft.Json.Linq;

namespace Apim.Emulator
{
    public static class Program
    {
        public static int Main(string[] args)
        {
            if (args.Length != 1) { Console.Error.WriteLine("usage: apimemu.exe config.json"); return 2; }
            Gateway gw;
            JObject config;
            try
            {
                config = JObject.Parse(File.ReadAllText(args[0]));
                gw = new Gateway(config);
            }
            catch (LoadException e)
            {
                Console.Error.WriteLine("apimemu: " + e.Message);
                return 4;
            }
            var listener = new HttpListener();
            var prefix = (string)config["listen"];
            listener.Prefixes.Add(prefix);
            try { listener.Start(); }
            catch (Exception e) when (e is HttpListenerException || e is System.Net.Sockets.SocketException)
            {
                Console.Error.WriteLine("apimemu: cannot listen on " + prefix + ": " + e.Message);
                return 3;
            }
            ThreadPool.SetMinThreads(64, 64);
            new Thread(() => { Console.In.ReadToEnd(); Environment.Exit(0); }) { IsBackground = true }.Start();
            Console.WriteLine("apimemu: listening on " + prefix);
            Console.Out.Flush();
            while (true)
            {
                HttpListenerContext hc;
                try { hc = listener.GetContext(); }
                catch (Exception e) { Console.Error.WriteLine("apimemu: accept failed: " + e.Message); continue; }
                ThreadPool.QueueUserWorkItem(_ => gw.Handle(hc));
            }
        }
    }
}
