package logging

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

type requestKey struct{}

type requestInfo struct {
	id      string
	userOID atomic.Pointer[string]

	mu    sync.Mutex
	attrs []slog.Attr // added by handlers for the request's summary line
}

// AddToRequestLine adds attributes (e.g. the MCP method and tool name) to the request's
// summary line. No-op outside a request.
func AddToRequestLine(ctx context.Context, attrs ...slog.Attr) {
	if rc, ok := ctx.Value(requestKey{}).(*requestInfo); ok {
		rc.mu.Lock()
		rc.attrs = append(rc.attrs, attrs...)
		rc.mu.Unlock()
	}
}

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	if rc, ok := ctx.Value(requestKey{}).(*requestInfo); ok {
		return rc.id
	}
	return ""
}

// SetUser records the authenticated user's object id for the request's log lines.
func SetUser(ctx context.Context, objectID string) {
	if rc, ok := ctx.Value(requestKey{}).(*requestInfo); ok {
		rc.userOID.Store(&objectID)
	}
}

// WithRequestID returns a context carrying id, for code that runs outside an HTTP request.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestKey{}, &requestInfo{id: id})
}

// validInvocationID bounds what we accept from a client-controlled header before it enters logs:
// 1 to 128 of [A-Za-z0-9._:-]. A loop, not a regexp: the counted repetition compiled into
// hundreds of instructions and cost about 1.5 ms of every cold start.
func validInvocationID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// Middleware gives each request an id (the Functions host's invocation id when present, so our
// lines join the host's, else a random one), echoes it in the X-Request-Id response header, and
// logs one line per request: method, path (never the query), status, bytes and duration.
func Middleware(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Ms-Invocation-Id")
		if id == "" {
			id = r.Header.Get("X-Azure-Functions-InvocationId")
		}
		if !validInvocationID(id) {
			id = randomID()
		}
		rc := &requestInfo{id: id}
		ctx := context.WithValue(r.Context(), requestKey{}, rc)
		w.Header().Set("X-Request-Id", id)
		rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rw, r.WithContext(ctx))
		level := slog.LevelInfo
		if r.URL.Path == "/" && r.Method == http.MethodGet {
			level = slog.LevelDebug // the host's readiness ping, every 25 ms at start
		}
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", logPath(r.URL.Path)),
			slog.Int("status", rw.status),
			slog.Int64("bytes", rw.bytes),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		}
		rc.mu.Lock()
		attrs = append(attrs, rc.attrs...)
		rc.mu.Unlock()
		logger.LogAttrs(ctx, level, "http request", attrs...)
	})
}

// maxLoggedPath bounds the path in the request line: real paths are short, and a client could
// otherwise fill the log with one request.
const maxLoggedPath = 256

// logPath is the request path as the log may show it: client text, so redacted (a confused
// client may put a token or code there) and cut.
func logPath(p string) string {
	p = Redact(p) // before cutting: a cut token might no longer look like one
	if len(p) > maxLoggedPath {
		p = p[:maxLoggedPath] + "…"
	}
	return p
}

// statusWriter records status and size; Unwrap keeps http.ResponseController (Flush) working.
type statusWriter struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wroteHeader = true
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
