package server

import (
	"math"
	"os"
	"runtime/debug"
)

// TuneGC sets the garbage collector for this workload unless GOGC or GOMEMLIMIT is set.
//
// Why: go-sdk v1.8.0 decodes every JSON-RPC message through a streaming decoder that allocates
// a fresh 32 KiB buffer (internal/json.Unmarshal → segmentio Decoder): 128 KiB of short-lived
// large objects per tools/call even on mcpserver's fast path, 350 KB through go-sdk's transport.
// With the default GOGC=100 and a live heap of a few MB the collector runs every few requests;
// GOGC=400 cuts the CPU per call by about a quarter (docs/performance.md). It lets the heap
// breathe (idle heap stays a few MB); a 1 GiB soft limit keeps a burst from outgrowing a 2 GB
// Flex Consumption instance.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" && debug.SetMemoryLimit(-1) == math.MaxInt64 {
		debug.SetMemoryLimit(1 << 30)
	}
}
