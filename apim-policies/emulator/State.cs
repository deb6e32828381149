// Gateway-wide state: the internal cache (cache-*-value) and rate-limit counters. Both are
// in memory and volatile, as APIM's built-in cache is.
using System;
using System.Collections.Generic;
using System.Linq;

namespace Apim.Emulator
{
    public sealed class ValueCache
    {
        readonly object gate = new object();
        readonly Dictionary<string, KeyValuePair<object, DateTime>> items = new Dictionary<string, KeyValuePair<object, DateTime>>(StringComparer.Ordinal);

        public bool TryGet(string key, out object value)
        {
            lock (gate)
            {
                KeyValuePair<object, DateTime> e;
                if (items.TryGetValue(key, out e) && e.Value > DateTime.UtcNow) { value = e.Key; return true; }
                items.Remove(key);
                value = null;
                return false;
            }
        }
        public void Set(string key, object value, TimeSpan duration)
        {
            lock (gate) items[key] = new KeyValuePair<object, DateTime>(value, DateTime.UtcNow + duration);
        }
        public void Remove(string key) { lock (gate) items.Remove(key); }
    }

    // Sliding-window counters, one per key, as rate-limit-by-key describes.
    public sealed class RateLimiter
    {
        readonly object gate = new object();
        readonly Dictionary<string, List<KeyValuePair<DateTime, int>>> windows = new Dictionary<string, List<KeyValuePair<DateTime, int>>>(StringComparer.Ordinal);
        readonly Dictionary<string, TimeSpan> periods = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);

        public int Count(string key, TimeSpan period, out int retryAfterSeconds)
        {
            lock (gate)
            {
                periods[key] = period;
                var now = DateTime.UtcNow;
                List<KeyValuePair<DateTime, int>> w;
                if (!windows.TryGetValue(key, out w)) { retryAfterSeconds = 0; return 0; }
                w.RemoveAll(e => e.Key + period <= now);
                retryAfterSeconds = w.Count == 0 ? 0 : Math.Max(1, (int)Math.Ceiling((w[0].Key + period - now).TotalSeconds));
                return w.Sum(e => e.Value);
            }
        }
        public void Add(string key, int n)
        {
            lock (gate)
            {
                List<KeyValuePair<DateTime, int>> w;
                if (!windows.TryGetValue(key, out w)) { w = new List<KeyValuePair<DateTime, int>>(); windows[key] = w; }
                w.Add(new KeyValuePair<DateTime, int>(DateTime.UtcNow, n));
            }
        }
    }
}
