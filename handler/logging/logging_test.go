package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
	in := `call failed: Authorization: Bearer abc.def-ghi; body {"access_token":"opaque-123","refresh_token":"r-456"} assertion=` + jwt + `&code=secretcode x`
	out := Redact(in)
	for _, leak := range []string{"abc.def-ghi", "opaque-123", "r-456", jwt, "secretcode"} {
		if strings.Contains(out, leak) {
			t.Errorf("Redact left %q in %q", leak, out)
		}
	}
	if !strings.Contains(out, "call failed") {
		t.Errorf("Redact dropped the message: %q", out)
	}
	if Err(errors.New("token "+jwt)).Value.String() != "token [redacted-jwt]" {
		t.Error("Err does not redact")
	}
}

func TestMiddlewareRequestID(t *testing.T) {
	var buf bytes.Buffer
	logger := New(&buf, slog.LevelDebug)
	h := Middleware(logger, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetUser(r.Context(), "oid-1")
		logger.InfoContext(r.Context(), "inside")
		w.WriteHeader(http.StatusTeapot)
	}))
	req := httptest.NewRequest("POST", "/mcp?code=secret-code&state=s", nil)
	req.Header.Set("X-Ms-Invocation-Id", "0f8fad5b-d9cb-469f-a165-70867728950e")
	req.Header.Set("Authorization", "Bearer should-not-appear")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Header().Get("X-Request-Id") != "0f8fad5b-d9cb-469f-a165-70867728950e" {
		t.Fatalf("X-Request-Id = %q", w.Header().Get("X-Request-Id"))
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 log lines, got %q", buf.String())
	}
	var last map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &last); err != nil {
		t.Fatal(err)
	}
	if last["request_id"] != "0f8fad5b-d9cb-469f-a165-70867728950e" || last["user_oid"] != "oid-1" || last["status"] != float64(418) || last["path"] != "/mcp" {
		t.Fatalf("request line: %v", last)
	}
	for _, leak := range []string{"secret-code", "should-not-appear"} {
		if strings.Contains(buf.String(), leak) {
			t.Errorf("log contains %q", leak)
		}
	}

	// A hostile invocation id is replaced by a random one.
	req = httptest.NewRequest("GET", "/", nil)
	req.Header.Set("X-Ms-Invocation-Id", "evil\nline")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if id := w.Header().Get("X-Request-Id"); len(id) != 24 || strings.Contains(id, "evil") {
		t.Fatalf("X-Request-Id = %q", id)
	}
}

// TestMiddlewarePathCannotCarryATokenIntoTheLog: the path is client text; a token or code put
// there by a confused client must not reach the log, and a huge path is cut.
func TestMiddlewarePathCannotCarryATokenIntoTheLog(t *testing.T) {
	var buf bytes.Buffer
	h := Middleware(New(&buf, slog.LevelDebug), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
	for _, p := range []string{"/mcp/" + jwt, "/internal/v1/code=abc123secret", "/" + strings.Repeat("a", 5000)} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", p, nil))
	}
	out := buf.String()
	for _, leak := range []string{"eyJ", "abc123secret", strings.Repeat("a", 1000)} {
		if strings.Contains(out, leak) {
			t.Errorf("log contains %.20q… (%d bytes of log)", leak, len(out))
		}
	}
}
