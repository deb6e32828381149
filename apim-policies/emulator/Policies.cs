// The policy elements, each implementing the semantics of its APIM reference page.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using Newtonsoft.Json.Linq;

namespace Apim.Emulator
{
    public sealed class BasePolicy : Policy
    {
        public override void Run(GatewayContext c, Msg m) { c.Gateway.RunSection(c, c.Section, Level - 1); }
    }

    public sealed class Sequence : Policy
    {
        public List<Policy> Items = new List<Policy>();
        public override void Run(GatewayContext c, Msg m) { RunAll(Items, c, m); }
    }

    public sealed class ChoosePolicy : Policy
    {
        public List<KeyValuePair<Value, List<Policy>>> Whens = new List<KeyValuePair<Value, List<Policy>>>();
        public List<Policy> Otherwise;
        public override void Run(GatewayContext c, Msg m)
        {
            foreach (var w in Whens)
            {
                if (w.Key.Bool(c)) { RunAll(w.Value, c, m); return; }
            }
            if (Otherwise != null) RunAll(Otherwise, c, m);
        }
    }

    public sealed class SetVariablePolicy : Policy
    {
        public string VarName;
        public Value Value;
        // Variables keep the .NET type the expression returned (a literal is a string), which must be
        // one of the types the set-variable reference allows; anything else is a run-time error, as in APIM.
        public override void Run(GatewayContext c, Msg m)
        {
            var v = Value.Eval(c);
            if (v != null && !Allowed(v.GetType()))
                throw new InvalidOperationException("set-variable \"" + VarName + "\": a variable cannot hold a " + v.GetType().FullName +
                    " (allowed: bool, integer types, decimal, float, double, Guid, string, char, DateTime, TimeSpan, byte[], sbyte[], Newtonsoft.Json.Linq tokens)");
            c.VariablesImpl[VarName] = v;
        }

        static readonly HashSet<Type> allowedTypes = new HashSet<Type>
        {
            typeof(bool), typeof(sbyte), typeof(byte), typeof(ushort), typeof(uint), typeof(ulong), typeof(short), typeof(int), typeof(long),
            typeof(decimal), typeof(float), typeof(double), typeof(Guid), typeof(string), typeof(char), typeof(DateTime), typeof(TimeSpan),
            typeof(byte[]), typeof(sbyte[]),
        };

        static bool Allowed(Type t) { return allowedTypes.Contains(t) || typeof(JToken).IsAssignableFrom(t); }
    }

    public sealed class SetHeaderPolicy : Policy
    {
        public Value HeaderName;
        public string ExistsAction = "override";
        public List<Value> Values = new List<Value>();
        public bool Query;

        public override void Run(GatewayContext c, Msg m)
        {
            var name = HeaderName.Str(c);
            var values = Values.Select(v => v.Str(c)).Where(v => v != null).ToList();
            if (Query) { RunQuery(c, name, values); return; }
            var h = m.Headers;
            switch (ExistsAction)
            {
                case "delete": h.Remove(name); break;
                case "skip": if (!h.ContainsKey(name)) h.Set(name, values); break;
                case "append": foreach (var v in values) h.Add(name, v); break;
                default: h.Set(name, values); break;
            }
        }

        void RunQuery(GatewayContext c, string name, List<string> values)
        {
            var q = c.RequestImpl.UrlImpl.QueryPairs;
            var exists = q.Any(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase));
            switch (ExistsAction)
            {
                case "delete": q.RemoveAll(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)); break;
                case "skip": if (!exists) foreach (var v in values) q.Add(new KeyValuePair<string, string>(name, v)); break;
                case "append": foreach (var v in values) q.Add(new KeyValuePair<string, string>(name, v)); break;
                default:
                    q.RemoveAll(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase));
                    foreach (var v in values) q.Add(new KeyValuePair<string, string>(name, v));
                    break;
            }
        }
    }

    public sealed class SetBodyPolicy : Policy
    {
        public Value Body;
        public override void Run(GatewayContext c, Msg m) { m.SetBody(Value.BodyBytes(Body.Eval(c))); }
    }

    public sealed class SetStatusPolicy : Policy
    {
        public Value Code, Reason;
        public override void Run(GatewayContext c, Msg m)
        {
            var resp = m.Resp ?? c.ResponseImpl;
            resp.StatusCode = Code.Int(c);
            resp.StatusReason = Reason != null ? Reason.Str(c) : HttpText.Reason(resp.StatusCode);
        }
    }

    public sealed class SetMethodPolicy : Policy
    {
        public Value Method;
        public override void Run(GatewayContext c, Msg m) { (m.Req ?? c.RequestImpl).Method = Method.Str(c).Trim().ToUpperInvariant(); }
    }

    public sealed class ReturnResponsePolicy : Policy
    {
        public string ResponseVariable;
        public List<Policy> Items = new List<Policy>();
        public override void Run(GatewayContext c, Msg m)
        {
            var r = new Response();
            if (ResponseVariable != null)
            {
                object v;
                var src = c.VariablesImpl.TryGetValue(ResponseVariable, out v) ? v as Response : null;
                if (src == null) throw new InvalidOperationException("return-response: variable '" + ResponseVariable + "' does not hold a response");
                r.StatusCode = src.StatusCode; r.StatusReason = src.StatusReason;
                r.HeadersImpl = src.HeadersImpl.Clone();
                r.BodyImpl = new MessageBody(src.BodyImpl.Bytes());
            }
            RunAll(Items, c, new Msg { Resp = r });
            c.ResponseImpl = r;
            throw new EndPipeline();
        }
    }

    public sealed class RewriteUriPolicy : Policy
    {
        public Value Template;
        public bool CopyUnmatched = true;
        public override void Run(GatewayContext c, Msg m)
        {
            var t = Template.Str(c);
            var used = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var query = c.RequestImpl.UrlImpl.Query;
            Func<string, string> fill = s => System.Text.RegularExpressions.Regex.Replace(s, @"\{([^{}]+)\}", mm =>
            {
                var name = mm.Groups[1].Value;
                used.Add(name);
                string pv;
                if (c.RequestImpl.Matched.TryGetValue(name, out pv)) return Uri.EscapeDataString(pv);
                string[] qv;
                if (query.TryGetValue(name, out qv)) return Uri.EscapeDataString(string.Join(",", qv));
                return "";
            });
            var qi = t.IndexOf('?');
            var path = fill(qi < 0 ? t : t.Substring(0, qi));
            var newQuery = new List<KeyValuePair<string, string>>();
            if (qi >= 0)
                foreach (var kv in Form.Parse(fill(t.Substring(qi + 1))))
                    foreach (var v in kv.Value) newQuery.Add(new KeyValuePair<string, string>(kv.Key, v));
            if (CopyUnmatched)
                foreach (var p in c.RequestImpl.UrlImpl.QueryPairs)
                    if (!used.Contains(p.Key) && !newQuery.Any(q => string.Equals(q.Key, p.Key, StringComparison.OrdinalIgnoreCase))) newQuery.Add(p);
            c.BackendPath = path.StartsWith("/") ? path : "/" + path;
            c.Gateway.SyncUrl(c);
            c.RequestImpl.UrlImpl.QueryPairs.Clear();
            c.RequestImpl.UrlImpl.QueryPairs.AddRange(newQuery);
        }
    }

    public sealed class SetBackendServicePolicy : Policy
    {
        public Value BaseUrl, BackendId;
        public override void Run(GatewayContext c, Msg m)
        {
            if (BaseUrl != null) c.BackendBase = BaseUrl.Str(c);
            else c.BackendBase = c.Gateway.BackendUrl(BackendId.Str(c));
            c.Gateway.SyncUrl(c);
        }
    }

    public sealed class ForwardRequestPolicy : Policy
    {
        public Value Timeout, TimeoutMs, FollowRedirects;
        public bool BufferResponse = true, FailOnErrorStatus;
        public override void Run(GatewayContext c, Msg m)
        {
            var ms = TimeoutMs != null ? TimeoutMs.Int(c) : (Timeout != null ? Timeout.Int(c) : 300) * 1000;
            var follow = FollowRedirects != null && FollowRedirects.Bool(c);
            var req = c.RequestImpl;
            if (c.BackendBase == null)
                throw new PolicyFailure("forward-request", "BackendServiceUrlMissing", "the API has no service URL: set serviceUrl or backendId in the manifest, or use set-backend-service", new Response { StatusCode = 500, StatusReason = "Internal Server Error" });
            var headers = req.HeadersImpl.Clone();
            Response resp;
            try
            {
                resp = c.Gateway.Http.Send(req.Method, req.UrlImpl.ToString(), headers, req.BodyImpl.Bytes(), ms, follow, !BufferResponse);
            }
            catch (Exception e)
            {
                var r = new Response { StatusCode = 500, StatusReason = "Internal Server Error" };
                throw new PolicyFailure("forward-request", e is TimeoutException ? "Timeout" : "BackendConnectionFailure", "Error occured while calling backend service. " + e.Message, r);
            }
            c.ResponseImpl = resp;
            if (FailOnErrorStatus && resp.StatusCode >= 400)
                throw new PolicyFailure("forward-request", "BackendError", "backend answered " + resp.StatusCode, resp);
        }
    }

    // OutgoingRequest builds the request of send-request and send-one-way-request: an empty GET
    // (mode "new", the default) or a copy of the current request (mode "copy"), then the nested
    // set-url/set-method/set-header/set-body/authentication policies applied to it.
    static class OutgoingRequest
    {
        public static Request Build(Value mode, List<Policy> items, GatewayContext c)
        {
            var req = new Request { Method = "GET" };
            if ((mode == null ? "new" : mode.Str(c)) == "copy")
            {
                req.Method = c.RequestImpl.Method;
                req.HeadersImpl = c.RequestImpl.HeadersImpl.Clone();
                req.BodyImpl = new MessageBody(c.RequestImpl.BodyImpl.Bytes());
                req.UrlImpl = c.RequestImpl.UrlImpl.Clone();
            }
            Policy.RunAll(items, c, new Msg { Req = req });
            return req;
        }
    }

    public sealed class SendRequestPolicy : Policy
    {
        public Value Mode, Timeout, TimeoutMs;
        public string ResponseVariable;
        public bool IgnoreError, FailOnErrorStatus;
        public Value Url;
        public List<Policy> Items = new List<Policy>();

        public override void Run(GatewayContext c, Msg m)
        {
            var req = OutgoingRequest.Build(Mode, Items, c);
            var url = Url != null ? Url.Str(c) : (req.UrlImpl != null ? req.UrlImpl.ToString() : null);
            if (url == null) throw new InvalidOperationException("send-request needs <set-url> in mode new");
            var ms = TimeoutMs != null ? TimeoutMs.Int(c) : (Timeout == null ? 60 : Timeout.Int(c)) * 1000;
            Response resp;
            try
            {
                resp = c.Gateway.Http.Send(req.Method, url.Trim(), req.HeadersImpl, req.BodyImpl.Bytes(), ms, false, false);
            }
            catch (Exception e)
            {
                if (!IgnoreError)
                    throw new PolicyFailure("send-request", e is TimeoutException ? "Timeout" : "SendRequestFailure", "send-request to " + SafeUrl(url) + " failed: " + e.Message, new Response { StatusCode = 500, StatusReason = "Internal Server Error" });
                c.VariablesImpl[ResponseVariable] = null;
                return;
            }
            c.VariablesImpl[ResponseVariable] = resp;
            if (FailOnErrorStatus && resp.StatusCode >= 400)
                throw new PolicyFailure("send-request", "BackendError", "send-request to " + SafeUrl(url) + " answered " + resp.StatusCode, new Response { StatusCode = 500, StatusReason = "Internal Server Error" });
        }

        static string SafeUrl(string u) { var i = u.IndexOf('?'); return i < 0 ? u : u.Substring(0, i); }
    }

    public sealed class ManagedIdentityPolicy : Policy
    {
        public Value Resource, ClientId;
        public string OutputVariable;
        public bool IgnoreError;
        public override void Run(GatewayContext c, Msg m)
        {
            string token;
            try
            {
                token = c.Gateway.ManagedIdentityToken(Resource.Str(c), ClientId == null ? null : ClientId.Str(c));
            }
            catch (Exception e)
            {
                if (IgnoreError) return;
                throw new PolicyFailure("authentication-managed-identity", "TokenAcquisitionFailure", "managed identity token request failed: " + e.Message, new Response { StatusCode = 500, StatusReason = "Internal Server Error" });
            }
            if (OutputVariable != null) c.VariablesImpl[OutputVariable] = token;
            else (m.Req ?? c.RequestImpl).HeadersImpl.Set("Authorization", new[] { "Bearer " + token });
        }
    }

    public sealed class CachePolicy : Policy
    {
        public string Kind; // lookup, store, remove
        public Value Key, StoredValue, Duration, DefaultValue;
        public string VariableName;
        public override void Run(GatewayContext c, Msg m)
        {
            var key = Key.Str(c);
            var cache = c.Gateway.Cache;
            switch (Kind)
            {
                case "lookup":
                    object v;
                    if (cache.TryGet(key, out v)) c.VariablesImpl[VariableName] = v;
                    else if (DefaultValue != null) c.VariablesImpl[VariableName] = DefaultValue.Eval(c);
                    break;
                case "store":
                    cache.Set(key, StoredValue.Eval(c), TimeSpan.FromSeconds(Duration.Int(c)));
                    break;
                case "remove":
                    cache.Remove(key);
                    break;
            }
        }
    }

    public sealed class RateLimitByKeyPolicy : Policy
    {
        public Value Calls, RenewalPeriod, CounterKey, IncrementCondition, IncrementCount;
        public bool IncrementAfterResponse;
        public string RetryAfterHeader = "Retry-After", RetryAfterVariable, RemainingHeader, RemainingVariable, TotalHeader;

        public override void Run(GatewayContext c, Msg m)
        {
            var calls = Calls.Int(c);
            var period = TimeSpan.FromSeconds(RenewalPeriod.Int(c));
            var key = "rate-limit-by-key:" + CounterKey.Str(c);
            var limiter = c.Gateway.Limiter;
            int retryAfter;
            var used = limiter.Count(key, period, out retryAfter);
            if (used >= calls)
            {
                if (RetryAfterVariable != null) c.VariablesImpl[RetryAfterVariable] = retryAfter;
                var r = new Response { StatusCode = 429, StatusReason = "Too Many Requests" };
                if (!c.Gateway.OmitRetryAfterHeader) r.HeadersImpl.Set(RetryAfterHeader, new[] { retryAfter.ToString() });
                r.HeadersImpl.Set("Content-Type", new[] { "application/json" });
                r.BodyImpl = new MessageBody(System.Text.Encoding.UTF8.GetBytes(new JObject(
                    new JProperty("statusCode", 429),
                    new JProperty("message", "Rate limit is exceeded. Try again in " + retryAfter + " seconds.")).ToString(Newtonsoft.Json.Formatting.None)));
                throw new PolicyFailure("rate-limit-by-key", "RateLimitExceeded", "Rate limit is exceeded. Try again in " + retryAfter + " seconds.", r);
            }
            var remaining = calls - used;
            Action count = () =>
            {
                var n = IncrementCount == null ? 1 : IncrementCount.Int(c);
                limiter.Add(key, n);
            };
            if (IncrementCondition == null && !IncrementAfterResponse && (IncrementCount == null || !IncrementCount.IsExpression))
            {
                count();
                remaining--;
            }
            else
            {
                // The reference: an expression in increment-condition/increment-count defers the
                // evaluation and the increment to the end of the outbound pipeline.
                c.Finally.Add(() => { if (IncrementCondition == null || IncrementCondition.Bool(c)) count(); });
            }
            if (RemainingVariable != null) c.VariablesImpl[RemainingVariable] = remaining;
            var rem = remaining;
            if (RemainingHeader != null) c.ResponseDecorators.Add(resp => resp.HeadersImpl.Set(RemainingHeader, new[] { rem.ToString() }));
            if (TotalHeader != null) c.ResponseDecorators.Add(resp => resp.HeadersImpl.Set(TotalHeader, new[] { calls.ToString() }));
        }
    }

    public sealed class CheckHeaderPolicy : Policy
    {
        public Value HeaderName, FailedCode, FailedMessage, IgnoreCase;
        public List<Value> Values = new List<Value>();
        public override void Run(GatewayContext c, Msg m)
        {
            var name = HeaderName.Str(c);
            string[] got;
            string reason = null;
            if (!c.RequestImpl.HeadersImpl.TryGetValue(name, out got)) reason = "HeaderNotFound";
            else if (Values.Count > 0)
            {
                var cmp = IgnoreCase.Bool(c) ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;
                var allowed = Values.Select(v => v.Str(c)).ToList();
                if (!got.Any(g => allowed.Contains(g, cmp))) reason = "HeaderValueNotAllowed";
            }
            if (reason == null) return;
            var code = FailedCode.Int(c);
            var msg = FailedMessage.Str(c);
            var r = new Response { StatusCode = code, StatusReason = HttpText.Reason(code) };
            r.HeadersImpl.Set("Content-Type", new[] { "application/json" });
            r.BodyImpl = new MessageBody(System.Text.Encoding.UTF8.GetBytes(new JObject(new JProperty("statusCode", code), new JProperty("message", msg)).ToString(Newtonsoft.Json.Formatting.None)));
            throw new PolicyFailure("check-header", reason, msg, r);
        }
    }

    public sealed class TracePolicy : Policy
    {
        public string Source, Severity = "verbose", Type = "trace";
        public Value Message;
        public List<KeyValuePair<string, Value>> Metadata = new List<KeyValuePair<string, Value>>();
        public override void Run(GatewayContext c, Msg m)
        {
            var fields = new Dictionary<string, string>();
            foreach (var kv in Metadata) fields[kv.Key] = kv.Value == null ? "" : kv.Value.Str(c);
            c.Gateway.Events.Write(c, Type, Source, Severity, Message == null ? "" : Message.Str(c), fields);
        }
    }

    public static class HttpText
    {
        public static string Reason(int code)
        {
            switch (code)
            {
                case 200: return "OK";
                case 201: return "Created";
                case 202: return "Accepted";
                case 204: return "No Content";
                case 302: return "Found";
                case 303: return "See Other";
                case 400: return "Bad Request";
                case 401: return "Unauthorized";
                case 403: return "Forbidden";
                case 404: return "Not Found";
                case 405: return "Method Not Allowed";
                case 413: return "Payload Too Large";
                case 429: return "Too Many Requests";
                case 500: return "Internal Server Error";
                case 502: return "Bad Gateway";
                case 503: return "Service Unavailable";
                default: return ((HttpStatusCode)code).ToString();
            }
        }
    }
}
