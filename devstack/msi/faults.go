package msi

import (
	"net/http"
	"sync/atomic"
)

// downState is the endpoint's runtime fault switch (SetDown), kept apart from normal serving.
type downState struct {
	down atomic.Bool
	hits atomic.Int64
}

// SetDown takes the endpoint down (true) or brings it back (false) at run time: while down,
// every request is dropped without an answer (the connection is reset), as when the platform's
// identity endpoint is unreachable. Fault and soak tests use it.
func (s *Server) SetDown(down bool) { s.faults.down.Store(down) }

// DownHits is the number of requests dropped while the endpoint was down.
func (s *Server) DownHits() int64 { return s.faults.hits.Load() }

// dropIfDown resets the request when the endpoint is down.
func (s *Server) dropIfDown() {
	if s.faults.down.Load() {
		s.faults.hits.Add(1)
		panic(http.ErrAbortHandler)
	}
}
