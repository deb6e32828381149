// Loader turns policy XML into the policy tree. It substitutes named values as text (as APIM
// does before compiling expressions), binds each @(...)/@{...} to the delegate compiled by the
// Go toolchain (keyed like toolchain.Expression.Key), and refuses to start on anything it does
// not implement: an element, attribute or child it would otherwise skip silently.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Linq;
using Apim.ObjectModel;

namespace Apim.Emulator
{
    public sealed class Doc
    {
        // A section that is absent from the file is null: it behaves like <section><base/></section>.
        public readonly Dictionary<string, List<Policy>> Sections = new Dictionary<string, List<Policy>>();
    }

    public sealed class Loader
    {
        static readonly Regex namedValueRef = new Regex(@"\{\{([^{}]*)\}\}");
        static readonly Regex validName = new Regex(@"^[A-Za-z0-9._-]{1,256}$");
        readonly Dictionary<string, Func<IContext, object>> table;
        readonly Dictionary<string, string> namedValues;
        readonly Dictionary<string, string> fragmentFiles;
        readonly string dir;

        public Loader(string dir, Dictionary<string, Func<IContext, object>> table, Dictionary<string, string> namedValues, Dictionary<string, string> fragmentFiles)
        {
            this.dir = dir; this.table = table; this.namedValues = namedValues; this.fragmentFiles = fragmentFiles;
        }

        // Key mirrors toolchain.Expression.Key: kind + code as written, trimmed. Whitespace inside
        // the code is significant ("a  b" and "a b" are different strings), so it is not collapsed.
        public static string Key(string code, bool block)
        {
            return (block ? "{" : "(") + code.Trim();
        }

        XElement Read(string rel)
        {
            var path = Path.Combine(dir, rel);
            try { return XDocument.Load(path, LoadOptions.SetLineInfo).Root; }
            catch (XmlException e) { throw new LoadException(path, e.LineNumber, "not well-formed XML: " + e.Message); }
        }

        static int LineOf(IXmlLineInfo x) { return x.HasLineInfo() ? x.LineNumber : 0; }

        public Doc LoadDoc(string rel, int level)
        {
            var root = Read(rel);
            var file = Path.Combine(dir, rel);
            if (root.Name.LocalName != "policies") throw new LoadException(file, LineOf(root), "root element must be <policies>");
            var doc = new Doc();
            foreach (var sec in root.Elements())
            {
                var name = sec.Name.LocalName;
                if (name != "inbound" && name != "backend" && name != "outbound" && name != "on-error")
                    throw new LoadException(file, LineOf(sec), "unknown section <" + name + ">");
                doc.Sections[name] = Statements(sec, file, level, new List<string>());
            }
            return doc;
        }

        List<Policy> Statements(XElement parent, string file, int level, List<string> chain)
        {
            return parent.Elements().Select(e => Statement(e, file, level, chain)).ToList();
        }

        string Sub(string s, string file, int line)
        {
            if (s == null) return null;
            return namedValueRef.Replace(s, m =>
            {
                var name = m.Groups[1].Value.Trim();
                if (!validName.IsMatch(name)) return m.Value; // not a reference, as in the checker
                string v;
                if (!namedValues.TryGetValue(name, out v)) throw new LoadException(file, line, "named value {{" + name + "}} has no value: pass it in apimemu.Options.NamedValues");
                return v;
            });
        }

        Value Val(string raw, string file, int line, string where, bool trim = true)
        {
            if (raw == null) return null;
            var t = raw.Trim();
            bool expr = t.StartsWith("@(") && t.EndsWith(")"), block = t.StartsWith("@{") && t.EndsWith("}");
            if (!expr && !block)
            {
                var s = Sub(raw, file, line);
                // APIM substitutes named values before it looks for expressions, so a named value
                // holding @(...) would be evaluated there; here it would silently become text.
                var st = s.Trim();
                if (st != t && (st.StartsWith("@(") || st.StartsWith("@{")))
                    throw new LoadException(file, line, "a named value in " + where + " holds a policy expression, which the emulator does not evaluate: write the expression in the policy file");
                return new Value(trim ? s.Trim() : s);
            }
            // The compiled code already has its named values (pasted or looked up at run time),
            // so the key is the code as written.
            var key = Key(t.Substring(2, t.Length - 3), block);
            Func<IContext, object> f;
            if (!table.TryGetValue(key, out f))
                throw new LoadException(file, line, "expression in " + where + " was not compiled; rebuild the expressions assembly from the same policy files and named values");
            return new Value(f, file + ":" + line + " " + where);
        }

        Value AttrVal(XElement e, string name, string file)
        {
            var a = e.Attribute(name);
            return a == null ? null : Val(a.Value, file, LineOf(a), "attribute \"" + name + "\" of <" + e.Name.LocalName + ">");
        }

        string Literal(XElement e, string name, string file)
        {
            var a = e.Attribute(name);
            if (a == null) return null;
            var v = Sub(a.Value, file, LineOf(a));
            if (v.TrimStart().StartsWith("@")) throw new LoadException(file, LineOf(a), "attribute \"" + name + "\" of <" + e.Name.LocalName + "> does not accept a policy expression");
            return v;
        }

        bool LiteralBool(XElement e, string name, string file, bool dflt)
        {
            var v = Literal(e, name, file);
            if (v == null) return dflt;
            if (v == "true") return true;
            if (v == "false") return false;
            throw new LoadException(file, LineOf(e), "attribute \"" + name + "\" must be true or false");
        }

        Value TextVal(XElement e, string file, bool trim = true)
        {
            var text = string.Concat(e.Nodes().OfType<XText>().Select(t => t.Value));
            return Val(text, file, LineOf(e), "text of <" + e.Name.LocalName + ">", trim);
        }

        static void Allow(XElement e, string file, string[] attrs, params string[] children)
        {
            foreach (var a in e.Attributes())
                if (!attrs.Contains(a.Name.LocalName) && a.Name.LocalName != "id")
                    throw new LoadException(file, LineOf(a), "the emulator does not implement attribute \"" + a.Name.LocalName + "\" of <" + e.Name.LocalName + ">");
            foreach (var c in e.Elements())
                if (!children.Contains(c.Name.LocalName))
                    throw new LoadException(file, LineOf(c), "the emulator does not implement <" + c.Name.LocalName + "> inside <" + e.Name.LocalName + ">");
        }

        static string[] A(params string[] names) { return names; }

        public static readonly string[] Implemented = {
            "base", "choose", "set-variable", "set-header", "set-query-parameter", "set-body", "set-status", "set-method",
            "return-response", "rewrite-uri", "set-backend-service", "forward-request", "send-request",
            "authentication-managed-identity", "cache-lookup-value", "cache-store-value", "cache-remove-value",
            "rate-limit-by-key", "cors", "check-header", "include-fragment", "trace", "emit-metric", "log-to-eventhub",
            "retry", "limit-concurrency", "quota-by-key", "send-one-way-request",
        };

        Policy Statement(XElement e, string file, int level, List<string> chain)
        {
            var name = e.Name.LocalName;
            Policy p = Build(e, name, file, level, chain);
            p.Name = name; p.File = file; p.Line = LineOf(e); p.Level = level;
            return p;
        }

        Policy Build(XElement e, string name, string file, int level, List<string> chain)
        {
            switch (name)
            {
                case "base":
                    Allow(e, file, A());
                    return new BasePolicy { Level = level };
                case "choose":
                    {
                        Allow(e, file, A(), "when", "otherwise");
                        var p = new ChoosePolicy();
                        foreach (var c in e.Elements())
                        {
                            if (c.Name.LocalName == "when")
                            {
                                Allow(c, file, A("condition"), c.Elements().Select(x => x.Name.LocalName).ToArray());
                                var cond = AttrVal(c, "condition", file);
                                if (cond == null) throw new LoadException(file, LineOf(c), "<when> requires condition");
                                p.Whens.Add(new KeyValuePair<Value, List<Policy>>(cond, Statements(c, file, level, chain)));
                            }
                            else
                            {
                                Allow(c, file, A(), c.Elements().Select(x => x.Name.LocalName).ToArray());
                                p.Otherwise = Statements(c, file, level, chain);
                            }
                        }
                        return p;
                    }
                case "set-variable":
                    Allow(e, file, A("name", "value"));
                    return new SetVariablePolicy { VarName = Literal(e, "name", file), Value = AttrVal(e, "value", file) };
                case "set-header":
                case "set-query-parameter":
                    {
                        Allow(e, file, A("name", "exists-action"), "value");
                        var p = new SetHeaderPolicy { HeaderName = AttrVal(e, "name", file), ExistsAction = Literal(e, "exists-action", file) ?? "override", Query = name == "set-query-parameter" };
                        foreach (var v in e.Elements()) p.Values.Add(TextVal(v, file));
                        return p;
                    }
                case "set-body":
                    {
                        Allow(e, file, A("template"));
                        var tpl = Literal(e, "template", file);
                        if (tpl != null && tpl != "none") throw new LoadException(file, LineOf(e), "the emulator does not implement set-body template=\"" + tpl + "\"");
                        return new SetBodyPolicy { Body = TextVal(e, file, false) };
                    }
                case "set-status":
                    Allow(e, file, A("code", "reason"));
                    return new SetStatusPolicy { Code = AttrVal(e, "code", file), Reason = AttrVal(e, "reason", file) };
                case "set-method":
                    Allow(e, file, A());
                    return new SetMethodPolicy { Method = TextVal(e, file) };
                case "return-response":
                    {
                        Allow(e, file, A("response-variable-name"), "set-status", "set-header", "set-body");
                        var p = new ReturnResponsePolicy { ResponseVariable = Literal(e, "response-variable-name", file) };
                        p.Items = Statements(e, file, level, chain);
                        return p;
                    }
                case "rewrite-uri":
                    Allow(e, file, A("template", "copy-unmatched-params"));
                    return new RewriteUriPolicy { Template = AttrVal(e, "template", file), CopyUnmatched = LiteralBool(e, "copy-unmatched-params", file, true) };
                case "set-backend-service":
                    Allow(e, file, A("base-url", "backend-id"));
                    return new SetBackendServicePolicy { BaseUrl = AttrVal(e, "base-url", file), BackendId = AttrVal(e, "backend-id", file) };
                case "forward-request":
                    Allow(e, file, A("timeout", "timeout-ms", "follow-redirects", "buffer-response", "buffer-request-body", "fail-on-error-status-code", "http-version", "continue-timeout"));
                    return new ForwardRequestPolicy
                    {
                        Timeout = AttrVal(e, "timeout", file), TimeoutMs = AttrVal(e, "timeout-ms", file), FollowRedirects = AttrVal(e, "follow-redirects", file),
                        BufferResponse = LiteralBool(e, "buffer-response", file, true), FailOnErrorStatus = LiteralBool(e, "fail-on-error-status-code", file, false),
                    };
                case "send-request":
                    {
                        Allow(e, file, A("mode", "response-variable-name", "timeout", "timeout-ms", "ignore-error", "buffer-response", "fail-on-error-status-code"),
                            "set-url", "set-method", "set-header", "set-body", "authentication-managed-identity");
                        var p = new SendRequestPolicy
                        {
                            Mode = AttrVal(e, "mode", file), ResponseVariable = Literal(e, "response-variable-name", file), Timeout = AttrVal(e, "timeout", file),
                            TimeoutMs = AttrVal(e, "timeout-ms", file), IgnoreError = LiteralBool(e, "ignore-error", file, false),
                            FailOnErrorStatus = LiteralBool(e, "fail-on-error-status-code", file, false),
                        };
                        foreach (var c in e.Elements())
                        {
                            if (c.Name.LocalName == "set-url") p.Url = TextVal(c, file);
                            else p.Items.Add(Statement(c, file, level, chain));
                        }
                        return p;
                    }
                case "authentication-managed-identity":
                    Allow(e, file, A("resource", "client-id", "output-token-variable-name", "ignore-error"));
                    return new ManagedIdentityPolicy
                    {
                        Resource = AttrVal(e, "resource", file), ClientId = AttrVal(e, "client-id", file),
                        OutputVariable = Literal(e, "output-token-variable-name", file), IgnoreError = LiteralBool(e, "ignore-error", file, false),
                    };
                case "cache-lookup-value":
                    Allow(e, file, A("key", "variable-name", "default-value", "caching-type"));
                    CachingType(e, file);
                    return new CachePolicy { Kind = "lookup", Key = AttrVal(e, "key", file), VariableName = Literal(e, "variable-name", file), DefaultValue = AttrVal(e, "default-value", file) };
                case "cache-store-value":
                    Allow(e, file, A("key", "value", "duration", "caching-type"));
                    CachingType(e, file);
                    return new CachePolicy { Kind = "store", Key = AttrVal(e, "key", file), StoredValue = AttrVal(e, "value", file), Duration = AttrVal(e, "duration", file) };
                case "cache-remove-value":
                    Allow(e, file, A("key", "caching-type"));
                    CachingType(e, file);
                    return new CachePolicy { Kind = "remove", Key = AttrVal(e, "key", file) };
                case "rate-limit-by-key":
                    Allow(e, file, A("calls", "renewal-period", "counter-key", "increment-condition", "increment-count", "increment-after-response", "retry-after-header-name",
                        "retry-after-variable-name", "remaining-calls-header-name", "remaining-calls-variable-name", "total-calls-header-name"));
                    return new RateLimitByKeyPolicy
                    {
                        Calls = AttrVal(e, "calls", file), RenewalPeriod = AttrVal(e, "renewal-period", file), CounterKey = AttrVal(e, "counter-key", file),
                        IncrementCondition = AttrVal(e, "increment-condition", file), IncrementCount = AttrVal(e, "increment-count", file),
                        IncrementAfterResponse = LiteralBool(e, "increment-after-response", file, false),
                        RetryAfterHeader = Literal(e, "retry-after-header-name", file) ?? "Retry-After", RetryAfterVariable = Literal(e, "retry-after-variable-name", file),
                        RemainingHeader = Literal(e, "remaining-calls-header-name", file), RemainingVariable = Literal(e, "remaining-calls-variable-name", file),
                        TotalHeader = Literal(e, "total-calls-header-name", file),
                    };
                case "cors":
                    {
                        Allow(e, file, A("allow-credentials", "terminate-unmatched-request"), "allowed-origins", "allowed-methods", "allowed-headers", "expose-headers");
                        var p = new CorsPolicy { AllowCredentials = AttrVal(e, "allow-credentials", file), TerminateUnmatched = AttrVal(e, "terminate-unmatched-request", file) };
                        foreach (var c in e.Elements())
                        {
                            var n = c.Name.LocalName;
                            var item = n == "allowed-origins" ? "origin" : n == "allowed-methods" ? "method" : "header";
                            Allow(c, file, n == "allowed-methods" ? A("preflight-result-max-age") : A(), item);
                            var list = n == "allowed-origins" ? p.Origins : n == "allowed-methods" ? p.Methods : n == "allowed-headers" ? p.Headers : p.Expose;
                            foreach (var v in c.Elements()) list.Add(TextVal(v, file));
                            if (n == "allowed-methods") p.MaxAge = AttrVal(c, "preflight-result-max-age", file);
                        }
                        return p;
                    }
                case "check-header":
                    {
                        Allow(e, file, A("name", "failed-check-httpcode", "failed-check-error-message", "ignore-case"), "value");
                        var p = new CheckHeaderPolicy
                        {
                            HeaderName = AttrVal(e, "name", file), FailedCode = AttrVal(e, "failed-check-httpcode", file),
                            FailedMessage = AttrVal(e, "failed-check-error-message", file), IgnoreCase = AttrVal(e, "ignore-case", file) ?? new Value("false"),
                        };
                        foreach (var v in e.Elements()) p.Values.Add(TextVal(v, file));
                        return p;
                    }
                case "include-fragment":
                    {
                        Allow(e, file, A("fragment-id"));
                        var id = Literal(e, "fragment-id", file);
                        string rel;
                        if (id == null || !fragmentFiles.TryGetValue(id, out rel)) throw new LoadException(file, LineOf(e), "include-fragment: fragment \"" + id + "\" is not in the manifest");
                        if (chain.Contains(id)) throw new LoadException(file, LineOf(e), "include-fragment: fragment \"" + id + "\" includes itself");
                        var root = Read(rel);
                        var ffile = Path.Combine(dir, rel);
                        if (root.Name.LocalName != "fragment") throw new LoadException(ffile, LineOf(root), "a fragment's root element must be <fragment>");
                        var next = new List<string>(chain) { id };
                        return new Sequence { Items = Statements(root, ffile, level, next) };
                    }
                case "trace":
                    {
                        Allow(e, file, A("source", "severity"), "message", "metadata");
                        var p = new TracePolicy { Source = Literal(e, "source", file), Severity = Literal(e, "severity", file) ?? "verbose" };
                        foreach (var c in e.Elements())
                        {
                            if (c.Name.LocalName == "message") { Allow(c, file, A()); p.Message = TextVal(c, file); }
                            else { Allow(c, file, A("name", "value")); p.Metadata.Add(new KeyValuePair<string, Value>(Literal(c, "name", file), AttrVal(c, "value", file))); }
                        }
                        return p;
                    }
                case "emit-metric":
                    {
                        Allow(e, file, A("name", "namespace", "value", "default-dimensions"), "dimension");
                        var p = new TracePolicy { Type = "metric", Source = Literal(e, "name", file), Severity = Literal(e, "namespace", file) ?? "API Management", Message = AttrVal(e, "value", file) ?? new Value("1") };
                        foreach (var c in e.Elements())
                        {
                            Allow(c, file, A("name", "value"));
                            p.Metadata.Add(new KeyValuePair<string, Value>(Literal(c, "name", file), AttrVal(c, "value", file)));
                        }
                        return p;
                    }
                case "log-to-eventhub":
                    Allow(e, file, A("logger-id", "partition-id", "partition-key"));
                    return new TracePolicy { Type = "eventhub", Source = Literal(e, "logger-id", file), Severity = "", Message = TextVal(e, file) };
                case "retry":
                    Allow(e, file, A("condition", "count", "interval", "max-interval", "delta", "first-fast-retry"), e.Elements().Select(x => x.Name.LocalName).ToArray());
                    return new RetryPolicy
                    {
                        Condition = AttrVal(e, "condition", file), Count = AttrVal(e, "count", file), Interval = AttrVal(e, "interval", file),
                        MaxInterval = AttrVal(e, "max-interval", file), Delta = AttrVal(e, "delta", file), FirstFast = AttrVal(e, "first-fast-retry", file),
                        Items = Statements(e, file, level, chain),
                    };
                case "limit-concurrency":
                    {
                        Allow(e, file, A("key", "max-count"), e.Elements().Select(x => x.Name.LocalName).ToArray());
                        int max;
                        if (!int.TryParse(Literal(e, "max-count", file), out max)) throw new LoadException(file, LineOf(e), "limit-concurrency: max-count must be an integer");
                        return new LimitConcurrencyPolicy { Key = AttrVal(e, "key", file), MaxCount = max, Items = Statements(e, file, level, chain) };
                    }
                case "quota-by-key":
                    Allow(e, file, A("calls", "renewal-period", "counter-key", "increment-condition", "increment-count"));
                    return new QuotaByKeyPolicy
                    {
                        Calls = AttrVal(e, "calls", file), RenewalPeriod = AttrVal(e, "renewal-period", file), CounterKey = AttrVal(e, "counter-key", file),
                        IncrementCondition = AttrVal(e, "increment-condition", file), IncrementCount = AttrVal(e, "increment-count", file),
                    };
                case "send-one-way-request":
                    {
                        Allow(e, file, A("mode", "timeout"), "set-url", "set-method", "set-header", "set-body", "authentication-managed-identity");
                        var p = new SendOneWayPolicy { Mode = AttrVal(e, "mode", file), Timeout = AttrVal(e, "timeout", file) };
                        foreach (var c in e.Elements())
                        {
                            if (c.Name.LocalName == "set-url") p.Url = TextVal(c, file);
                            else p.Items.Add(Statement(c, file, level, chain));
                        }
                        return p;
                    }
                default:
                    throw new LoadException(file, LineOf(e), "<" + name + "> is not implemented by the emulator (it implements " + string.Join(", ", Implemented) + ")");
            }
        }

        void CachingType(XElement e, string file)
        {
            var t = Literal(e, "caching-type", file);
            if (t == "external") throw new LoadException(file, LineOf(e), "caching-type=\"external\" needs an external cache, which the emulator does not provide; use prefer-external or internal");
        }
    }
}
