// Package logging sets up the handler's structured logs: JSON lines on stdout (the Functions
// host shows stderr as errors), one line per HTTP request carrying a request id, and helpers
// that keep secrets out of log lines.
//
//	logger := logging.New(os.Stdout, slog.LevelInfo)
//	handler := logging.Middleware(logger, mux) // adds request_id to the context and logs each request
//	logger.ErrorContext(ctx, "graph call failed", logging.Err(err)) // err's text with JWTs and bearer values redacted
//
// What is never logged: Authorization headers, tokens, query strings (authorization codes and
// state travel there), request or response bodies. A user is identified by object id only.
package logging

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync"
)

// New returns a JSON logger writing to w at the given level.
func New(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(&contextHandler{slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})})
}

// contextHandler adds the request id (and user object id, once known) from the context to
// every record, so code deep in a request can log with slog's *Context methods only.
type contextHandler struct{ slog.Handler }

func (h *contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if rc, ok := ctx.Value(requestKey{}).(*requestInfo); ok {
		r.AddAttrs(slog.String("request_id", rc.id))
		if oid := rc.userOID.Load(); oid != nil {
			r.AddAttrs(slog.String("user_oid", *oid))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h *contextHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &contextHandler{h.Handler.WithAttrs(as)}
}

func (h *contextHandler) WithGroup(name string) slog.Handler {
	return &contextHandler{h.Handler.WithGroup(name)}
}

// redactors are Redact's patterns: jwt matches compact JWS/JWE-looking strings, bearer the value
// after "Bearer ", secret token-named fields. Compiled at first use, not at process start.
var redactors = sync.OnceValue(func() (r struct{ jwt, bearer, secret *regexp.Regexp }) {
	r.jwt = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_.-]*`)
	r.bearer = regexp.MustCompile(`(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+`)
	r.secret = regexp.MustCompile(`(?i)((?:access_token|refresh_token|id_token|client_assertion|assertion|code|client_secret|password)["']?\s*[:=]\s*["']?)[^"'&\s,}]+`)
	return r
})

// Redact removes JWT-looking strings, bearer values and token-named form/JSON fields from s.
// Use it on any text that came from a library or a remote service before logging it.
func Redact(s string) string {
	if !mayNeedRedaction(s) {
		return s // the request line of almost every request: no pattern can match
	}
	return redactAll(s)
}

// redactAll applies every pattern (Redact without its shortcut).
func redactAll(s string) string {
	r := redactors()
	s = r.jwt.ReplaceAllString(s, "[redacted-jwt]")
	s = r.bearer.ReplaceAllString(s, "${1}[redacted]")
	return r.secret.ReplaceAllString(s, "${1}[redacted]")
}

// mayNeedRedaction is false only when none of Redact's patterns can match s: each needs what
// is tested here (the literal "eyJ", "bearer" in any case, or a ':' or '=' after a field name).
func mayNeedRedaction(s string) bool {
	if strings.Contains(s, "eyJ") || strings.ContainsAny(s, ":=") {
		return true
	}
	// "bearer" ignoring ASCII case; its letters have no other Unicode case folds.
	for i := 0; i+len("bearer") <= len(s); i++ {
		if s[i]|0x20 == 'b' && s[i+1]|0x20 == 'e' && s[i+2]|0x20 == 'a' && s[i+3]|0x20 == 'r' && s[i+4]|0x20 == 'e' && s[i+5]|0x20 == 'r' {
			return true
		}
	}
	return false
}

// Err is an slog attribute "error" holding err's redacted text.
func Err(err error) slog.Attr {
	if err == nil {
		return slog.String("error", "")
	}
	return slog.String("error", Redact(err.Error()))
}

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// AtLeast returns a logger that drops records below level: for libraries (go-sdk logs three
// INFO lines per stateless request) whose routine messages would drown ours.
func AtLeast(l *slog.Logger, level slog.Level) *slog.Logger {
	return slog.New(&minLevel{Handler: l.Handler(), min: level})
}

type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h *minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h *minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return &minLevel{Handler: h.Handler.WithAttrs(as), min: h.min}
}

func (h *minLevel) WithGroup(name string) slog.Handler {
	return &minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}
