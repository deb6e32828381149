package config

import (
	"strings"
	"testing"
	"time"
)

func TestRuntimeStatsInterval(t *testing.T) {
	for v, want := range map[string]time.Duration{"": 0, "30s": 30 * time.Second, " 100ms ": 100 * time.Millisecond} {
		e := valid()
		e["RUNTIME_STATS_INTERVAL"] = v
		c, err := Load(env(e))
		if err != nil || c.RuntimeStatsInterval != want {
			t.Errorf("RUNTIME_STATS_INTERVAL=%q: %v, %v; want %v", v, c.RuntimeStatsInterval, err, want)
		}
	}
	for _, v := range []string{"10", "99ms", "-1s", "soon"} {
		e := valid()
		e["RUNTIME_STATS_INTERVAL"] = v
		if _, err := Load(env(e)); err == nil || !strings.Contains(err.Error(), "RUNTIME_STATS_INTERVAL must be a Go duration of at least 100ms") {
			t.Errorf("RUNTIME_STATS_INTERVAL=%q: %v, want a message naming the variable and the form", v, err)
		}
	}
}
