package cimd

import (
	"bytes"
	"compress/gzip"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// docServer serves client metadata documents over TLS on loopback; handlers are per path.
type docServer struct {
	*httptest.Server
	hits atomic.Int64
}

func newDocServer(t *testing.T, mux *http.ServeMux) *docServer {
	t.Helper()
	d := &docServer{}
	d.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.hits.Add(1)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(d.Close)
	return d
}

func (d *docServer) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(d.Certificate())
	return p
}

func doc(id string) string {
	return `{"client_id":"` + id + `","client_name":"Test Client","redirect_uris":["http://127.0.0.1/cb","https://app.example.com/cb"]}`
}

type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time      { return time.Unix(c.t.Load(), 0) }
func (c *clock) add(d time.Duration) { c.t.Add(int64(d / time.Second)) }

func setup(t *testing.T, mux *http.ServeMux, o Options) (*docServer, *Fetcher, *clock) {
	t.Helper()
	srv := newDocServer(t, mux)
	c := &clock{}
	c.t.Store(1_800_000_000)
	o.RootCAs, o.AllowLoopbackForTesting, o.Now = srv.pool(), true, c.now
	return srv, New(&o), c
}

func TestAcceptsGoodDocumentAndCaches(t *testing.T) {
	mux := http.NewServeMux()
	var url string
	mux.HandleFunc("/client.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=600")
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(doc(url)))
	})
	srv, f, clk := setup(t, mux, Options{})
	url = srv.URL + "/client.json"
	for range 3 {
		c, err := f.Client(t.Context(), url)
		if err != nil {
			t.Fatalf("good document refused: %v", err)
		}
		if c.ClientID != url || c.Kind != "cimd" || c.ClientName != "Test Client" || len(c.RedirectURIs) != 2 {
			t.Fatalf("client %+v", c)
		}
	}
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("%d fetches for 3 lookups within max-age, want 1", n)
	}
	clk.add(601 * time.Second)
	if _, err := f.Client(t.Context(), url); err != nil || srv.hits.Load() != 2 {
		t.Fatalf("after max-age: err %v, %d fetches, want a refetch", err, srv.hits.Load())
	}
}

func TestCacheLifetimeClamped(t *testing.T) {
	f := New(nil)
	for cc, want := range map[string]time.Duration{
		"":                         5 * time.Minute,
		"no-store":                 5 * time.Minute,
		"max-age=10":               5 * time.Minute,
		"max-age=3600":             time.Hour,
		"public, max-age=99999999": 24 * time.Hour,
		"max-age=abc":              5 * time.Minute,
	} {
		if got := f.lifetime(cc); got != want {
			t.Errorf("lifetime(%q) = %v, want %v", cc, got, want)
		}
	}
}

func TestRefusals(t *testing.T) {
	mux := http.NewServeMux()
	release := make(chan struct{})
	var base string
	mux.HandleFunc("/mismatch.json", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(doc(base + "/other.json")))
	})
	mux.HandleFunc("/big.json", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Replace(doc(base+"/big.json"), `"Test Client"`, `"`+strings.Repeat("x", 6000)+`"`, 1)))
	})
	mux.HandleFunc("/big-chunked.json", func(w http.ResponseWriter, r *http.Request) {
		for range 100 {
			w.Write([]byte(strings.Repeat(" ", 100)))
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/to-private.json", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://10.0.0.1/client.json", http.StatusFound)
	})
	mux.HandleFunc("/to-metadata.json", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://169.254.169.254/metadata/identity/oauth2/token", http.StatusFound)
	})
	mux.HandleFunc("/to-http.json", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.1/client.json", http.StatusFound)
	})
	mux.HandleFunc("/loop.json", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop.json", http.StatusFound)
	})
	mux.HandleFunc("/slow.json", func(w http.ResponseWriter, r *http.Request) {
		select { // never answers in time; released at cleanup
		case <-release:
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/missing.json", http.NotFound)
	mux.HandleFunc("/notjson.json", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) })
	srv, f, _ := setup(t, mux, Options{Timeout: 300 * time.Millisecond})
	t.Cleanup(func() { close(release) })
	base = srv.URL

	cases := map[string]error{
		base + "/mismatch.json":    ErrInvalidDocument,
		base + "/big.json":         ErrFetch,
		base + "/big-chunked.json": ErrFetch,
		base + "/to-private.json":  ErrFetch,
		base + "/to-metadata.json": ErrFetch,
		base + "/to-http.json":     ErrFetch,
		base + "/loop.json":        ErrFetch,
		base + "/slow.json":        ErrFetch,
		base + "/missing.json":     ErrFetch,
		base + "/notjson.json":     ErrInvalidDocument,
		strings.Replace(base, "https://", "http://", 1) + "/client.json": ErrInvalidURL,
		base:                       ErrInvalidURL, // no path
		base + "/":                 ErrInvalidURL,
		base + "/a/../client.json": ErrInvalidURL,
		base + "/client.json#frag": ErrInvalidURL,
		"https://user@" + strings.TrimPrefix(base, "https://") + "/c.json": ErrInvalidURL,
	}
	for url, want := range cases {
		if _, err := f.Client(t.Context(), url); !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %v", strings.TrimPrefix(url, base), err, want)
		}
	}
	// A failure is remembered for a while: asking again does not contact the server.
	n := srv.hits.Load()
	if _, err := f.Client(t.Context(), base+"/missing.json"); !errors.Is(err, ErrFetch) || srv.hits.Load() != n {
		t.Fatalf("repeated failing lookup: %v, %d new fetches", err, srv.hits.Load()-n)
	}
}

// TestLoopbackRefusedWithoutTestSwitch: the same server is unreachable for a production Fetcher.
func TestLoopbackRefusedWithoutTestSwitch(t *testing.T) {
	mux := http.NewServeMux()
	var url string
	mux.HandleFunc("/client.json", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(doc(url))) })
	srv := newDocServer(t, mux)
	url = srv.URL + "/client.json"
	f := New(&Options{RootCAs: srv.pool()})
	_, err := f.Client(t.Context(), url)
	if !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), "non-public") {
		t.Fatalf("loopback fetch without the test switch: %v", err)
	}
	// A host name is checked after DNS resolution: localhost resolves to loopback.
	_, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "https://"), ":")
	_, err = f.Client(t.Context(), "https://localhost:"+port+"/client.json")
	if !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), "non-public") {
		t.Fatalf("host name resolving to loopback: %v", err)
	}
	if srv.hits.Load() != 0 {
		t.Fatal("the refused address was contacted")
	}
}

func TestPublicAddress(t *testing.T) {
	for s, want := range map[string]bool{
		"8.8.8.8": true, "2606:4700:4700::1111": true, "20.50.2.1": true,
		"127.0.0.1": false, "::1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "fe80::1": false, "fc00::1": false, "fd00:ec2::254": false,
		"0.0.0.0": false, "::": false, "100.64.0.1": false, "168.63.129.16": false, "224.0.0.1": false,
		"255.255.255.255": false, "::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false, "64:ff9b::a00:1": false,
	} {
		if got := PublicAddress(netip.MustParseAddr(s)); got != want {
			t.Errorf("PublicAddress(%s) = %v, want %v", s, got, want)
		}
	}
}

func TestIsClientIDURL(t *testing.T) {
	if !IsClientIDURL("https://client.example.com/meta.json") || IsClientIDURL("ABCDEFGHIJKLMNOPQRSTUVWXYZ") || IsClientIDURL("http://x/y") {
		t.Fatal("IsClientIDURL misclassifies")
	}
}

// TestEmbeddedIPv4AndDotSegments: IPv6 forms that carry an IPv4 address (IPv4-compatible
// ::a.b.c.d, SIIT-translated ::ffff:0:a.b.c.d) are not public; percent-encoded dot segments in
// any spelling are refused like plain ones.
func TestEmbeddedIPv4AndDotSegments(t *testing.T) {
	for _, s := range []string{"::127.0.0.1", "::10.0.0.1", "::169.254.169.254", "::ffff:0:127.0.0.1", "::ffff:0:a9fe:a9fe", "100::1"} {
		if PublicAddress(netip.MustParseAddr(s)) {
			t.Errorf("PublicAddress(%s) = true", s)
		}
	}
	for _, u := range []string{"https://client.example/a/.%2e/c.json", "https://client.example/a/%2e./c.json",
		"https://client.example/a/%2E/c.json", "https://client.example/a/%2e%2E/c.json", "https://client.example/a/./c.json"} {
		if err := ValidateURL(u); !errors.Is(err, ErrInvalidURL) {
			t.Errorf("ValidateURL(%s) = %v", u, err)
		}
	}
	if err := ValidateURL("https://client.example/a/.well-known/c.json"); err != nil {
		t.Errorf("a segment that merely starts with a dot was refused: %v", err)
	}
}

// TestCompressionBombBounded: a gzip body that inflates far past MaxBytes is cut at MaxBytes
// after decompression, not read to the end.
func TestCompressionBombBounded(t *testing.T) {
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write([]byte(`{"client_id":"`))
	zw.Write(bytes.Repeat([]byte("a"), 8<<20))
	zw.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/bomb.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "application/json")
		w.Write(zipped.Bytes())
	})
	srv, f, _ := setup(t, mux, Options{})
	if _, err := f.Client(t.Context(), srv.URL+"/bomb.json"); !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), "larger") {
		t.Fatalf("gzip bomb: %v", err)
	}
}

// TestHugeResponseHeadersRefused: a document server cannot make the fetcher buffer unbounded
// response headers.
func TestHugeResponseHeadersRefused(t *testing.T) {
	mux := http.NewServeMux()
	var base string
	mux.HandleFunc("/headers.json", func(w http.ResponseWriter, r *http.Request) {
		for i := range 40 {
			w.Header().Set(fmt.Sprintf("X-Pad-%d", i), strings.Repeat("h", 1000))
		}
		w.Write([]byte(doc(base + "/headers.json")))
	})
	srv, f, _ := setup(t, mux, Options{})
	base = srv.URL
	if _, err := f.Client(t.Context(), base+"/headers.json"); !errors.Is(err, ErrFetch) {
		t.Fatalf("40 KB of response headers: %v", err)
	}
}

// TestETagRevalidation: a stale document that came with an ETag is revalidated with
// If-None-Match; 304 keeps it for another max-age without a transfer, a changed document (new
// ETag) replaces it, and an ill-formed ETag is never sent back.
func TestETagRevalidation(t *testing.T) {
	var (
		base            string
		etag, name      atomic.Value
		full, notModify atomic.Int64
		sentIfNoneMatch atomic.Value
	)
	etag.Store(`"v1"`)
	name.Store("First Name")
	sentIfNoneMatch.Store("")
	mux := http.NewServeMux()
	mux.HandleFunc("/client.json", func(w http.ResponseWriter, r *http.Request) {
		sentIfNoneMatch.Store(r.Header.Get("If-None-Match"))
		w.Header().Set("ETag", etag.Load().(string))
		w.Header().Set("Cache-Control", "max-age=600")
		if inm := r.Header.Get("If-None-Match"); inm != "" && inm == etag.Load().(string) {
			notModify.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		full.Add(1)
		w.Write([]byte(strings.Replace(doc(base+"/client.json"), "Test Client", name.Load().(string), 1)))
	})
	srv, f, clk := setup(t, mux, Options{})
	base = srv.URL
	get := func() string {
		t.Helper()
		c, err := f.Client(t.Context(), base+"/client.json")
		if err != nil {
			t.Fatal(err)
		}
		return c.ClientName
	}
	if get() != "First Name" || full.Load() != 1 {
		t.Fatal("first fetch")
	}
	clk.add(601 * time.Second) // stale: revalidated, not modified
	if get() != "First Name" || full.Load() != 1 || notModify.Load() != 1 || sentIfNoneMatch.Load() != `"v1"` {
		t.Fatalf("revalidation: %d full, %d 304, If-None-Match %q", full.Load(), notModify.Load(), sentIfNoneMatch.Load())
	}
	if get(); srv.hits.Load() != 2 {
		t.Fatalf("a 304 did not renew the entry: %d requests", srv.hits.Load())
	}
	etag.Store(`W/"v2"`)
	name.Store("Second Name")
	clk.add(601 * time.Second) // stale and changed: the new document replaces the old
	if got := get(); got != "Second Name" || full.Load() != 2 {
		t.Fatalf("after a change: %q, %d full fetches", got, full.Load())
	}
	etag.Store(`not-quoted`)
	clk.add(601 * time.Second)
	get() // If-None-Match W/"v2" → 200 with an ill-formed ETag, which is dropped
	clk.add(601 * time.Second)
	if get(); sentIfNoneMatch.Load() != "" {
		t.Fatalf("an ill-formed ETag was sent back: %q", sentIfNoneMatch.Load())
	}
}
