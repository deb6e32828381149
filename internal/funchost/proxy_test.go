package funchost

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// seen is what the fake backend observed for one request.
type seen struct {
	method, path, rawQuery, host, body string
	header                             http.Header
}

func fakeBackend(t *testing.T) (*httptest.Server, chan seen) {
	t.Helper()
	ch := make(chan seen, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Host, string(b), r.Header.Clone()}
		w.Header().Set("X-Backend", "yes")
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "from backend")
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

const testKey = "function-key-for-tests"

func startProxy(t *testing.T, o Options) *Server {
	t.Helper()
	s, err := Start(&o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func do(t *testing.T, method, url string, hdr map[string]string, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestForwardKeepsRequestAndAddsHostHeaders(t *testing.T) {
	be, ch := fakeBackend(t)
	p := startProxy(t, Options{Backend: be.URL, PublicHost: "myapp.azurewebsites.net", FunctionKeys: []string{testKey}})

	resp := do(t, "POST", p.URL()+"/mcp?x=1&y=2", map[string]string{
		"x-functions-key": testKey, "Authorization": "Bearer abc", "Content-Type": "application/json",
	}, `{"jsonrpc":"2.0"}`)
	got := <-ch
	if resp.StatusCode != http.StatusTeapot || resp.Header.Get("X-Backend") != "yes" {
		t.Fatalf("response not relayed: status %d", resp.StatusCode)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != "from backend" {
		t.Errorf("body relayed as %q", b)
	}
	if got.method != "POST" || got.path != "/mcp" || got.rawQuery != "x=1&y=2" || got.body != `{"jsonrpc":"2.0"}` {
		t.Errorf("request changed on the way: %+v", got)
	}
	if got.host != "myapp.azurewebsites.net" {
		t.Errorf("Host = %q, want the public host", got.host)
	}
	if got.header.Get("Authorization") != "Bearer abc" || got.header.Get("x-functions-key") == "" {
		t.Error("client headers (Authorization, x-functions-key) must be copied as YARP does")
	}
	id := got.header.Get("x-ms-invocation-id")
	if !guidRE.MatchString(id) || got.header.Get("X-Azure-Functions-InvocationId") != id {
		t.Errorf("invocation headers: x-ms-invocation-id %q, X-Azure-Functions-InvocationId %q", id, got.header.Get("X-Azure-Functions-InvocationId"))
	}
	if got.header.Get("X-Azure-Functions-HostVersion") == "" {
		t.Error("X-Azure-Functions-HostVersion missing")
	}
	if got.header.Get("X-Forwarded-For") != "" {
		t.Error("YARP's default transformer adds no X-Forwarded-For; neither should the stand-in")
	}
	inv := p.Invocations()
	if len(inv) != 1 || inv[0].ID != id || inv[0].Function != "mcp" || inv[0].Status != http.StatusTeapot {
		t.Errorf("invocations = %+v", inv)
	}
}

func TestForwardKeepsClientHostWithoutPublicHost(t *testing.T) {
	be, ch := fakeBackend(t)
	p := startProxy(t, Options{Backend: be.URL, FunctionKeys: []string{testKey}})
	do(t, "GET", p.URL()+"/mcp?code="+testKey, nil, "")
	got := <-ch
	if want := strings.TrimPrefix(p.URL(), "http://"); got.host != want {
		t.Errorf("Host = %q, want the client's %q", got.host, want)
	}
	// The host authorises by `code` but forwards the query unchanged.
	if got.rawQuery != "code="+testKey {
		t.Error("the code query parameter must reach the handler unchanged, as in the real host")
	}
}

func TestRoutingAndKeys(t *testing.T) {
	be, ch := fakeBackend(t)
	p := startProxy(t, Options{Backend: be.URL, FunctionKeys: []string{"other", testKey}, MasterKey: "master"})
	key := map[string]string{"x-functions-key": testKey}
	cases := []struct {
		name, method, path string
		hdr                map[string]string
		want               int
	}{
		{"mcp with header key", "POST", "/mcp", key, http.StatusTeapot},
		{"mcp case-insensitive", "POST", "/MCP/", key, http.StatusTeapot},
		{"code query key", "POST", "/mcp?code=" + testKey, nil, http.StatusTeapot},
		{"master key", "POST", "/mcp", map[string]string{"x-functions-key": "master"}, http.StatusTeapot},
		{"internal catch-all", "GET", "/internal/clients/abc", key, http.StatusTeapot},
		{"no key", "POST", "/mcp", nil, http.StatusUnauthorized},
		{"wrong key", "POST", "/mcp", map[string]string{"x-functions-key": "nope"}, http.StatusUnauthorized},
		{"header wins over code", "POST", "/mcp?code=" + testKey, map[string]string{"x-functions-key": "nope"}, http.StatusUnauthorized},
		{"method not in methods is 404", "PUT", "/mcp", key, http.StatusNotFound},
		{"unknown path", "GET", "/nope", key, http.StatusNotFound},
		{"root", "GET", "/", key, http.StatusNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := do(t, c.method, p.URL()+c.path, c.hdr, "")
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.want)
			}
			if c.want == http.StatusTeapot {
				<-ch
			} else if b, _ := io.ReadAll(resp.Body); len(b) != 0 {
				t.Errorf("rejections carry an empty body, got %q", b)
			}
		})
	}
	select {
	case s := <-ch:
		t.Fatalf("a rejected request reached the backend: %s %s", s.method, s.path)
	default:
	}
}

func TestAdminAndAnonymousLevels(t *testing.T) {
	h, d := writeApp(t, `{"version":"2.0","extensions":{"http":{"routePrefix":""}},"customHandler":{"enableProxyingHttpRequest":true}}`,
		map[string]string{
			"admin":  `{"bindings":[{"type":"httpTrigger","authLevel":"admin","route":"admin/{*p}"}]}`,
			"public": `{"bindings":[{"type":"httpTrigger","authLevel":"anonymous","route":"public","methods":["get"]}]}`,
		})
	be, ch := fakeBackend(t)
	p := startProxy(t, Options{Backend: be.URL, HostJSON: h, FunctionsDir: d, FunctionKeys: []string{testKey}, MasterKey: "master"})
	if r := do(t, "GET", p.URL()+"/admin/x", map[string]string{"x-functions-key": testKey}, ""); r.StatusCode != 401 {
		t.Errorf("admin with a function key: %d, want 401", r.StatusCode)
	}
	if r := do(t, "GET", p.URL()+"/admin/x?code=master", nil, ""); r.StatusCode != http.StatusTeapot {
		t.Errorf("admin with the master key: %d", r.StatusCode)
	} else {
		<-ch
	}
	if r := do(t, "GET", p.URL()+"/public", nil, ""); r.StatusCode != http.StatusTeapot {
		t.Errorf("anonymous without key: %d", r.StatusCode)
	} else {
		<-ch
	}
	if r := do(t, "POST", p.URL()+"/public", nil, ""); r.StatusCode != http.StatusNotFound {
		t.Errorf("anonymous with a method outside methods: %d, want 404", r.StatusCode)
	}
}

// TestStreamsResponses proves a response is relayed as it is produced: the client reads the
// first SSE event while the backend is still blocked waiting for the client's signal.
func TestStreamsResponses(t *testing.T) {
	release := make(chan struct{})
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "data: second\n\n")
	}))
	defer be.Close()
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock() // runs before be.Close, so a failed assertion cannot leave the backend blocked
	p := startProxy(t, Options{Backend: be.URL, FunctionKeys: []string{testKey}})
	resp := do(t, "GET", p.URL()+"/mcp", map[string]string{"x-functions-key": testKey}, "")
	rd := bufio.NewReader(resp.Body)
	line, err := rd.ReadString('\n')
	if err != nil || line != "data: first\n" {
		t.Fatalf("first event %q, %v", line, err)
	}
	unblock()
	rest, _ := io.ReadAll(rd)
	if !strings.Contains(string(rest), "data: second") {
		t.Fatalf("second event missing: %q", rest)
	}
}

func TestBackendDownIs502(t *testing.T) {
	be := httptest.NewServer(http.NotFoundHandler())
	url := be.URL
	be.Close()
	p := startProxy(t, Options{Backend: url, FunctionKeys: []string{testKey}})
	if r := do(t, "POST", p.URL()+"/mcp", map[string]string{"x-functions-key": testKey}, ""); r.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", r.StatusCode)
	}
}

func TestOptionsValidation(t *testing.T) {
	for _, b := range []string{"", "https://127.0.0.1:1", "http://example.com:80", "127.0.0.1:80"} {
		if _, err := New(&Options{Backend: b}); err == nil {
			t.Errorf("Backend %q accepted", b)
		}
	}
	if _, err := New(nil); err == nil {
		t.Error("nil options accepted without a Backend")
	}
}
