// Package graph is a local stand-in for the slice of Microsoft Graph v1.0 the
// MCP tools call. It validates bearer tokens the way Graph does (signature by
// the [entra.Server] stand-in's keys, Graph audience, expiry, the delegated
// scope each endpoint needs) and answers with deterministic data derived from
// the signed-in [entra.User], in Graph's JSON shapes and error envelope.
//
//	g, _ := graph.Start(graph.Options{Entra: idp, CA: ca})
//	defer g.Close()
//	// GRAPH_ENDPOINT=g.URL(); tools call g.URL()+"/v1.0/me"
//	g.Throttle(1, 2*time.Second) // next request: 429 with Retry-After: 2
//	g.Fail(3, 503)               // next three: 503 serviceNotAvailable
//
// Endpoints: /v1.0/me (User.Read), /v1.0/me/calendarView (Calendars.Read),
// /v1.0/me/messages (Mail.ReadBasic), /v1.0/me/drive/recent (Files.Read), with
// $top, $select and $orderby where Graph supports them.
package graph

import (
	"crypto/tls"
	"errors"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"example.com/graphmcp/devstack/entra"
	"example.com/graphmcp/devstack/latency"
	"example.com/graphmcp/devstack/localca"
)

// Options configures the stand-in.
type Options struct {
	Entra *entra.Server // issuer of the tokens Graph accepts; required
	CA    *localca.CA   // issues the server certificate; required
	Addr  string        // default "127.0.0.1:0"
	// Latency delays every request (benchmarks: Graph's round trip, e.g. 30 ms).
	Latency time.Duration
}

// Server is a running Graph stand-in. Methods are safe for concurrent use.
type Server struct {
	opts Options
	srv  *http.Server
	url  string

	mu         sync.Mutex
	throttleN  int
	retryAfter time.Duration
	failN      int
	failStatus int
	counts     map[string]int64
	total      atomic.Int64
	delay      latency.Delay  // not guarded by mu
	verified   verifiedTokens // has its own lock
}

// Start listens and serves until Close.
func Start(opts Options) (*Server, error) {
	if opts.Entra == nil || opts.CA == nil {
		return nil, errors.New("graph: Options.Entra and Options.CA are required")
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	tlsCfg, err := opts.CA.ServerTLSConfig()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, url: "https://" + ln.Addr().String(), counts: map[string]int64{}}
	s.delay.Set(opts.Latency)
	s.srv = &http.Server{Handler: s.delay.Wrap(s.routes()), TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: log.New(io.Discard, "", 0)}
	go s.srv.Serve(tls.NewListener(ln, tlsCfg))
	return s, nil
}

// Close stops the server at once (no graceful HTTP/2 wait).
func (s *Server) Close() { _ = s.srv.Close() }

// SetLatency changes the delay added to every request (0 = none).
func (s *Server) SetLatency(d time.Duration) { s.delay.Set(d) }

// URL is the base, e.g. "https://127.0.0.1:43210"; paths start with /v1.0.
func (s *Server) URL() string { return s.url }

// Throttle makes the next n requests answer 429 with Retry-After set to
// retryAfter in whole seconds (rounded up), as Graph throttling does.
func (s *Server) Throttle(n int, retryAfter time.Duration) {
	s.mu.Lock()
	s.throttleN, s.retryAfter = n, retryAfter
	s.mu.Unlock()
}

// Fail makes the next n requests (after any throttled ones) answer status
// with a Graph error body.
func (s *Server) Fail(n int, status int) {
	s.mu.Lock()
	s.failN, s.failStatus = n, status
	s.mu.Unlock()
}

// Counts returns request counts by endpoint ("me", "calendarView", "messages",
// "driveRecent", "unknown") and by outcome ("status_401", "status_429", ...).
func (s *Server) Counts() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.counts)
}

// RequestCount is the number of requests received.
func (s *Server) RequestCount() int64 { return s.total.Load() }

// ResetCounts zeroes all counters.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	s.counts = map[string]int64{}
	s.mu.Unlock()
	s.total.Store(0)
}

func (s *Server) count(key string) {
	s.mu.Lock()
	s.counts[key]++
	s.mu.Unlock()
}

// injected returns the fault to serve for this request, if any.
func (s *Server) injected() (status int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.throttleN > 0 {
		s.throttleN--
		return http.StatusTooManyRequests, s.retryAfter
	}
	if s.failN > 0 {
		s.failN--
		return s.failStatus, 0
	}
	return 0, 0
}
