// Requests, responses, bodies, URLs and headers: the emulator's implementation of the
// documented object model (../stub/ObjectModel.cs).
using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Xml.Linq;
using Apim.ObjectModel;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Apim.Emulator
{
    // Headers keep every value separately (multi-value headers as APIM exposes them) and compare
    // names case-insensitively.
    public sealed class HeaderBag : IReadOnlyDictionary<string, string[]>
    {
        readonly Dictionary<string, List<string>> map = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
        readonly List<string> order = new List<string>();

        public void Add(string name, string value)
        {
            List<string> l;
            if (!map.TryGetValue(name, out l)) { l = new List<string>(); map[name] = l; order.Add(name); }
            l.Add(value);
        }
        public void Set(string name, IEnumerable<string> values)
        {
            Remove(name);
            foreach (var v in values) Add(name, v);
        }
        public void Remove(string name)
        {
            if (map.Remove(name)) order.RemoveAll(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase));
        }
        public HeaderBag Clone()
        {
            var h = new HeaderBag();
            foreach (var kv in this) foreach (var v in kv.Value) h.Add(kv.Key, v);
            return h;
        }
        public string[] this[string key] { get { List<string> l; if (!map.TryGetValue(key, out l)) throw new KeyNotFoundException("header '" + key + "' is not present"); return l.ToArray(); } }
        public IEnumerable<string> Keys { get { return order.ToArray(); } }
        public IEnumerable<string[]> Values { get { return order.Select(n => map[n].ToArray()).ToArray(); } }
        public int Count { get { return map.Count; } }
        public bool ContainsKey(string key) { return map.ContainsKey(key); }
        public bool TryGetValue(string key, out string[] value)
        {
            List<string> l;
            if (map.TryGetValue(key, out l)) { value = l.ToArray(); return true; }
            value = null; return false;
        }
        public IEnumerator<KeyValuePair<string, string[]>> GetEnumerator()
        {
            return order.Select(n => new KeyValuePair<string, string[]>(n, map[n].ToArray())).ToList().GetEnumerator();
        }
        IEnumerator IEnumerable.GetEnumerator() { return GetEnumerator(); }
    }

    // A body is read at most once unless preserveContent is true, as in APIM. A streamed backend
    // response keeps its Stream until someone reads it; then it is buffered.
    public sealed class MessageBody : IMessageBody
    {
        byte[] content;
        Stream stream;

        public MessageBody(byte[] content) { this.content = content ?? new byte[0]; }
        public MessageBody(Stream stream) { this.stream = stream; }

        public bool IsStream { get { return stream != null; } }
        public Stream TakeStream() { var s = stream; stream = null; content = new byte[0]; return s; }

        public byte[] Bytes()
        {
            if (stream != null)
            {
                using (var ms = new MemoryStream()) { stream.CopyTo(ms); stream.Dispose(); stream = null; content = ms.ToArray(); }
            }
            return content ?? new byte[0];
        }

        byte[] Read(bool preserve)
        {
            var b = Bytes();
            if (!preserve) content = new byte[0];
            return b;
        }

        public T As<T>(bool preserveContent = false)
        {
            var b = Read(preserveContent);
            var text = Encoding.UTF8.GetString(b);
            if (text.Length > 0 && text[0] == '\uFEFF') text = text.Substring(1);
            object result;
            var t = typeof(T);
            if (t == typeof(string)) result = text;
            else if (t == typeof(byte[])) result = b;
            else if (t == typeof(JObject)) result = JObject.Parse(text);
            else if (t == typeof(JArray)) result = JArray.Parse(text);
            else if (t == typeof(JToken)) result = JToken.Parse(text);
            else if (t == typeof(XDocument)) result = XDocument.Parse(text);
            else if (t == typeof(XElement)) result = XElement.Parse(text);
            else if (t == typeof(XNode)) result = XDocument.Parse(text).Root;
            else throw new InvalidOperationException("Body.As<" + t.Name + ">: APIM converts bodies only to string, byte[], JObject, JToken, JArray, XNode, XElement or XDocument");
            return (T)result;
        }

        public IDictionary<string, IList<string>> AsFormUrlEncodedContent(bool preserveContent = false)
        {
            var text = Encoding.UTF8.GetString(Read(preserveContent));
            return Form.Parse(text);
        }
    }

    public static class Form
    {
        public static IDictionary<string, IList<string>> Parse(string text)
        {
            var d = new Dictionary<string, IList<string>>(StringComparer.Ordinal);
            foreach (var pair in text.Split('&'))
            {
                if (pair.Length == 0) continue;
                var i = pair.IndexOf('=');
                var k = Decode(i < 0 ? pair : pair.Substring(0, i));
                var v = i < 0 ? "" : Decode(pair.Substring(i + 1));
                IList<string> l;
                if (!d.TryGetValue(k, out l)) { l = new List<string>(); d[k] = l; }
                l.Add(v);
            }
            return d;
        }
        public static string Decode(string s) { return Uri.UnescapeDataString(s.Replace('+', ' ')); }
    }

    public sealed class Url : IUrl
    {
        public string Scheme { get; set; }
        public string Host { get; set; }
        public int Port { get; set; }
        public string Path { get; set; }
        public readonly List<KeyValuePair<string, string>> QueryPairs = new List<KeyValuePair<string, string>>();

        public static Url Parse(string s)
        {
            var u = new Uri(s);
            var url = new Url { Scheme = u.Scheme, Host = u.Host, Port = u.Port, Path = u.AbsolutePath };
            url.SetQueryString(u.Query);
            return url;
        }
        public void SetQueryString(string q)
        {
            QueryPairs.Clear();
            if (q.StartsWith("?")) q = q.Substring(1);
            foreach (var pair in q.Split('&'))
            {
                if (pair.Length == 0) continue;
                var i = pair.IndexOf('=');
                QueryPairs.Add(new KeyValuePair<string, string>(Form.Decode(i < 0 ? pair : pair.Substring(0, i)), i < 0 ? "" : Form.Decode(pair.Substring(i + 1))));
            }
        }
        public IReadOnlyDictionary<string, string[]> Query
        {
            get
            {
                var d = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
                foreach (var g in QueryPairs.GroupBy(p => p.Key, StringComparer.OrdinalIgnoreCase))
                    d[g.Key] = g.Select(p => p.Value).ToArray();
                return d;
            }
        }
        public string QueryString
        {
            get
            {
                if (QueryPairs.Count == 0) return "";
                return "?" + string.Join("&", QueryPairs.Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value)));
            }
        }
        public Url Clone()
        {
            var u = new Url { Scheme = Scheme, Host = Host, Port = Port, Path = Path };
            u.QueryPairs.AddRange(QueryPairs);
            return u;
        }
        public override string ToString()
        {
            var defaultPort = (Scheme == "https" && Port == 443) || (Scheme == "http" && Port == 80);
            return Scheme + "://" + Host + (defaultPort ? "" : ":" + Port) + Path + QueryString;
        }
    }

    public sealed class Request : IRequest
    {
        public MessageBody BodyImpl = new MessageBody(new byte[0]);
        public HeaderBag HeadersImpl = new HeaderBag();
        public Url UrlImpl;
        public Url OriginalUrlImpl;
        public Dictionary<string, string> Matched = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

        public IMessageBody Body { get { return BodyImpl; } }
        public System.Security.Cryptography.X509Certificates.X509Certificate2 Certificate { get { return null; } }
        public IReadOnlyDictionary<string, string[]> Headers { get { return HeadersImpl; } }
        public string IpAddress { get; set; }
        public IReadOnlyDictionary<string, string> MatchedParameters { get { return Matched; } }
        public string Method { get; set; }
        public IUrl OriginalUrl { get { return OriginalUrlImpl; } }
        public IUrl Url { get { return UrlImpl; } }
        public IPrivateEndpointConnection PrivateEndpointConnection { get { return null; } }
    }

    public sealed class Response : IResponse
    {
        public MessageBody BodyImpl = new MessageBody(new byte[0]);
        public HeaderBag HeadersImpl = new HeaderBag();
        public Response() { StatusCode = 200; StatusReason = "OK"; }
        public IMessageBody Body { get { return BodyImpl; } }
        public IReadOnlyDictionary<string, string[]> Headers { get { return HeadersImpl; } }
        public int StatusCode { get; set; }
        public string StatusReason { get; set; }
    }
}
