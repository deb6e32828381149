package mcpserver

import (
	"log/slog"
	"net/http"
	"runtime/debug"

	"example.com/graphmcp/handler/bearer"
	"example.com/graphmcp/handler/logging"
)

// NewMux routes the handler's paths: GET / (readiness), /mcp and, when internal is non-nil,
// /internal/ (the state service). Other paths get a JSON 404. Panics become a JSON 500 without
// a stack trace; the stack goes to the log.
func NewMux(mcpHandler, internal http.Handler, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
	})
	mux.Handle("/mcp", mcpHandler)
	if internal != nil {
		mux.Handle("/internal/", internal)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		bearer.WriteError(w, http.StatusNotFound, "not_found", "no such endpoint; the MCP endpoint is /mcp")
	})
	return recoverer(logger, mux)
}

func recoverer(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				logger.ErrorContext(r.Context(), "handler panicked", slog.String("panic", logging.Redact(slog.AnyValue(p).String())), slog.String("stack", string(debug.Stack())))
				bearer.WriteError(w, http.StatusInternalServerError, "server_error", "internal error (request id "+logging.RequestID(r.Context())+")")
			}
		}()
		next.ServeHTTP(w, r)
	})
}
