package soak

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/graphmcp/internal/handlerproc"
)

func TestMain(m *testing.M) {
	code := m.Run()
	handlerproc.RemoveBuild()
	os.Exit(code)
}

// TestSoak runs the soak against each store for its share of SOAK_DURATION (default 10s in
// total; `make soak` sets 60s). SOAK_STORES picks the stores (default "bbolt,cosmos") and
// SOAK_MAX_REQUESTS bounds the requests of each run.
func TestSoak(t *testing.T) {
	total := 10 * time.Second
	if v := os.Getenv("SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("SOAK_DURATION=%q: want a Go duration such as 60s", v)
		}
		total = d
	}
	stores := []string{StoreBolt, StoreCosmos}
	if v := os.Getenv("SOAK_STORES"); v != "" {
		stores = strings.Split(v, ",")
	}
	var maxRequests int64
	if v := os.Getenv("SOAK_MAX_REQUESTS"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			t.Fatalf("SOAK_MAX_REQUESTS=%q: want a positive number", v)
		}
		maxRequests = n
	}
	for _, s := range stores {
		if s != StoreBolt && s != StoreCosmos {
			t.Fatalf("SOAK_STORES: unknown store %q (bbolt, cosmos)", s)
		}
		t.Run(s, func(t *testing.T) {
			rep := Run(t, Config{Store: s, Duration: total / time.Duration(len(stores)), MaxRequests: maxRequests, Logf: t.Logf})
			t.Log("\n" + rep.String())
			for _, v := range rep.Violations {
				t.Error(v)
			}
		})
	}
}
