package internalapi

import (
	"io"
	"log/slog"
	"path/filepath"
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

func TestOpenInBackground(t *testing.T) {
	cfg := config.StoreConfig{Kind: config.StoreEmbedded, File: filepath.Join(t.TempDir(), "state.db")}
	o := OpenInBackground(cfg, func(string) string { return "" }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	closeStore, err := o.Wait()
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	expect(t, "health", do(t, o, "POST", "/internal/v1/health", "application/json", []byte(`{}`), nil), "OK")

	bad := OpenInBackground(config.StoreConfig{Kind: "nope"}, nil, slog.Default())
	if _, err := bad.Wait(); err == nil {
		t.Fatal("unknown store kind accepted")
	}
	expect(t, "failed store", do(t, bad, "POST", "/internal/v1/health", "application/json", []byte(`{}`), nil), "Service Unavailable store_unavailable")
}
