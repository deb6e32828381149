package localca

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

func TestServeAndTrust(t *testing.T) {
	ca, err := New()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ca.ServerTLSConfig("gateway.test")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	srv.TLS = cfg
	srv.StartTLS()
	defer srv.Close()

	resp, err := ca.HTTPClient().Get(srv.URL)
	if err != nil {
		t.Fatalf("client trusting the CA: %v", err)
	}
	resp.Body.Close()

	other, _ := New()
	if _, err := other.HTTPClient().Get(srv.URL); err == nil {
		t.Fatal("a client trusting a different CA connected")
	}
	leaf := cfg.Certificates[0]
	if len(leaf.Certificate) != 2 {
		t.Fatalf("chain length %d, want leaf+root", len(leaf.Certificate))
	}
}

func TestLoadOrCreateReuses(t *testing.T) {
	dir := t.TempDir()
	a, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.CertPEM(), b.CertPEM()) {
		t.Fatal("second LoadOrCreate made a new root instead of reusing the files")
	}
	st, err := os.Stat(filepath.Join(dir, "ca-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
	}
	// A corrupt key is replaced, not trusted.
	if err := os.WriteFile(filepath.Join(dir, "ca-key.pem"), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.CertPEM(), c.CertPEM()) {
		t.Fatal("corrupt key file was accepted")
	}
}
