// The cors policy, following its reference page: preflight requests that match are answered
// directly; unmatched ones end with an empty 200 when terminate-unmatched-request is true (the
// default); matching simple requests get Access-Control-Allow-Origin (and -Credentials,
// -Expose-Headers) on the final response.
using System;
using System.Collections.Generic;
using System.Linq;

namespace Apim.Emulator
{
    public sealed class CorsPolicy : Policy
    {
        public Value AllowCredentials, TerminateUnmatched;
        public List<Value> Origins = new List<Value>(), Methods = new List<Value>(), Headers = new List<Value>(), Expose = new List<Value>();
        public Value MaxAge;

        public override void Run(GatewayContext c, Msg m)
        {
            var req = c.RequestImpl;
            string[] originValues;
            if (!req.HeadersImpl.TryGetValue("Origin", out originValues) || originValues.Length == 0) return;
            var origin = originValues[0];
            var credentials = AllowCredentials != null && AllowCredentials.Bool(c);
            var terminate = TerminateUnmatched == null || TerminateUnmatched.Bool(c);
            var origins = Origins.Select(v => v.Str(c).Trim()).ToList();
            var anyOrigin = origins.Contains("*");
            var originOk = anyOrigin || origins.Contains(origin, StringComparer.OrdinalIgnoreCase);
            string[] acrm;
            var preflight = req.Method == "OPTIONS" && req.HeadersImpl.TryGetValue("Access-Control-Request-Method", out acrm);
            var allowOrigin = anyOrigin && !credentials ? "*" : origin;

            if (preflight)
            {
                var method = req.HeadersImpl.GetValueOrDefaultValue("Access-Control-Request-Method");
                var methods = Methods.Count == 0 ? new List<string> { "GET", "POST" } : Methods.Select(v => v.Str(c).Trim().ToUpperInvariant()).ToList();
                var methodOk = methods.Contains("*") || methods.Contains(method.ToUpperInvariant());
                var requested = (req.HeadersImpl.GetValueOrDefaultValue("Access-Control-Request-Headers") ?? "")
                    .Split(',').Select(h => h.Trim()).Where(h => h.Length > 0).ToList();
                var headers = Headers.Select(v => v.Str(c).Trim()).ToList();
                var headersOk = headers.Contains("*") || requested.All(h => headers.Contains(h, StringComparer.OrdinalIgnoreCase));
                var r = new Response { StatusCode = 200, StatusReason = "OK" };
                if (originOk && methodOk && headersOk)
                {
                    r.HeadersImpl.Set("Access-Control-Allow-Origin", new[] { allowOrigin });
                    if (credentials) r.HeadersImpl.Set("Access-Control-Allow-Credentials", new[] { "true" });
                    r.HeadersImpl.Set("Access-Control-Allow-Methods", new[] { methods.Contains("*") ? method : string.Join(",", methods) });
                    if (requested.Count > 0) r.HeadersImpl.Set("Access-Control-Allow-Headers", new[] { string.Join(",", requested) });
                    if (MaxAge != null) r.HeadersImpl.Set("Access-Control-Max-Age", new[] { MaxAge.Str(c) });
                    if (allowOrigin != "*") r.HeadersImpl.Set("Vary", new[] { "Origin" });
                }
                else if (!terminate)
                {
                    return;
                }
                c.ResponseImpl = r;
                throw new EndPipeline();
            }

            if (!originOk)
            {
                if (terminate && (req.Method == "GET" || req.Method == "HEAD"))
                {
                    c.ResponseImpl = new Response { StatusCode = 200, StatusReason = "OK" };
                    throw new EndPipeline();
                }
                return;
            }
            var expose = Expose.Select(v => v.Str(c).Trim()).ToList();
            c.ResponseDecorators.Add(resp =>
            {
                resp.HeadersImpl.Set("Access-Control-Allow-Origin", new[] { allowOrigin });
                if (credentials) resp.HeadersImpl.Set("Access-Control-Allow-Credentials", new[] { "true" });
                if (expose.Count > 0) resp.HeadersImpl.Set("Access-Control-Expose-Headers", new[] { string.Join(",", expose) });
                if (allowOrigin != "*") resp.HeadersImpl.Add("Vary", "Origin");
            });
        }
    }

    public static class HeaderBagExtensions
    {
        public static string GetValueOrDefaultValue(this HeaderBag h, string name)
        {
            string[] v;
            return h.TryGetValue(name, out v) ? string.Join(",", v) : null;
        }
    }
}
