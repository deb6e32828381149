package logging

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"example.com/graphmcp/internal/syncbuf"
)

// TestLogRuntimeStats: the periodic record names its figures and stops with its context.
func TestLogRuntimeStats(t *testing.T) {
	var out syncbuf.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { LogRuntimeStats(ctx, New(&out, slog.LevelInfo), time.Millisecond); close(done) }()
	for !strings.Contains(out.String(), "\n") {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	var rec map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(out.String(), "\n", 2)[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["msg"] != RuntimeStatsMessage || rec["goroutines"].(float64) < 1 || rec["heap_alloc_bytes"].(float64) <= 0 {
		t.Fatalf("runtime record: %v", rec)
	}
}
