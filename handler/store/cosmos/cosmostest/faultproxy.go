package cosmostest

import (
	"bytes"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/graphmcp/devstack/latency"
)

// Fault is what the proxy does with a request.
type Fault int

const (
	// Pass forwards the request.
	Pass Fault = iota
	// Unavailable answers 503 without forwarding.
	Unavailable
	// Throttle answers 429 with a 1 ms retry hint without forwarding.
	Throttle
	// Drop closes the connection without an answer.
	Drop
	// LoseResponse forwards the request, then answers 503 instead of the real response —
	// the write happened, the caller cannot know.
	LoseResponse
	// DropResponse forwards the request, then closes the connection without any answer: the
	// write happened, and the caller sees a transport error.
	DropResponse
)

// FaultProxy sits between a store and the emulator and injects faults on item requests
// (…/docs…); account and metadata requests always pass.
type FaultProxy struct {
	URL string // endpoint to give the store

	mu     sync.Mutex
	fault  Fault
	method string // only item requests with this method get the fault; "" = any
	budget int    // how many item requests get the fault; < 0 = all
	hits   int    // item requests that got a fault

	latency latency.Delay // SetLatency; the other stand-ins' delay, applied to item requests only
}

// NewFaultProxy starts a proxy in front of the emulator endpoint.
func NewFaultProxy(tb testing.TB, emulator string) *FaultProxy {
	tb.Helper()
	target, err := url.Parse(emulator)
	if err != nil {
		tb.Fatal(err)
	}
	p := &FaultProxy{}
	var self string // host:port of the proxy, known once the server listens
	rp := &httputil.ReverseProxy{
		// A caller that gives up (a timeout, a killed handler) is no news; keep test output clean.
		ErrorLog: log.New(io.Discard, "", 0),
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			// The emulator's quirk fix (ReadFix) for stores that do not add it themselves, such
			// as the handler binary: a point read of a missing item then answers 404.
			if r.Out.Method == http.MethodGet && strings.Contains(r.Out.URL.Path, "/docs/") {
				r.Out.Header.Set("x-ms-documentdb-query-enablecrosspartition", "true")
			}
		},
		// The account document advertises the emulator's own address as the regional
		// endpoint, and azcosmos follows it; point it at the proxy instead.
		ModifyResponse: func(resp *http.Response) error {
			if resp.Request.URL.Path != "/" {
				return nil
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			body = bytes.ReplaceAll(body, []byte(target.Host), []byte(self))
			resp.Body = io.NopCloser(bytes.NewReader(body))
			resp.ContentLength = int64(len(body))
			resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
			return nil
		},
	}
	serve := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p.take(r) {
		case Unavailable:
			http.Error(w, `{"code":"ServiceUnavailable","message":"injected"}`, http.StatusServiceUnavailable)
		case Throttle:
			w.Header().Set("x-ms-retry-after-ms", "1")
			w.Header().Set("Retry-After", "0")
			http.Error(w, `{"code":"TooManyRequests","message":"injected"}`, http.StatusTooManyRequests)
		case Drop:
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					_ = conn.(*net.TCPConn).SetLinger(0)
					conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		case DropResponse:
			rp.ServeHTTP(httptest.NewRecorder(), r)
			panic(http.ErrAbortHandler) // closes the connection without a response
		case LoseResponse:
			rec := httptest.NewRecorder()
			rp.ServeHTTP(rec, r)
			http.Error(w, `{"code":"ServiceUnavailable","message":"injected after write: status `+strconv.Itoa(rec.Code)+`"}`, http.StatusServiceUnavailable)
		default:
			rp.ServeHTTP(w, r)
		}
	})
	delayed := p.latency.Wrap(serve)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isItemRequest(r) {
			delayed.ServeHTTP(w, r)
			return
		}
		serve.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	self = srv.Listener.Addr().String()
	p.URL = srv.URL + "/"
	return p
}

func isItemRequest(r *http.Request) bool {
	return strings.Contains(r.URL.Path, "/docs")
}

func (p *FaultProxy) take(r *http.Request) Fault {
	if !isItemRequest(r) {
		return Pass
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fault == Pass || p.budget == 0 || (p.method != "" && r.Method != p.method) {
		return Pass
	}
	if p.budget > 0 {
		p.budget--
	}
	p.hits++
	return p.fault
}

// Set makes the next n item requests (n < 0: all of them) get fault f, and resets the count.
func (p *FaultProxy) Set(f Fault, n int) { p.SetFor("", f, n) }

// SetFor is Set for item requests with this HTTP method only (POST creates, PUT replaces,
// DELETE deletes, GET reads); "" means any.
func (p *FaultProxy) SetFor(method string, f Fault, n int) {
	p.mu.Lock()
	p.fault, p.method, p.budget, p.hits = f, method, n, 0
	p.mu.Unlock()
}

// Hits returns how many item requests got the fault since the last Set.
func (p *FaultProxy) Hits() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hits
}

// SetLatency delays every item request by d before it is answered (0 turns it off), on top of
// any fault. A request whose caller gives up while it waits is neither forwarded nor counted
// against the fault's budget.
func (p *FaultProxy) SetLatency(d time.Duration) { p.latency.Set(d) }
