// The documented extension methods, with their exact signatures, implemented for real so the
// emulator can use this same assembly. Also the undocumented one-argument GetValueOrDefault forms
// that APIM accepts and the Microsoft sample relies on: without them, mcs would silently bind
// Variables.GetValueOrDefault("x") to Mono's CollectionExtensions, which APIM does not have.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Newtonsoft.Json.Linq;

namespace Apim.ObjectModel
{
    public static class ContextExtensions
    {
        // Headers, query parameters and JWT claims: several values come back comma-joined.
        public static string GetValueOrDefault(this IReadOnlyDictionary<string, string[]> dictionary, string name, string defaultValue)
        {
            string[] values;
            if (dictionary == null || name == null || !dictionary.TryGetValue(name, out values) || values == null || values.Length == 0)
                return defaultValue;
            return string.Join(",", values);
        }

        public static string GetValueOrDefault(this IReadOnlyDictionary<string, string[]> dictionary, string name)
        {
            return GetValueOrDefault(dictionary, name, null);
        }

        // Variables: throws when the stored value has another type, as APIM does.
        public static T GetValueOrDefault<T>(this IReadOnlyDictionary<string, object> variables, string name, T defaultValue)
        {
            object value;
            if (variables == null || !variables.TryGetValue(name, out value))
                return defaultValue;
            return (T)value;
        }

        public static object GetValueOrDefault(this IReadOnlyDictionary<string, object> variables, string name)
        {
            object value;
            if (variables == null || !variables.TryGetValue(name, out value))
                return null;
            return value;
        }

        public static BasicAuthCredentials AsBasic(this string input)
        {
            BasicAuthCredentials result;
            if (!TryParseBasic(input, out result))
                throw new FormatException("the value is not a Basic authorization header");
            return result;
        }

        public static bool TryParseBasic(this string input, out BasicAuthCredentials result)
        {
            result = null;
            if (string.IsNullOrEmpty(input)) return false;
            var s = input.Trim();
            if (s.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)) s = s.Substring(6).Trim();
            try
            {
                var text = Encoding.UTF8.GetString(Convert.FromBase64String(s));
                var i = text.IndexOf(':');
                if (i < 0) return false;
                result = new BasicAuthCredentials(text.Substring(0, i), text.Substring(i + 1));
                return true;
            }
            catch (FormatException) { return false; }
        }

        public static Jwt AsJwt(this string input)
        {
            Jwt result;
            return TryParseJwt(input, out result) ? result : null;
        }

        // Parses a JWT (optionally prefixed with "Bearer "). The signature is not verified.
        public static bool TryParseJwt(this string input, out Jwt result)
        {
            result = null;
            if (string.IsNullOrEmpty(input)) return false;
            var s = input.Trim();
            if (s.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) s = s.Substring(7).Trim();
            var parts = s.Split('.');
            if (parts.Length != 3) return false;
            try
            {
                var header = JObject.Parse(Encoding.UTF8.GetString(B64Url(parts[0])));
                var payload = JObject.Parse(Encoding.UTF8.GetString(B64Url(parts[1])));
                var claims = new Dictionary<string, string[]>(StringComparer.Ordinal);
                foreach (var p in payload.Properties())
                {
                    if (p.Value.Type == JTokenType.Array)
                        claims[p.Name] = p.Value.Select(v => v.Type == JTokenType.String ? (string)v : v.ToString(Newtonsoft.Json.Formatting.None)).ToArray();
                    else if (p.Value.Type == JTokenType.String || p.Value.Type == JTokenType.Integer || p.Value.Type == JTokenType.Float || p.Value.Type == JTokenType.Boolean)
                        claims[p.Name] = new[] { Convert.ToString(((JValue)p.Value).Value, System.Globalization.CultureInfo.InvariantCulture) };
                    else
                        claims[p.Name] = new[] { p.Value.ToString(Newtonsoft.Json.Formatting.None) };
                }
                string[] aud;
                result = new Jwt
                {
                    Algorithm = (string)header["alg"],
                    Type = (string)header["typ"],
                    Claims = claims,
                    Audiences = claims.TryGetValue("aud", out aud) ? aud : new string[0],
                    Id = One(claims, "jti"),
                    Issuer = One(claims, "iss"),
                    Subject = One(claims, "sub"),
                    ExpirationTime = Time(claims, "exp"),
                    IssuedAt = Time(claims, "iat"),
                    NotBefore = Time(claims, "nbf"),
                };
                return true;
            }
            catch (Exception e) when (e is FormatException || e is Newtonsoft.Json.JsonException || e is ArgumentException)
            {
                return false;
            }
        }

        static string One(Dictionary<string, string[]> claims, string name)
        {
            string[] v;
            return claims.TryGetValue(name, out v) && v.Length > 0 ? v[0] : null;
        }

        static DateTime? Time(Dictionary<string, string[]> claims, string name)
        {
            var v = One(claims, name);
            double secs;
            if (v == null || !double.TryParse(v, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out secs)) return null;
            return new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(secs);
        }

        static byte[] B64Url(string s)
        {
            s = s.Replace('-', '+').Replace('_', '/');
            switch (s.Length % 4) { case 2: s += "=="; break; case 3: s += "="; break; case 1: throw new FormatException("bad base64url"); }
            return Convert.FromBase64String(s);
        }

        // alg names a SymmetricAlgorithm ("Aes", "Rijndael", "TripleDES", ...); CBC with PKCS7 padding.
        public static byte[] Encrypt(this byte[] input, string alg, byte[] key, byte[] iv)
        {
            using (var a = CreateAlgorithm(alg)) return Encrypt(input, a, key, iv);
        }

        public static byte[] Encrypt(this byte[] input, SymmetricAlgorithm alg)
        {
            using (var t = alg.CreateEncryptor()) return t.TransformFinalBlock(input, 0, input.Length);
        }

        public static byte[] Encrypt(this byte[] input, SymmetricAlgorithm alg, byte[] key, byte[] iv)
        {
            using (var t = alg.CreateEncryptor(key, iv)) return t.TransformFinalBlock(input, 0, input.Length);
        }

        public static byte[] Decrypt(this byte[] input, string alg, byte[] key, byte[] iv)
        {
            using (var a = CreateAlgorithm(alg)) return Decrypt(input, a, key, iv);
        }

        public static byte[] Decrypt(this byte[] input, SymmetricAlgorithm alg)
        {
            using (var t = alg.CreateDecryptor()) return t.TransformFinalBlock(input, 0, input.Length);
        }

        public static byte[] Decrypt(this byte[] input, SymmetricAlgorithm alg, byte[] key, byte[] iv)
        {
            using (var t = alg.CreateDecryptor(key, iv)) return t.TransformFinalBlock(input, 0, input.Length);
        }

        static SymmetricAlgorithm CreateAlgorithm(string alg)
        {
            var a = SymmetricAlgorithm.Create(alg);
            if (a == null) throw new ArgumentException("unknown symmetric algorithm '" + alg + "'");
            return a;
        }

        public static bool VerifyNoRevocation(this X509Certificate2 input)
        {
            using (var chain = new X509Chain())
            {
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(input);
            }
        }

        // On the result of Body.AsFormUrlEncodedContent().
        public static string ToQueryString(this IDictionary<string, IList<string>> form)
        {
            var sb = new StringBuilder();
            foreach (var kv in form)
                foreach (var v in kv.Value)
                {
                    if (sb.Length > 0) sb.Append('&');
                    sb.Append(Uri.EscapeDataString(kv.Key)).Append('=').Append(Uri.EscapeDataString(v ?? ""));
                }
            return sb.ToString();
        }

        public static string ToFormUrlEncodedContent(this IDictionary<string, IList<string>> form)
        {
            return ToQueryString(form);
        }
    }
}
