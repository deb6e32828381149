// Package diagnostics serves the handler's runtime figures and pprof profiles on a separate
// loopback listener, for benchmarks and profiling (`make bench`, docs/performance.md). It is off
// unless HANDLER_DIAGNOSTICS_ADDR names a loopback address; the Azure deployment never sets it.
//
//	GET /debug/runtime        {"goroutines":…,"alloc_bytes":…,"allocs":…,"gc_cycles":…,"heap_bytes":…}
//	GET /debug/pprof/…        net/http/pprof (profile?seconds=N, heap, allocs, goroutine)
//
//	addr, stop, err := diagnostics.Start("127.0.0.1:6060", logger)
package diagnostics

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"example.com/graphmcp/handler/logging"
)

// EnvAddr names the environment variable that turns the listener on.
const EnvAddr = "HANDLER_DIAGNOSTICS_ADDR"

// Runtime is the document GET /debug/runtime returns. Counters are totals since start.
type Runtime struct {
	Goroutines int    `json:"goroutines"`
	AllocBytes uint64 `json:"alloc_bytes"` // bytes allocated on the heap, cumulative
	Allocs     uint64 `json:"allocs"`      // heap objects allocated, cumulative (MemStats.Mallocs)
	GCCycles   uint64 `json:"gc_cycles"`
	HeapBytes  uint64 `json:"heap_bytes"` // live and not yet swept heap objects
}

// Read samples the runtime, as the periodic "runtime stats" log record does.
func Read() Runtime {
	st := logging.ReadRuntimeStats()
	return Runtime{Goroutines: st.Goroutines, AllocBytes: st.TotalAlloc, Allocs: st.Mallocs, GCCycles: st.GCCycles, HeapBytes: st.HeapAlloc}
}

// Start listens on addr, which must be a loopback address (the figures and profiles reveal
// internals), and serves until the returned stop is called. It returns the address listened on.
func Start(addr string, logger *slog.Logger) (bound string, stop func(), err error) {
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return "", nil, fmt.Errorf("%s=%q: use a loopback address and port, e.g. 127.0.0.1:6060", EnvAddr, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", EnvAddr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/runtime", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(Read())
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	logger.Info("diagnostics listening", slog.String("addr", ln.Addr().String()))
	return ln.Addr().String(), func() { _ = srv.Close() }, nil
}
