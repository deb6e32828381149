// Outbound HTTP for forward-request, send-request and the managed-identity endpoint. The host
// map redirects Azure hosts (the Entra authority, the function app) to local stand-ins.
using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Security;
using Newtonsoft.Json.Linq;

namespace Apim.Emulator
{
    public sealed class Outbound
    {
        readonly Dictionary<string, string> hostMap;
        static readonly HashSet<string> skipHeaders = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            "Host", "Content-Length", "Connection", "Keep-Alive", "Transfer-Encoding", "Expect", "Proxy-Connection", "TE", "Upgrade", "Trailer",
        };

        readonly bool allowExternal;

        public Outbound(Dictionary<string, string> hostMap, bool allowExternal)
        {
            this.hostMap = hostMap;
            this.allowExternal = allowExternal;
            ServicePointManager.DefaultConnectionLimit = 512;
            ServicePointManager.Expect100Continue = false;
            // Local stand-ins use the dev CA; trust is limited to loopback targets, which only the host map produces.
            ServicePointManager.ServerCertificateValidationCallback = (sender, cert, chain, errors) =>
            {
                if (errors == SslPolicyErrors.None) return true;
                var r = sender as HttpWebRequest;
                return r != null && (r.RequestUri.Host == "127.0.0.1" || r.RequestUri.Host == "localhost" || r.RequestUri.Host == "[::1]");
            };
        }

        // Map rewrites a URL whose host (or host:port) is in the host map onto the mapped base URL.
        // Unless external calls are allowed, a request that still leaves the machine after mapping is
        // refused: a local run must never reach a real service by accident.
        public string Map(string url)
        {
            var u = new Uri(url);
            string target;
            if (!hostMap.TryGetValue(u.Host + ":" + u.Port, out target) && !hostMap.TryGetValue(u.Host, out target))
            {
                if (!allowExternal && !u.IsLoopback)
                    throw new InvalidOperationException("outbound request to " + u.Host + " is not mapped to a local stand-in: add it to apimemu.Options.HostMap");
                return url;
            }
            var t = new Uri(target);
            var basePath = t.AbsolutePath.TrimEnd('/');
            return t.Scheme + "://" + t.Authority + basePath + u.PathAndQuery;
        }

        public Response Send(string method, string url, HeaderBag headers, byte[] body, int timeoutMs, bool followRedirects, bool stream)
        {
            var req = (HttpWebRequest)WebRequest.Create(Map(url));
            req.Method = method;
            req.AllowAutoRedirect = followRedirects;
            req.Timeout = timeoutMs;
            req.ReadWriteTimeout = timeoutMs;
            req.KeepAlive = true;
            req.AutomaticDecompression = DecompressionMethods.None;
            foreach (var kv in headers)
            {
                if (skipHeaders.Contains(kv.Key)) continue;
                var v = string.Join(",", kv.Value);
                switch (kv.Key.ToLowerInvariant())
                {
                    case "content-type": req.ContentType = v; break;
                    case "accept": req.Accept = v; break;
                    case "user-agent": req.UserAgent = v; break;
                    case "referer": req.Referer = v; break;
                    case "date": break;
                    case "if-modified-since": break;
                    case "range": break;
                    default: foreach (var one in kv.Value) req.Headers.Add(kv.Key, one); break;
                }
            }
            if (body != null && body.Length > 0 && method != "GET" && method != "HEAD")
            {
                req.ContentLength = body.Length;
                using (var s = req.GetRequestStream()) s.Write(body, 0, body.Length);
            }
            else if (method == "POST" || method == "PUT" || method == "PATCH")
            {
                req.ContentLength = 0;
            }
            HttpWebResponse resp;
            try
            {
                resp = (HttpWebResponse)req.GetResponse();
            }
            catch (WebException e)
            {
                if (e.Status == WebExceptionStatus.Timeout) throw new TimeoutException("the request timed out after " + timeoutMs + " ms");
                resp = e.Response as HttpWebResponse;
                if (resp == null) throw;
            }
            var r = new Response { StatusCode = (int)resp.StatusCode, StatusReason = resp.StatusDescription };
            // GetValues(index) keeps each received header line whole (Set-Cookie with an Expires date,
            // WWW-Authenticate with its parameters); GetValues(name) would split them at commas.
            for (var i = 0; i < resp.Headers.Count; i++)
            {
                var vals = resp.Headers.GetValues(i);
                if (vals == null) continue;
                foreach (var v in vals) r.HeadersImpl.Add(resp.Headers.GetKey(i), v);
            }
            var contentType = resp.ContentType ?? "";
            if (stream || contentType.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase))
            {
                r.BodyImpl = new MessageBody(new ResponseStream(resp));
            }
            else
            {
                using (resp)
                using (var s = resp.GetResponseStream())
                using (var ms = new MemoryStream())
                {
                    s.CopyTo(ms);
                    r.BodyImpl = new MessageBody(ms.ToArray());
                }
            }
            return r;
        }

        // ManagedIdentityToken speaks the App Service managed-identity protocol (IDENTITY_ENDPOINT).
        public string ManagedIdentityToken(string endpoint, string secretHeader, string resource, string clientId, out DateTime expires)
        {
            if (string.IsNullOrEmpty(endpoint)) throw new InvalidOperationException("no managed-identity endpoint is configured (apimemu.Options.MSIEndpoint)");
            var url = endpoint + (endpoint.Contains("?") ? "&" : "?") + "api-version=2019-08-01&resource=" + Uri.EscapeDataString(resource);
            if (!string.IsNullOrEmpty(clientId)) url += "&client_id=" + Uri.EscapeDataString(clientId);
            var h = new HeaderBag();
            h.Add("X-IDENTITY-HEADER", secretHeader ?? "");
            h.Add("Accept", "application/json");
            var r = Send("GET", url, h, null, 30000, false, false);
            var text = System.Text.Encoding.UTF8.GetString(r.BodyImpl.Bytes());
            if (r.StatusCode != 200) throw new InvalidOperationException("the managed-identity endpoint answered " + r.StatusCode);
            var o = JObject.Parse(text);
            var token = (string)o["access_token"];
            if (string.IsNullOrEmpty(token)) throw new InvalidOperationException("the managed-identity endpoint answered without access_token");
            long exp;
            expires = long.TryParse((string)o["expires_on"], out exp) ? new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(exp) : DateTime.UtcNow.AddMinutes(5);
            return token;
        }
    }

    // Keeps the HttpWebResponse alive while its body streams to the client.
    sealed class ResponseStream : Stream
    {
        readonly HttpWebResponse resp;
        readonly Stream inner;
        public ResponseStream(HttpWebResponse resp) { this.resp = resp; inner = resp.GetResponseStream(); }
        public override int Read(byte[] buffer, int offset, int count) { return inner.Read(buffer, offset, count); }
        protected override void Dispose(bool disposing) { if (disposing) { inner.Dispose(); resp.Dispose(); } base.Dispose(disposing); }
        public override bool CanRead { get { return true; } }
        public override bool CanSeek { get { return false; } }
        public override bool CanWrite { get { return false; } }
        public override long Length { get { throw new NotSupportedException(); } }
        public override long Position { get { throw new NotSupportedException(); } set { throw new NotSupportedException(); } }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) { throw new NotSupportedException(); }
        public override void SetLength(long value) { throw new NotSupportedException(); }
        public override void Write(byte[] buffer, int offset, int count) { throw new NotSupportedException(); }
    }
}
