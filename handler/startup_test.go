package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"example.com/graphmcp/handler/store/bolt"
	"example.com/graphmcp/internal/handlerproc"
)

// storeEnv configures the real handler binary with an embedded store at stateFile. Entra,
// Graph and the managed-identity endpoint point at a closed loopback port: the JWKS fetch and
// the warm-up fail at once (logged), which these tests do not need.
func storeEnv(stateFile string) map[string]string {
	const closed = "127.0.0.1:1"
	return map[string]string{
		"AZURE_TENANT_ID":           "72f988bf-86f1-41af-91ab-2d7cd011db47",
		"ENTRA_APP_CLIENT_ID":       "00000000-0000-0000-0000-00000000000a",
		"AZURE_CLIENT_ID":           "00000000-0000-0000-0000-00000000000b",
		"MCP_RESOURCE_METADATA_URL": "https://gateway.example/.well-known/oauth-protected-resource/mcp",
		"ENTRA_AUTHORITY_HOST":      "https://" + closed + "/",
		"GRAPH_ENDPOINT":            "https://" + closed,
		"IDENTITY_ENDPOINT":         "http://" + closed + "/msi/token",
		"IDENTITY_HEADER":           "test-header",
		"STATE_FILE":                stateFile,
	}
}

// lockStore holds the embedded store's file lock, as another handler process would: the
// handler's open waits for it (bbolt's lock timeout, 5 s) and then fails.
func lockStore(t *testing.T, file string) (release func()) {
	t.Helper()
	st, err := bolt.Open(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	var once bool
	release = func() {
		if !once {
			once = true
			_ = st.Close()
		}
	}
	t.Cleanup(release)
	return release
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The handler listens before its state store is open: the host's readiness ping (GET /)
// answers while the store is still opening, and /internal/ requests wait for the store
// instead of failing, then are served once it is open.
func TestHandlerListensBeforeTheStoreIsOpen(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.db")
	release := lockStore(t, file)
	p := handlerproc.Start(t, &handlerproc.Options{Env: storeEnv(file)})

	if code, body := httpGet(t, p.URL()+"/"); code != http.StatusOK || body != "ok" {
		t.Fatalf("GET / while the store is opening: %d %q, want 200 ok", code, body)
	}
	type result struct {
		code int
		err  error
	}
	internal := make(chan result, 1)
	go func() {
		resp, err := http.Post(p.URL()+"/internal/v1/health", "application/json", strings.NewReader(`{}`))
		if err != nil {
			internal <- result{err: err}
			return
		}
		resp.Body.Close()
		internal <- result{code: resp.StatusCode}
	}()
	// The store cannot open while this test holds its lock, so the request cannot have been
	// answered; a second readiness ping meanwhile still answers.
	if code, _ := httpGet(t, p.URL()+"/"); code != http.StatusOK {
		t.Fatalf("GET / while /internal/ waits: %d", code)
	}
	select {
	case r := <-internal:
		t.Fatalf("/internal/ answered before the store was open: %+v", r)
	default:
	}
	release()
	r := <-internal
	if r.err != nil || r.code != http.StatusOK {
		t.Fatalf("/internal/v1/health once the store is open: %+v, want 200", r)
	}
}

// A store that cannot be opened stops the handler with exit code 1 and the same log line as
// before it listened first, even though it had already answered the readiness ping.
func TestHandlerExitsWhenTheStoreCannotOpen(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.db")
	lockStore(t, file) // held until the test ends: the handler's open times out
	p := handlerproc.Start(t, &handlerproc.Options{Env: storeEnv(file)})
	if code, _ := httpGet(t, p.URL()+"/"); code != http.StatusOK {
		t.Fatalf("GET / while the store is opening: %d", code)
	}
	select {
	case <-p.Exited():
	case <-time.After(time.Minute): // a bound for reporting a hang, not an expectation of speed
		t.Fatal("the handler kept running although its state store cannot be opened")
	}
	if code := p.ExitCode(); code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	rec := p.WaitRecord(t, func(r handlerproc.Record) bool { return r.String("msg") == "startup failed: state store" }, 10*time.Second)
	if e := rec.String("error"); !strings.Contains(e, "locked by another process") {
		t.Fatalf("log line error %q does not say why", e)
	}
	if _, err := http.Get(p.URL() + "/"); err == nil {
		t.Fatal("the listener still answers after the process exited")
	}
}

// The same for a store that fails at once (an unusable STATE_FILE): exit 1, the log line.
func TestHandlerExitsWhenTheStoreFailsAtOnce(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := handlerproc.Run(t, &handlerproc.Options{Env: storeEnv(filepath.Join(notADir, "state.db"))})
	if code != 1 {
		t.Fatalf("exit code %d, want 1 (stderr %q)", code, stderr)
	}
	if !strings.Contains(strings.Join(stdout, "\n"), `"msg":"startup failed: state store"`) {
		t.Fatalf("no state store log line in %q", stdout)
	}
}
