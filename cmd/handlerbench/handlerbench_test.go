package main

import (
	"os"
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

// A short run of every phase but the soak against the real handler binary: the table has a
// row per figure, the cold burst costs one OBO request per user and one managed-identity
// request with the stand-ins slowed, and the diagnostics listener delivers the allocation.
// (No figure is asserted: speed is what `make bench` prints, not what tests check.)
func TestShortRunPrintsTheTable(t *testing.T) {
	o := options{handler: handlerproc.Binary(t), gogc: "100", users: 8, workers: 4, coldRuns: 1, openLoad: 0.5,
		duration: time.Second, phases: "cold,first,throughput,open",
		entraLatency: 80 * time.Millisecond, miLatency: 20 * time.Millisecond, graphLatency: 30 * time.Millisecond}
	b, err := newBench(o, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	r, err := b.all()
	if err != nil {
		t.Fatal(err)
	}
	if r.oboRequests != int64(r.burstUsers) || r.miReqs != 1 {
		t.Errorf("cold burst of %d users: %d OBO and %d managed-identity requests, want %d and 1", r.burstUsers, r.oboRequests, r.miReqs, r.burstUsers)
	}
	var out strings.Builder
	r.print(&out)
	for _, row := range []string{"| start → ready", "| first tools/call after ready", "| OBO / managed-identity requests, cold | 21 / 1 |",
		"| handler CPU per tools/call", "| open loop p50 / p99 / p99.9 / max", "| the same calls inside the handler", "GOGC=100"} {
		if !strings.Contains(out.String(), row) {
			t.Errorf("the table lacks %q:\n%s", row, out.String())
		}
	}
	if strings.Contains(out.String(), "n/a") {
		t.Errorf("the built handler has a diagnostics listener, yet a figure is n/a:\n%s", out.String())
	}
}

// TestCPUList: -cpus takes taskset's list format, and anything else is refused with the format.
func TestCPUList(t *testing.T) {
	got, err := cpuList("0, 2-3")
	if err != nil || len(got) != 3 || !got[0] || !got[2] || !got[3] {
		t.Fatalf("cpuList = %v, %v", got, err)
	}
	for _, bad := range []string{"", "a", "3-1", "-1", "0,,1"} {
		if _, err := cpuList(bad); err == nil {
			t.Errorf("cpuList(%q) accepted", bad)
		}
	}
}
