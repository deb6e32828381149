package tokenverify

import (
	"context"
	"io"
	"log/slog"
	"testing"
)

// Prefetch's channel closes once the JWKS request is on the wire, while Entra's answer is
// still outstanding (the server's warm-up starts then, overlapping the round trip), and also
// when the fetch fails before any request was written.
func TestPrefetchSignalsTheWrittenRequest(t *testing.T) {
	f := newFakeEntra(t)
	f.hold.Store(true)
	v := f.verifier(t, nil)
	sent := v.Prefetch(context.Background())
	<-f.held // Entra has the request and holds its answer
	<-sent   // closes without the answer
	v.keys.mu.Lock()
	loaded := v.keys.loaded
	v.keys.mu.Unlock()
	if loaded {
		t.Fatal("keys loaded before Entra answered")
	}
	f.release <- struct{}{}

	unreachable, err := New(&Options{TenantID: tenant, ClientID: app, AuthorityHost: "https://127.0.0.1:1/",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	<-unreachable.Prefetch(context.Background())
	if unreachable.JWKSFetches() != 1 {
		t.Fatalf("fetches %d, want 1", unreachable.JWKSFetches())
	}
}
