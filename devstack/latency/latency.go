// Package latency adds a configurable delay before each request a stand-in serves, so that
// benchmarks can reproduce the round-trip times of the real services (for example Entra 80 ms,
// the managed-identity endpoint 20 ms, Graph 30 ms) on loopback, where they would otherwise be
// about zero. The delay can change while the server runs.
//
//	var d latency.Delay
//	d.Set(80 * time.Millisecond)
//	srv := &http.Server{Handler: d.Wrap(mux)}
package latency

import (
	"net/http"
	"sync/atomic"
	"time"
)

// Delay is the time each request waits before it is handled. The zero value adds nothing.
// Safe for concurrent use.
type Delay struct{ ns atomic.Int64 }

// Set changes the delay for requests that arrive from now on; d <= 0 removes it.
func (d *Delay) Set(v time.Duration) { d.ns.Store(int64(max(v, 0))) }

// Get returns the current delay.
func (d *Delay) Get() time.Duration { return time.Duration(d.ns.Load()) }

// Wrap returns next preceded by the delay. A request whose client gives up while it waits is
// not handled.
func (d *Delay) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := d.Get(); v > 0 {
			t := time.NewTimer(v)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
