package internalapi

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"example.com/graphmcp/handler/config"
)

func TestOpenEmbedded(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sub", "state.db")
	cfg := config.StoreConfig{Kind: config.StoreEmbedded, File: file, RequireFunctionsHost: true}
	h, closeStore, err := Open(cfg, func(string) string { return "" }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	expect(t, "functions host required", do(t, h, "POST", "/internal/v1/health", "application/json", []byte(`{}`), nil), "Forbidden forbidden")
	expect(t, "health", do(t, h, "POST", "/internal/v1/health", "application/json", []byte(`{}`),
		map[string]string{"X-Azure-Functions-InvocationId": "x"}), "OK")
	if _, _, err := Open(config.StoreConfig{Kind: "nope"}, nil, slog.Default()); err == nil {
		t.Fatal("unknown store kind accepted")
	}
}

// startOpening opens cfg at once, as main does once the JWKS request is out.
func startOpening(cfg config.StoreConfig) *Opening {
	o := NewOpening()
	o.Start(nil, cfg, func(string) string { return "" }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return o
}

// opened waits for the open to end and returns its error.
func opened(o *Opening) error {
	<-o.done
	return o.err
}

func TestOpeningInBackground(t *testing.T) {
	cfg := config.StoreConfig{Kind: config.StoreEmbedded, File: filepath.Join(t.TempDir(), "state.db")}
	o := startOpening(cfg)
	if err := opened(o); err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	expect(t, "health", do(t, o, "POST", "/internal/v1/health", "application/json", []byte(`{}`), nil), "OK")

	bad := startOpening(config.StoreConfig{Kind: "nope"})
	if err := opened(bad); err == nil {
		t.Fatal("unknown store kind accepted")
	}
	expect(t, "failed store", do(t, bad, "POST", "/internal/v1/health", "application/json", []byte(`{}`), nil), "Service Unavailable store_unavailable")
}

// An Opening started after a signal (main: the server's JWKS request) opens the store once
// the signal comes; a request whose client gives up meanwhile returns instead of waiting; a
// store that cannot be opened is reported once on Failed, which main turns into exit 1.
func TestOpeningStartAfterAndFailed(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.db")
	after := make(chan struct{})
	o := NewOpening()
	o.Start(after, config.StoreConfig{Kind: config.StoreEmbedded, File: file}, func(string) string { return "" }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest("POST", "/internal/v1/health", strings.NewReader(`{}`)).WithContext(ctx)
	o.ServeHTTP(httptest.NewRecorder(), req) // returns: the client is gone
	close(after)
	if err := opened(o); err != nil {
		t.Fatal(err)
	}
	expect(t, "health once open", do(t, o, "POST", "/internal/v1/health", "application/json", []byte(`{}`), nil), "OK")
	select {
	case err := <-o.Failed():
		t.Fatalf("Failed delivered %v for a store that opened", err)
	default:
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}

	bad := startOpening(config.StoreConfig{Kind: config.StoreEmbedded, File: filepath.Join(file, "not-a-dir", "state.db")})
	if err := <-bad.Failed(); err == nil || !strings.Contains(err.Error(), "STATE_FILE") {
		t.Fatalf("Failed: %v, want the open error naming STATE_FILE", err)
	}
	if err := bad.Close(); err != nil {
		t.Fatalf("Close after a failed open: %v", err)
	}
}
