// Gateway routes requests to an API and operation from the manifest and runs the composed
// policies: global → API → operation, where <base/> stands for the enclosing scope, through
// inbound → backend → outbound, jumping to on-error when a policy fails.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Reflection;
using System.Text;
using Apim.ObjectModel;
using Newtonsoft.Json.Linq;

namespace Apim.Emulator
{
    public sealed class ApiDef
    {
        public string Name, Path, ServiceUrl;
        public Doc Policy;
        public List<OpDef> Operations = new List<OpDef>();
    }

    public sealed class OpDef
    {
        public string Name, Method, Template;
        public string[] Segments;
        public Doc Policy;
    }

    public sealed class Gateway
    {
        public readonly EventLog Events;
        public readonly Outbound Http;
        public readonly ValueCache Cache = new ValueCache();
        public readonly RateLimiter Limiter = new RateLimiter();
        // OmitRetryAfterHeader: rate-limit-by-key answers 429 without its Retry-After header (the
        // retry-after-variable-name variable is still set), so tests show that the policies do not
        // depend on the header reaching on-error, which APIM's documentation does not state.
        public readonly bool OmitRetryAfterHeader;
        public readonly Dictionary<string, int> Concurrency = new Dictionary<string, int>(StringComparer.Ordinal);
        public readonly Dictionary<string, KeyValuePair<DateTime, int>> Quotas = new Dictionary<string, KeyValuePair<DateTime, int>>(StringComparer.Ordinal);
        readonly List<ApiDef> apis = new List<ApiDef>();
        readonly Dictionary<string, string> backends = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        readonly Doc global;
        readonly DeploymentInfo deployment;
        readonly string msiEndpoint, msiHeader;
        readonly Dictionary<string, KeyValuePair<string, DateTime>> tokens = new Dictionary<string, KeyValuePair<string, DateTime>>();

        public Gateway(JObject config)
        {
            var manifestPath = (string)config["manifest"];
            var dir = Path.GetDirectoryName(Path.GetFullPath(manifestPath));
            var manifest = JObject.Parse(File.ReadAllText(manifestPath));
            var named = Strings(config["namedValues"]);
            var hostMap = Strings(config["hostMap"]);
            Events = new EventLog((string)config["traceFile"]);
            Http = new Outbound(hostMap, (bool?)config["allowExternal"] ?? false);
            OmitRetryAfterHeader = (bool?)config["omitRetryAfterHeader"] ?? false;
            msiEndpoint = (string)config["msiEndpoint"];
            msiHeader = (string)config["msiHeader"];
            deployment = new DeploymentInfo { ServiceName = (string)config["serviceName"] ?? "apim-emulator", Region = (string)config["region"] ?? "local" };

            foreach (var b in (JArray)manifest["backends"] ?? new JArray()) backends[(string)b["id"]] = (string)b["url"];
            foreach (var kv in Strings(config["backends"])) backends[kv.Key] = kv.Value;

            var table = LoadTable((string)config["expressions"], named);
            var fragments = new Dictionary<string, string>();
            foreach (var f in (JArray)manifest["fragments"] ?? new JArray()) fragments[(string)f["id"]] = (string)f["policy"];
            var loader = new Loader(dir, table, named, fragments);

            var g = (string)manifest["globalPolicy"];
            if (!string.IsNullOrEmpty(g)) global = loader.LoadDoc(g, 0);
            foreach (var a in (JArray)manifest["apis"] ?? new JArray())
            {
                var api = new ApiDef { Name = (string)a["name"], Path = ((string)a["path"] ?? "").Trim('/'), ServiceUrl = (string)a["serviceUrl"] };
                var backendId = (string)a["backendId"];
                if (!string.IsNullOrEmpty(backendId)) api.ServiceUrl = BackendUrl(backendId);
                var p = (string)a["policy"];
                if (!string.IsNullOrEmpty(p)) api.Policy = loader.LoadDoc(p, 1);
                apis.Add(api);
            }
            foreach (var o in (JArray)manifest["operations"] ?? new JArray())
            {
                var api = apis.FirstOrDefault(x => x.Name == (string)o["api"]);
                if (api == null) throw new InvalidOperationException("operation " + (string)o["name"] + ": api " + (string)o["api"] + " is not declared");
                var tpl = (string)o["urlTemplate"];
                var q = tpl.IndexOf('?');
                var op = new OpDef { Name = (string)o["name"], Method = ((string)o["method"]).ToUpperInvariant(), Template = tpl };
                op.Segments = (q < 0 ? tpl : tpl.Substring(0, q)).Trim('/').Split(new[] { '/' }, StringSplitOptions.RemoveEmptyEntries);
                var p = (string)o["policy"];
                if (!string.IsNullOrEmpty(p)) op.Policy = loader.LoadDoc(p, 2);
                api.Operations.Add(op);
            }
        }

        static Dictionary<string, string> Strings(JToken t)
        {
            var d = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            var o = t as JObject;
            if (o != null) foreach (var p in o.Properties()) d[p.Name] = (string)p.Value;
            return d;
        }

        static Dictionary<string, Func<IContext, object>> LoadTable(string path, Dictionary<string, string> named)
        {
            if (string.IsNullOrEmpty(path)) return new Dictionary<string, Func<IContext, object>>();
            var asm = Assembly.LoadFrom(path);
            var values = (Dictionary<string, string>)asm.GetType("Apim.Policies.Generated.NamedValues", true).GetField("Values").GetValue(null);
            foreach (var kv in named) values[kv.Key] = kv.Value;
            var t = asm.GetType("Apim.Policies.Generated.Expressions", true);
            return (Dictionary<string, Func<IContext, object>>)t.GetMethod("Table").Invoke(null, null);
        }

        public string BackendUrl(string id)
        {
            string url;
            if (!backends.TryGetValue(id, out url)) throw new InvalidOperationException("backend '" + id + "' is not declared");
            return url;
        }

        public string ManagedIdentityToken(string resource, string clientId)
        {
            var key = resource + "|" + clientId;
            lock (tokens)
            {
                KeyValuePair<string, DateTime> t;
                if (tokens.TryGetValue(key, out t) && t.Value > DateTime.UtcNow) return t.Key;
            }
            DateTime expires;
            var token = Http.ManagedIdentityToken(msiEndpoint, msiHeader, resource, clientId, out expires);
            // Like APIM, reuse a token until shortly before it expires instead of calling the
            // identity endpoint per request (at most 10 minutes, so rotated stand-in keys are picked up).
            var until = expires.AddMinutes(-1);
            if (until > DateTime.UtcNow.AddMinutes(10)) until = DateTime.UtcNow.AddMinutes(10);
            lock (tokens) tokens[key] = new KeyValuePair<string, DateTime>(token, until);
            return token;
        }

        // SyncUrl recomputes context.Request.Url from the backend base and path, keeping the query.
        public void SyncUrl(GatewayContext c)
        {
            var old = c.RequestImpl.UrlImpl;
            var o = c.RequestImpl.OriginalUrlImpl;
            var baseUrl = c.BackendBase ?? (o.Scheme + "://" + o.Host + ":" + o.Port + "/" + c.ApiDef.Path);
            var u = Url.Parse(baseUrl.TrimEnd('/') + (c.BackendPath ?? ""));
            u.QueryPairs.Clear();
            if (old != null) u.QueryPairs.AddRange(old.QueryPairs);
            c.RequestImpl.UrlImpl = u;
        }

        // RunSection runs one section at a scope level; absent sections and <base/> defer to the
        // level above. Without a global policy file APIM's default applies: forward-request in backend.
        public void RunSection(GatewayContext c, string section, int level)
        {
            if (level < 0) return;
            Doc doc = level == 0 ? global : level == 1 ? c.ApiDef.Policy : c.OpDef.Policy;
            List<Policy> list = null;
            if (doc != null) doc.Sections.TryGetValue(section, out list);
            if (list == null)
            {
                if (level > 0) RunSection(c, section, level - 1);
                else if (section == "backend") new ForwardRequestPolicy { Name = "forward-request", File = "(default global policy)" }.Run(c, Msg.ForSection(c));
                return;
            }
            Policy.RunAll(list, c, Msg.ForSection(c));
        }

        static readonly string[] scopeNames = { "global", "api", "operation" };

        bool Match(OpDef op, string[] segs, string method, Dictionary<string, string> matched)
        {
            if (op.Method != "*" && op.Method != method) return false;
            int i = 0;
            for (; i < op.Segments.Length; i++)
            {
                var s = op.Segments[i];
                if (s.StartsWith("{*") && s.EndsWith("}"))
                {
                    matched[s.Substring(2, s.Length - 3)] = string.Join("/", segs.Skip(i).Select(Uri.UnescapeDataString));
                    return true;
                }
                if (i >= segs.Length) return false;
                if (s.StartsWith("{") && s.EndsWith("}")) matched[s.Substring(1, s.Length - 2)] = Uri.UnescapeDataString(segs[i]);
                else if (!string.Equals(s, Uri.UnescapeDataString(segs[i]), StringComparison.OrdinalIgnoreCase)) return false;
            }
            return i == segs.Length;
        }

        public void Handle(HttpListenerContext hc)
        {
            var c = new GatewayContext { Gateway = this, RequestId = Guid.NewGuid(), Timestamp = DateTime.UtcNow, DeploymentImpl = deployment };
            Response final;
            try
            {
                final = Process(hc, c);
            }
            catch (Exception e)
            {
                Console.Error.WriteLine("apimemu: internal error: " + e);
                final = ErrorResponse(500, "Internal server error", c);
            }
            Write(hc.Response, final);
        }

        Response Process(HttpListenerContext hc, GatewayContext c)
        {
            var req = FrontRequest(hc);
            c.RequestImpl = req;
            var path = req.OriginalUrlImpl.Path;
            var api = apis.Where(a => a.Path == "" || path.Equals("/" + a.Path, StringComparison.OrdinalIgnoreCase) || path.StartsWith("/" + a.Path + "/", StringComparison.OrdinalIgnoreCase))
                .OrderByDescending(a => a.Path.Length).FirstOrDefault();
            if (api == null) return ErrorResponse(404, "Resource not found", c);
            var rest = api.Path == "" ? path : path.Substring(api.Path.Length + 1);
            var segs = rest.Trim('/').Split(new[] { '/' }, StringSplitOptions.RemoveEmptyEntries);
            OpDef op = null;
            var method = req.Method;
            string[] acrm;
            // A CORS preflight is matched to the operation the actual request will call.
            if (method == "OPTIONS" && !api.Operations.Any(o => o.Method == "OPTIONS" && Match(o, segs, "OPTIONS", new Dictionary<string, string>()))
                && req.HeadersImpl.TryGetValue("Access-Control-Request-Method", out acrm) && req.HeadersImpl.ContainsKey("Origin"))
                method = acrm[0].ToUpperInvariant();
            foreach (var o in api.Operations.OrderByDescending(o => o.Segments.Count(s => !s.StartsWith("{"))).ThenByDescending(o => o.Segments.Length))
            {
                var m = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                if (Match(o, segs, method, m)) { op = o; foreach (var kv in m) req.Matched[kv.Key] = kv.Value; break; }
            }
            if (op == null) return ErrorResponse(404, "Resource not found", c);
            c.ApiDef = api; c.OpDef = op;
            c.ApiImpl = new ApiInfo { Id = "/apis/" + api.Name, Name = api.Name, Path = api.Path, Protocols = new[] { "https" }, ServiceUrl = string.IsNullOrEmpty(api.ServiceUrl) ? null : Url.Parse(api.ServiceUrl) };
            c.OperationImpl = new OperationInfo { Id = "/apis/" + api.Name + "/operations/" + op.Name, Name = op.Name, Method = op.Method, UrlTemplate = op.Template };
            // An API without a service URL has no backend until set-backend-service names one;
            // forwarding would otherwise loop back into the gateway.
            c.BackendBase = string.IsNullOrEmpty(api.ServiceUrl) ? null : api.ServiceUrl;
            c.BackendPath = "/" + string.Join("/", segs);
            if (rest.EndsWith("/") && segs.Length > 0) c.BackendPath += "/";
            req.UrlImpl = req.OriginalUrlImpl.Clone();
            SyncUrl(c);

            try
            {
                foreach (var section in new[] { "inbound", "backend", "outbound" })
                {
                    c.Section = section;
                    RunSection(c, section, 2);
                }
            }
            catch (EndPipeline) { }
            catch (Exception e)
            {
                OnError(c, e);
            }
            // Deferred work (rate-limit increments with a condition) sees the final response.
            foreach (var f in c.Finally)
            {
                try { f(); }
                catch (Exception e) { Console.Error.WriteLine("apimemu: deferred policy work failed: " + e.Message); }
            }
            foreach (var d in c.ResponseDecorators) d(c.ResponseImpl);
            return c.ResponseImpl;
        }

        void OnError(GatewayContext c, Exception e)
        {
            var pf = e as PolicyFailure;
            var policy = c.CurrentPolicy;
            c.LastErrorImpl = new LastError
            {
                Source = pf != null ? pf.Source : (policy != null ? policy.Name : "gateway"),
                Reason = pf != null ? pf.Reason : (e is ExpressionFailure ? "ExpressionValueEvaluationFailure" : "PolicyError"),
                Message = e.Message,
                Section = c.Section,
                Scope = policy == null ? "" : scopeNames[policy.Level],
                Path = policy == null ? "" : policy.File + ":" + policy.Line,
                PolicyId = policy == null ? "" : policy.Name,
            };
            if (pf == null) Console.Error.WriteLine("apimemu: " + c.LastErrorImpl.Path + ": " + c.LastErrorImpl.Source + ": " + e.Message);
            c.ResponseImpl = pf != null && pf.Response != null ? pf.Response : ErrorResponse(500, "Internal server error", c);
            c.Section = "on-error";
            try
            {
                RunSection(c, "on-error", 2);
            }
            catch (EndPipeline) { }
            catch (Exception e2)
            {
                // An error inside on-error is unhandled: APIM answers 500.
                Console.Error.WriteLine("apimemu: error in on-error: " + e2.Message);
                c.ResponseImpl = ErrorResponse(500, "Internal server error", c);
            }
        }

        static Response ErrorResponse(int code, string message, GatewayContext c)
        {
            var r = new Response { StatusCode = code, StatusReason = HttpText.Reason(code) };
            r.HeadersImpl.Set("Content-Type", new[] { "application/json; charset=utf-8" });
            var body = new JObject(new JProperty("statusCode", code), new JProperty("message", message));
            if (code >= 500) body["activityId"] = c.RequestId.ToString();
            r.BodyImpl = new MessageBody(Encoding.UTF8.GetBytes(body.ToString(Newtonsoft.Json.Formatting.None)));
            return r;
        }

        // FrontRequest reads the request as the Go front end (apimemu) relayed it: the exact header
        // lines in X-Apimemu-Headers (HttpListener merges repeated headers), the client's scheme,
        // host and address in X-Apimemu-Scheme/-Host/-Client-Ip.
        static Request FrontRequest(HttpListenerContext hc)
        {
            var r = hc.Request;
            var req = new Request { Method = r.HttpMethod.ToUpperInvariant() };
            var relayed = r.Headers["X-Apimemu-Headers"];
            if (relayed != null)
            {
                var o = JObject.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(relayed)));
                foreach (var p in o.Properties()) foreach (var v in (JArray)p.Value) req.HeadersImpl.Add(p.Name, (string)v);
            }
            else
            {
                foreach (var k in r.Headers.AllKeys) foreach (var v in r.Headers.GetValues(k)) req.HeadersImpl.Add(k, v);
            }
            var scheme = r.Headers["X-Apimemu-Scheme"] ?? "http";
            var host = r.Headers["X-Apimemu-Host"] ?? r.Headers["Host"];
            req.IpAddress = r.Headers["X-Apimemu-Client-Ip"] ?? r.RemoteEndPoint.Address.ToString();
            foreach (var h in new[] { "X-Apimemu-Headers", "X-Apimemu-Scheme", "X-Apimemu-Host", "X-Apimemu-Client-Ip" }) req.HeadersImpl.Remove(h);
            req.OriginalUrlImpl = Url.Parse(scheme + "://" + host + r.RawUrl);
            using (var ms = new MemoryStream())
            {
                r.InputStream.CopyTo(ms);
                req.BodyImpl = new MessageBody(ms.ToArray());
            }
            return req;
        }

        static readonly HashSet<string> hopByHop = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Content-Type", "Server", "Date",
        };

        static void Write(HttpListenerResponse w, Response r)
        {
            try
            {
                w.StatusCode = r.StatusCode;
                w.StatusDescription = string.IsNullOrEmpty(r.StatusReason) ? HttpText.Reason(r.StatusCode) : r.StatusReason;
                string[] ct;
                if (r.HeadersImpl.TryGetValue("Content-Type", out ct) && ct.Length > 0) w.ContentType = ct[0];
                foreach (var kv in r.HeadersImpl)
                {
                    if (hopByHop.Contains(kv.Key)) continue;
                    foreach (var v in kv.Value)
                    {
                        // A value HttpListener refuses (e.g. one with a line break) is dropped and
                        // logged rather than aborting the whole response.
                        try { w.Headers.Add(kv.Key, v); }
                        catch (ArgumentException e) { Console.Error.WriteLine("apimemu: response header " + kv.Key + " dropped: " + e.Message); }
                    }
                }
                if (r.BodyImpl.IsStream)
                {
                    w.SendChunked = true;
                    var buf = new byte[16384];
                    using (var s = r.BodyImpl.TakeStream())
                    {
                        int n;
                        while ((n = s.Read(buf, 0, buf.Length)) > 0)
                        {
                            w.OutputStream.Write(buf, 0, n);
                            w.OutputStream.Flush();
                        }
                    }
                }
                else
                {
                    var b = r.BodyImpl.Bytes();
                    w.ContentLength64 = b.Length;
                    if (b.Length > 0) w.OutputStream.Write(b, 0, b.Length);
                }
                w.OutputStream.Close();
            }
            catch (Exception e)
            {
                Console.Error.WriteLine("apimemu: writing the response failed: " + e.Message);
                try { w.Abort(); } catch (Exception) { }
            }
        }
    }
}
