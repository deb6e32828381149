// trace, emit-metric, log-to-eventhub and context.Trace write one JSON object per line to the
// trace file the Go side reads (apimemu.Gateway.Events). In Azure these go to Application
// Insights / Event Hubs; here they are the observable record tests assert on.
using System;
using System.Collections.Generic;
using System.IO;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Apim.Emulator
{
    public sealed class EventLog
    {
        readonly object gate = new object();
        readonly string path;

        public EventLog(string path) { this.path = path; }

        public void Write(GatewayContext c, string type, string source, string severity, string message, IDictionary<string, string> fields)
        {
            var o = new JObject(
                new JProperty("type", type),
                new JProperty("time", DateTime.UtcNow.ToString("o")),
                new JProperty("requestId", c == null ? "" : c.RequestId.ToString()),
                new JProperty("api", c != null && c.ApiImpl != null ? c.ApiImpl.Name : ""),
                new JProperty("operation", c != null && c.OperationImpl != null ? c.OperationImpl.Name : ""),
                new JProperty("source", source ?? ""),
                new JProperty("severity", severity ?? ""),
                new JProperty("message", message ?? ""));
            if (fields != null)
            {
                var f = new JObject();
                foreach (var kv in fields) f[kv.Key] = kv.Value;
                o["fields"] = f;
            }
            var line = o.ToString(Formatting.None) + "\n";
            if (path == null) return;
            lock (gate) File.AppendAllText(path, line);
        }
    }
}
