// Policies that wrap other policies or fire requests without waiting: retry, limit-concurrency,
// quota-by-key and send-one-way-request, each following its reference page.
using System;
using System.Collections.Generic;
using System.Threading;
using Newtonsoft.Json.Linq;

namespace Apim.Emulator
{
    // retry runs its children once, then again while condition is true, at most count more times,
    // waiting interval (fixed), interval + n·delta (linear) or an exponential wait capped at
    // max-interval between attempts; first-fast-retry makes the first retry immediate.
    public sealed class RetryPolicy : Policy
    {
        public Value Condition, Count, Interval, MaxInterval, Delta, FirstFast;
        public List<Policy> Items = new List<Policy>();
        static readonly Random jitter = new Random();

        public override void Run(GatewayContext c, Msg m)
        {
            RunAll(Items, c, m);
            var count = Count.Int(c);
            for (var attempt = 1; attempt <= count && Condition.Bool(c); attempt++)
            {
                if (!(attempt == 1 && FirstFast != null && FirstFast.Bool(c)))
                {
                    var wait = WaitSeconds(c, attempt);
                    if (wait > 0) Thread.Sleep(TimeSpan.FromSeconds(wait));
                }
                RunAll(Items, c, m);
            }
        }

        double WaitSeconds(GatewayContext c, int attempt)
        {
            double interval = Interval.Int(c);
            if (Delta == null) return interval;
            double delta = Delta.Int(c);
            if (MaxInterval == null) return interval + (attempt - 1) * delta;
            double r;
            lock (jitter) r = 0.8 + jitter.NextDouble() * 0.4;
            return Math.Min(MaxInterval.Int(c), interval + Math.Pow(2, attempt - 1) * delta * r);
        }
    }

    // limit-concurrency lets at most max-count requests per key run its children at once; the
    // next one fails immediately with 429.
    public sealed class LimitConcurrencyPolicy : Policy
    {
        public Value Key;
        public int MaxCount;
        public List<Policy> Items = new List<Policy>();

        public override void Run(GatewayContext c, Msg m)
        {
            var key = Key.Str(c);
            var counts = c.Gateway.Concurrency;
            lock (counts)
            {
                int n;
                counts.TryGetValue(key, out n);
                if (n >= MaxCount)
                {
                    var r = new Response { StatusCode = 429, StatusReason = "Too Many Requests" };
                    throw new PolicyFailure("limit-concurrency", "ConcurrencyLimitExceeded", "more than " + MaxCount + " concurrent requests for this key", r);
                }
                counts[key] = n + 1;
            }
            try { RunAll(Items, c, m); }
            finally { lock (counts) counts[key] = counts[key] - 1; }
        }
    }

    // quota-by-key counts calls per key over renewal-period seconds (the whole lifetime when
    // absent or 0); beyond calls the caller gets 403 with Retry-After until the period renews.
    public sealed class QuotaByKeyPolicy : Policy
    {
        public Value Calls, RenewalPeriod, CounterKey, IncrementCondition, IncrementCount;

        public override void Run(GatewayContext c, Msg m)
        {
            var calls = Calls.Int(c);
            var period = RenewalPeriod == null ? 0 : RenewalPeriod.Int(c);
            var key = "quota-by-key:" + CounterKey.Str(c);
            var quotas = c.Gateway.Quotas;
            int used, retryAfter;
            lock (quotas)
            {
                KeyValuePair<DateTime, int> q;
                var now = DateTime.UtcNow;
                if (!quotas.TryGetValue(key, out q) || (period > 0 && q.Key.AddSeconds(period) <= now)) q = new KeyValuePair<DateTime, int>(now, 0);
                quotas[key] = q;
                used = q.Value;
                retryAfter = period > 0 ? Math.Max(1, (int)Math.Ceiling((q.Key.AddSeconds(period) - now).TotalSeconds)) : 0;
            }
            if (used >= calls)
            {
                var r = new Response { StatusCode = 403, StatusReason = "Forbidden" };
                var msg = "Out of call volume quota." + (retryAfter > 0 ? " Quota will be replenished in " + TimeSpan.FromSeconds(retryAfter).ToString() + "." : "");
                if (retryAfter > 0) r.HeadersImpl.Set("Retry-After", new[] { retryAfter.ToString() });
                r.HeadersImpl.Set("Content-Type", new[] { "application/json" });
                r.BodyImpl = new MessageBody(System.Text.Encoding.UTF8.GetBytes(new JObject(new JProperty("statusCode", 403), new JProperty("message", msg)).ToString(Newtonsoft.Json.Formatting.None)));
                throw new PolicyFailure("quota-by-key", "QuotaExceeded", msg, r);
            }
            Action count = () =>
            {
                var n = IncrementCount == null ? 1 : IncrementCount.Int(c);
                lock (quotas)
                {
                    var q = quotas[key];
                    quotas[key] = new KeyValuePair<DateTime, int>(q.Key, q.Value + n);
                }
            };
            if (IncrementCondition == null && (IncrementCount == null || !IncrementCount.IsExpression)) count();
            else c.Finally.Add(() => { if (IncrementCondition == null || IncrementCondition.Bool(c)) count(); });
        }
    }

    // send-one-way-request builds its request like send-request, then sends it without waiting;
    // failures are only logged.
    public sealed class SendOneWayPolicy : Policy
    {
        public Value Mode, Timeout, Url;
        public List<Policy> Items = new List<Policy>();

        public override void Run(GatewayContext c, Msg m)
        {
            var req = OutgoingRequest.Build(Mode, Items, c);
            var url = (Url != null ? Url.Str(c) : req.UrlImpl.ToString()).Trim();
            var ms = (Timeout == null ? 60 : Timeout.Int(c)) * 1000;
            var body = req.BodyImpl.Bytes();
            var http = c.Gateway.Http;
            ThreadPool.QueueUserWorkItem(_ =>
            {
                try
                {
                    var r = http.Send(req.Method, url, req.HeadersImpl, body, ms, false, false);
                    r.BodyImpl.Bytes();
                }
                catch (Exception e) { Console.Error.WriteLine("apimemu: send-one-way-request failed: " + e.Message); }
            });
        }
    }
}
