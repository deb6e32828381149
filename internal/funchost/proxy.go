package funchost

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
)

// Options configure the stand-in. Backend is required; everything else has a default.
type Options struct {
	// Backend is the custom handler's base URL, e.g. "http://127.0.0.1:8080". It must be http
	// on a loopback address: the host always talks plain HTTP to 127.0.0.1.
	Backend string
	// PublicHost, when set, is the Host header the handler receives, as if the client had
	// addressed the app by its public name (e.g. "myapp.azurewebsites.net"). Empty keeps the
	// Host the client sent to the stand-in.
	PublicHost string
	// HostJSON is the host.json to route by. Default: this repository's host.json.
	HostJSON string
	// FunctionsDir holds one folder per function with its function.json. Default: this
	// repository's functions/ folder (copied to the app root at packaging time).
	FunctionsDir string
	// FunctionKeys are accepted for authLevel "function" (function and host keys).
	FunctionKeys []string
	// MasterKey is accepted for "function" and is the only key accepted for "admin".
	MasterKey string
	// HostVersion is sent as X-Azure-Functions-HostVersion. Default "4.1041.200.0".
	HostVersion string
	// Addr is the listen address for Start. Default "127.0.0.1:0".
	Addr string
	// Launch, when set, starts the custom handler: Start calls it instead of using Backend, and
	// the stand-in calls it again whenever that process exits, as the Functions host restarts a
	// custom handler that exits (the backend URL may change). Close stops the current process.
	Launch func() (Worker, error)
}

// Invocation records one request the stand-in answered (never the query string: it may hold a key).
type Invocation struct {
	ID       string // the invocation id sent to the handler; empty when not forwarded
	Function string // matched function; empty for 404
	Method   string
	Path     string
	Status   int
}

// maxInvocations bounds the in-memory record so long-running tests cannot grow it without end.
const maxInvocations = 10000

// Server is a running stand-in. It is also an http.Handler, for use with httptest.
type Server struct {
	opts      Options
	functions []Function
	proxy     *httputil.ReverseProxy
	listener  net.Listener
	http      *http.Server

	mu          sync.Mutex
	invocations []Invocation

	// Supervision (Options.Launch); backend is where requests go now.
	backend       atomic.Pointer[url.URL]
	worker        Worker
	restarts      int
	lastLaunchErr error
	closed        bool
	stop          chan struct{}
}

// New builds the stand-in without listening (see Start).
func New(opts *Options) (*Server, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.HostJSON == "" || o.FunctionsDir == "" {
		root := repoRoot()
		if o.HostJSON == "" {
			o.HostJSON = filepath.Join(root, "host.json")
		}
		if o.FunctionsDir == "" {
			o.FunctionsDir = filepath.Join(root, "functions")
		}
	}
	if o.HostVersion == "" {
		o.HostVersion = "4.1041.200.0"
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	var backend *url.URL
	if o.Launch == nil {
		var err error
		if backend, err = parseBackend(o.Backend); err != nil {
			return nil, err
		}
	}
	fns, err := LoadFunctions(o.HostJSON, o.FunctionsDir)
	if err != nil {
		return nil, fmt.Errorf("funchost: %w", err)
	}
	s := &Server{opts: o, functions: fns, stop: make(chan struct{})}
	if backend != nil {
		s.backend.Store(backend)
	}
	s.proxy = &httputil.ReverseProxy{
		// Rewrite (not Director) so that ReverseProxy adds no X-Forwarded-* headers, matching
		// YARP's default transformer.
		Rewrite: func(pr *httputil.ProxyRequest) {
			backend := s.backend.Load()
			pr.Out.URL.Scheme = backend.Scheme
			pr.Out.URL.Host = backend.Host
			pr.Out.Host = pr.In.Host
			if o.PublicHost != "" {
				pr.Out.Host = o.PublicHost
			}
			id := invocationID(pr.In)
			pr.Out.Header.Set("x-ms-invocation-id", id)
			pr.Out.Header.Set("X-Azure-Functions-InvocationId", id)
			pr.Out.Header.Set("X-Azure-Functions-HostVersion", o.HostVersion)
		},
		FlushInterval: -1, // stream: SSE and chunked bodies pass through as they arrive
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	return s, nil
}

// Start builds the stand-in and serves it on Options.Addr (default a free loopback port).
func Start(opts *Options) (*Server, error) {
	s, err := New(opts)
	if err != nil {
		return nil, err
	}
	if s.opts.Launch != nil {
		if err := s.launch(); err != nil {
			return nil, fmt.Errorf("funchost: starting the custom handler: %w", err)
		}
		go s.supervise()
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("funchost: listen: %w", err)
	}
	s.listener = ln
	s.http = &http.Server{Handler: s}
	go s.http.Serve(ln) //nolint:errcheck // returns ErrServerClosed on Close
	return s, nil
}

// URL is the stand-in's base URL, e.g. "http://127.0.0.1:41234" (Start only).
func (s *Server) URL() string {
	if s.listener == nil {
		return ""
	}
	return "http://" + s.listener.Addr().String()
}

// Close stops listening and closes open connections; with Options.Launch it also stops
// supervising and stops the custom handler. Safe to call more than once.
func (s *Server) Close() {
	if s.http != nil {
		s.http.Close()
	}
	s.mu.Lock()
	w := s.worker
	if !s.closed {
		s.closed = true
		close(s.stop)
	}
	s.worker = nil
	s.mu.Unlock()
	if w != nil {
		_ = w.Stop()
	}
}

// Functions returns the routing table in match order.
func (s *Server) Functions() []Function { return append([]Function(nil), s.functions...) }

// Invocations returns what the stand-in has answered so far, oldest first.
func (s *Server) Invocations() []Invocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Invocation(nil), s.invocations...)
}

type ctxKey struct{}

func contextWith(r *http.Request, id string) context.Context {
	return context.WithValue(r.Context(), ctxKey{}, id)
}

func invocationID(r *http.Request) string {
	id, _ := r.Context().Value(ctxKey{}).(string)
	return id
}

// ServeHTTP routes, checks keys and forwards like the host. Each invocation is recorded when
// its status is written, before the client can see the response, so a caller that reads
// Invocations after a response always finds it there.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	inv := Invocation{Method: r.Method, Path: r.URL.Path}
	sw := &statusWriter{ResponseWriter: w, onStatus: func(status int) {
		inv.Status = status
		s.record(inv)
	}}
	fn := s.route(r)
	if fn == nil {
		sw.WriteHeader(http.StatusNotFound)
		return
	}
	inv.Function = fn.Name
	if !s.authorized(fn, r) {
		sw.WriteHeader(http.StatusUnauthorized)
		return
	}
	inv.ID = uuid.NewString()
	s.proxy.ServeHTTP(sw, r.WithContext(contextWith(r, inv.ID)))
	if sw.status == 0 { // the proxy wrote nothing: net/http answers 200 with an empty body
		sw.WriteHeader(http.StatusOK)
	}
}

func (s *Server) route(r *http.Request) *Function {
	for i := range s.functions {
		f := &s.functions[i]
		if f.template.match(r.URL.Path) && f.allows(r.Method) {
			return f
		}
	}
	return nil
}

// authorized applies the host's key check: the x-functions-key header wins over the code
// query parameter; keys are compared in constant time.
func (s *Server) authorized(f *Function, r *http.Request) bool {
	if f.AuthLevel == AuthAnonymous {
		return true
	}
	key := r.Header.Get("x-functions-key")
	if key == "" {
		key = r.URL.Query().Get("code")
	}
	if key == "" {
		return false
	}
	if s.opts.MasterKey != "" && equal(key, s.opts.MasterKey) {
		return true
	}
	if f.AuthLevel == AuthAdmin {
		return false
	}
	ok := false
	for _, k := range s.opts.FunctionKeys {
		if k != "" && equal(key, k) {
			ok = true // no early return: keep the time independent of which key matched
		}
	}
	return ok
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func (s *Server) record(inv Invocation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.invocations) >= maxInvocations {
		s.invocations = s.invocations[1:]
	}
	s.invocations = append(s.invocations, inv)
}

// statusWriter reports the status code once, when it is first written; Unwrap lets
// http.ResponseController reach the underlying Flusher so streaming keeps working.
type statusWriter struct {
	http.ResponseWriter
	status   int
	onStatus func(int)
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 { // 1xx responses are interim
		w.status = code
		w.onStatus(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// repoRoot locates the repository from this source file, so the default configuration is the
// one that ships.
func repoRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic(errors.New("funchost: cannot locate source file"))
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}
