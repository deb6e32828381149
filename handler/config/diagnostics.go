package config

import (
	"fmt"
	"strings"
	"time"
)

// MinRuntimeStatsInterval bounds RUNTIME_STATS_INTERVAL from below: reading the heap figures
// stops the world for a moment.
const MinRuntimeStatsInterval = 100 * time.Millisecond

var diagnosticsVariables = []Variable{
	{Name: "RUNTIME_STATS_INTERVAL", Description: "When set (a Go duration such as 30s, at least 100ms), log the goroutine count and heap size at that interval (message `runtime stats`), to watch for leaks under load; empty: off."},
	{Name: "HANDLER_DIAGNOSTICS_ADDR", Description: "For benchmarks and profiling only (`make bench`, docs/performance.md): a loopback `host:port` on which the handler serves its runtime figures and pprof profiles (package `diagnostics`); any other address is refused at start. Never set in Azure; empty: off."},
}

func init() { Variables = append(Variables, diagnosticsVariables...) }

// loadRuntimeStats reads RUNTIME_STATS_INTERVAL (0 = off).
func loadRuntimeStats(get func(string) string, errs *[]error) time.Duration {
	v := strings.TrimSpace(get("RUNTIME_STATS_INTERVAL"))
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < MinRuntimeStatsInterval {
		*errs = append(*errs, fmt.Errorf("RUNTIME_STATS_INTERVAL must be a Go duration of at least %s such as 30s, or empty to turn it off, got %q", MinRuntimeStatsInterval, v))
		return 0
	}
	return d
}
