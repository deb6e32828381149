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
		st := ReadRuntimeStats()
		logger.Info(RuntimeStatsMessage,
			slog.Int("goroutines", st.Goroutines),
			slog.Uint64("heap_alloc_bytes", st.HeapAlloc),
			slog.Uint64("heap_objects", st.HeapObjects),
			slog.Uint64("sys_bytes", st.Sys),
			slog.Uint64("gc_cycles", st.GCCycles))
	}
}

// RuntimeStats are the runtime figures of the periodic record and of the diagnostics listener
// (handler/diagnostics), read in one place.
type RuntimeStats struct {
	Goroutines  int
	HeapAlloc   uint64 // bytes of live and not yet swept heap objects
	HeapObjects uint64
	Sys         uint64 // bytes obtained from the OS
	GCCycles    uint64
	TotalAlloc  uint64 // bytes allocated on the heap since start
	Mallocs     uint64 // heap objects allocated since start
}

// ReadRuntimeStats samples the runtime. runtime.ReadMemStats (a short stop-the-world, fine once
// per interval or per diagnostics request) rather than runtime/metrics: importing that package
// costs every process start about half a millisecond of init for figures MemStats has too.
func ReadRuntimeStats() RuntimeStats {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return RuntimeStats{Goroutines: runtime.NumGoroutine(), HeapAlloc: m.HeapAlloc, HeapObjects: m.HeapObjects,
		Sys: m.Sys, GCCycles: uint64(m.NumGC), TotalAlloc: m.TotalAlloc, Mallocs: m.Mallocs}
}
