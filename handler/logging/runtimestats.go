package logging

import (
	"context"
	"log/slog"
	"runtime"
	"time"
)

// RuntimeStatsMessage is the message of the periodic runtime record, so tools can find it.
const RuntimeStatsMessage = "runtime stats"

// LogRuntimeStats logs, every interval until ctx ends, one info record with the goroutine count
// and heap figures (RUNTIME_STATS_INTERVAL): a leak shows as numbers that grow after the load
// that caused them has stopped. It holds no request data.
func LogRuntimeStats(ctx context.Context, logger *slog.Logger, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		logger.Info(RuntimeStatsMessage,
			slog.Int("goroutines", runtime.NumGoroutine()),
			slog.Uint64("heap_alloc_bytes", m.HeapAlloc),
			slog.Uint64("heap_objects", m.HeapObjects),
			slog.Uint64("sys_bytes", m.Sys),
			slog.Uint64("gc_cycles", uint64(m.NumGC)))
	}
}
