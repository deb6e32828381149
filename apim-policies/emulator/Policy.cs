// The policy tree the emulator executes: values (literals or compiled expressions), the message a
// statement acts on, the control-flow signals, and the base class of every policy element.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Apim.ObjectModel;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Apim.Emulator
{
    // A configuration problem found while loading policies; the emulator refuses to start.
    public sealed class LoadException : Exception
    {
        public LoadException(string file, int line, string message) : base(file + ":" + line + ": " + message) { }
    }

    // A policy decided the request fails (rate limit, check-header, backend unreachable...). The
    // prepared response is what the caller gets unless on-error changes it.
    public sealed class PolicyFailure : Exception
    {
        public readonly string Source, Reason;
        public readonly Response Response;
        public PolicyFailure(string source, string reason, string message, Response response) : base(message)
        {
            Source = source; Reason = reason; Response = response;
        }
    }

    // return-response (and cors preflight) end the pipeline with context.Response as the answer.
    public sealed class EndPipeline : Exception { }

    public sealed class ExpressionFailure : Exception
    {
        public ExpressionFailure(string where, Exception inner) : base("Expression evaluation failed. " + inner.Message + " (" + where + ")", inner) { }
    }

    // The message statements such as set-header and set-body act on: the request in inbound and
    // backend, the response in outbound and on-error, or the request/response being built by
    // send-request and return-response.
    public sealed class Msg
    {
        public Request Req;
        public Response Resp;
        public HeaderBag Headers { get { return Req != null ? Req.HeadersImpl : Resp.HeadersImpl; } }
        public void SetBody(byte[] b)
        {
            if (Req != null) Req.BodyImpl = new MessageBody(b); else Resp.BodyImpl = new MessageBody(b);
        }
        public static Msg ForSection(GatewayContext c)
        {
            return c.Section == "inbound" || c.Section == "backend" ? new Msg { Req = c.RequestImpl } : new Msg { Resp = c.ResponseImpl };
        }
    }

    public sealed class Value
    {
        readonly string literal;
        readonly Func<IContext, object> expr;
        readonly string where;

        public Value(string literal) { this.literal = literal; }
        public Value(Func<IContext, object> expr, string where) { this.expr = expr; this.where = where; }

        public bool IsExpression { get { return expr != null; } }
        public string Literal { get { return literal; } }

        public object Eval(GatewayContext c)
        {
            if (expr == null) return literal;
            try { return expr(c); }
            catch (EndPipeline) { throw; }
            catch (Exception e) { throw new ExpressionFailure(where, e); }
        }

        public string Str(GatewayContext c) { return Text(Eval(c)); }

        public static string Text(object v)
        {
            if (v == null) return null;
            var s = v as string;
            if (s != null) return s;
            var tok = v as JToken;
            if (tok != null) return tok.Type == JTokenType.String ? (string)tok : tok.ToString(Formatting.None);
            if (v is bool) return (bool)v ? "True" : "False";
            var f = v as IFormattable;
            if (f != null) return f.ToString(null, CultureInfo.InvariantCulture);
            return v.ToString();
        }

        public bool Bool(GatewayContext c)
        {
            var v = Eval(c);
            if (v is bool) return (bool)v;
            bool b;
            if (bool.TryParse(Text(v), out b)) return b;
            throw new InvalidOperationException("'" + Text(v) + "' is not true or false (" + where + ")");
        }

        public int Int(GatewayContext c)
        {
            var v = Eval(c);
            if (v is int) return (int)v;
            int i;
            if (int.TryParse(Text(v), NumberStyles.Integer, CultureInfo.InvariantCulture, out i)) return i;
            throw new InvalidOperationException("'" + Text(v) + "' is not an integer (" + where + ")");
        }

        public static byte[] BodyBytes(object v)
        {
            if (v == null) return new byte[0];
            var b = v as byte[];
            if (b != null) return b;
            return Encoding.UTF8.GetBytes(Text(v));
        }
    }

    public abstract class Policy
    {
        public string Name, File;
        public int Line;
        public int Level; // scope of the file (or including file, for fragments): 0 global, 1 api, 2 operation
        public abstract void Run(GatewayContext c, Msg m);

        public static void RunAll(List<Policy> list, GatewayContext c, Msg m)
        {
            foreach (var p in list)
            {
                c.CurrentPolicy = p;
                p.Run(c, m);
            }
        }
    }
}
