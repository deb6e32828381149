package apimemu

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/graphmcp/apim-policies/toolchain"
	"example.com/graphmcp/devstack/localca"
	"example.com/graphmcp/internal/testdeps"
)

// fixture is one emulator running apim-policies/toolchain/testdata/elements, shared by the
// element tests so the suite compiles and starts Mono once.
type fixture struct {
	gw        *Gateway
	hits      atomic.Int64
	mu        sync.Mutex
	sseNext   chan struct{} // the SSE backend sends its second event after this closes (set per test)
	release   chan struct{} // unblocks the slow backend at the end of the test run
	miCalls   atomic.Int64
	oneWay    chan string   // markers of send-one-way-request calls
	lcEntered chan struct{} // the limit-concurrency backend call has started
	lcRelease chan struct{} // ...and finishes when this closes (set per test)
}

// gate returns the current channel of a per-test gate under the fixture's lock.
func (f *fixture) gate(ch *chan struct{}) chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *ch
}

// newGate installs a fresh gate, so the shared fixture survives -count=N.
func (f *fixture) newGate(ch *chan struct{}) chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	*ch = make(chan struct{})
	return *ch
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
)

func elementsManifest() string {
	return filepath.Join(toolchain.PoliciesDir(), "toolchain", "testdata", "elements", "gateway.json")
}

func startFixture(t testing.TB) *fixture {
	t.Helper()
	testdeps.Tool(t, "mcs")
	testdeps.Tool(t, "mono")
	fixOnce.Do(func() {
		f := &fixture{sseNext: make(chan struct{}), release: make(chan struct{}),
			oneWay: make(chan string, 4), lcEntered: make(chan struct{}, 1), lcRelease: make(chan struct{})}
		backend := httptest.NewServer(http.HandlerFunc(f.backend))
		mi := httptest.NewServer(http.HandlerFunc(f.msi))
		f.gw, fixErr = Start(context.Background(), &Options{
			Manifest:    elementsManifest(),
			NamedValues: map[string]string{"greeting": "hello", "backend-host": "backend.test", "csv": "a,b,c"},
			HostMap:     map[string]string{"backend.test": backend.URL, "alt.test": backend.URL},
			MSIEndpoint: mi.URL + "/msi/token",
			MSIHeader:   "msi-secret",
		})
		fix = f
	})
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fix
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fix != nil {
		close(fix.release)
		if fix.gw != nil {
			fix.gw.Close()
		}
	}
	os.Exit(code)
}

// backend echoes the request as JSON; /svc/sse streams; /svc/slow blocks.
func (f *fixture) backend(w http.ResponseWriter, r *http.Request) {
	f.hits.Add(1)
	switch {
	case strings.HasSuffix(r.URL.Path, "/sse"):
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-f.gate(&f.sseNext):
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "data: two\n\n")
		return
	case strings.HasSuffix(r.URL.Path, "/one-way-hit"):
		f.oneWay <- r.Method + " " + r.Header.Get("X-Marker")
		return
	case strings.HasSuffix(r.URL.Path, "/svc/lc"):
		f.lcEntered <- struct{}{}
		select {
		case <-f.gate(&f.lcRelease):
		case <-r.Context().Done():
		}
		fmt.Fprint(w, "lc done")
		return
	case strings.HasSuffix(r.URL.Path, "/slow"):
		select {
		case <-f.release:
		case <-r.Context().Done():
		}
		return
	}
	body, _ := io.ReadAll(r.Body)
	hdr := map[string]string{}
	for k, v := range r.Header {
		hdr[k] = strings.Join(v, ",")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", scope="a b"`)
	w.Header().Add("Set-Cookie", "a=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/")
	w.Header().Add("Set-Cookie", "b=2")
	json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery, "headers": hdr, "body": string(body)})
}

func (f *fixture) msi(w http.ResponseWriter, r *http.Request) {
	f.miCalls.Add(1)
	q := r.URL.Query()
	if r.Header.Get("X-IDENTITY-HEADER") != "msi-secret" || q.Get("api-version") != "2019-08-01" || q.Get("resource") == "" {
		http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"access_token": "mi-token:" + q.Get("resource") + clientSuffix(q.Get("client_id")), "expires_on": "4102444800", "resource": q.Get("resource"), "token_type": "Bearer"})
}

func clientSuffix(id string) string {
	if id == "" {
		return ""
	}
	return "#" + id
}

var keySeq atomic.Int64

// uniqueKey gives each test run its own rate-limit/quota counter in the shared emulator.
func uniqueKey(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, keySeq.Add(1))
}

type result struct {
	status int
	header http.Header
	body   string
}

func (f *fixture) do(t *testing.T, method, path string, header map[string][]string, body string) result {
	t.Helper()
	req, err := http.NewRequest(method, f.gw.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{resp.StatusCode, resp.Header, string(b)}
}

type echo struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   string            `json:"query"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

func decodeEcho(t *testing.T, r result) echo {
	t.Helper()
	var e echo
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("status %d, body %q: %v", r.status, r.body, err)
	}
	return e
}

func TestBaseComposesGlobalAPIOperation(t *testing.T) {
	f := startFixture(t)
	r := f.do(t, "GET", "/fx/base", nil, "")
	e := decodeEcho(t, r)
	if got := e.Headers["X-Order"]; got != "op-before,global,api,op-after" {
		t.Errorf("X-Order at the backend = %q, want op-before,global,api,op-after", got)
	}
	if e.Path != "/svc/base" {
		t.Errorf("backend path = %q, want /svc/base (serviceUrl path + operation path)", e.Path)
	}
	if r.header.Get("X-Global-Outbound") != "ran" {
		t.Errorf("global outbound did not run through <base/>")
	}
}

func TestChoose(t *testing.T) {
	f := startFixture(t)
	for q, want := range map[string]string{"?x=a": "A", "?x=b": "B", "?x=c": "other", "": "other"} {
		if r := f.do(t, "GET", "/fx/choose"+q, nil, ""); r.body != want {
			t.Errorf("choose%s = %q, want %q", q, r.body, want)
		}
	}
}

func TestSetVariableKeepsDotNetTypes(t *testing.T) {
	f := startFixture(t)
	if r := f.do(t, "GET", "/fx/variables", nil, ""); r.body != "True|True|True|43|True|dflt" {
		t.Errorf("body = %q", r.body)
	}
}

// set-variable accepts only the types its reference lists; a List<int> is a run-time error.
func TestSetVariableRefusesOtherTypes(t *testing.T) {
	f := startFixture(t)
	r := f.do(t, "GET", "/fx/bad-variable", nil, "")
	if r.status != 500 || !strings.Contains(r.body, "cannot hold a System.Collections.Generic.List") {
		t.Errorf("got %d %q", r.status, r.body)
	}
}

func TestSetHeaderExistsActionsAndMultiValues(t *testing.T) {
	f := startFixture(t)
	r := f.do(t, "GET", "/fx/headers", map[string][]string{
		"X-Override": {"old"}, "X-Skip": {"old"}, "X-Append": {"one"}, "X-Delete": {"gone"}, "X-Dup": {"1", "2"},
	}, "")
	e := decodeEcho(t, r)
	want := map[string]string{"X-Override": "new", "X-Skip": "old", "X-Skip-Absent": "new", "X-Append": "one,two", "X-Joined": "one,two", "X-Dup-Count": "2"}
	for k, v := range want {
		if e.Headers[k] != v {
			t.Errorf("backend saw %s = %q, want %q", k, e.Headers[k], v)
		}
	}
	if _, ok := e.Headers["X-Delete"]; ok {
		t.Errorf("X-Delete reached the backend")
	}
	if got := r.header.Values("X-Multi"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("response X-Multi = %q, want two header lines a, b", got)
	}
	if got := r.header.Values("WWW-Authenticate"); len(got) != 1 || got[0] != `Bearer error="invalid_token", scope="a b"` {
		t.Errorf("backend WWW-Authenticate not passed through whole: %q", got)
	}
	if got := r.header.Values("Set-Cookie"); len(got) != 2 || got[0] != "a=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/" || got[1] != "b=2" {
		t.Errorf("backend Set-Cookie lines not passed through: %q", got)
	}
}

func TestSetQueryParameter(t *testing.T) {
	f := startFixture(t)
	e := decodeEcho(t, f.do(t, "GET", "/fx/query?q=old&del=x&keep=1", nil, ""))
	for _, want := range []string{"q=new", "add=1", "add=2", "keep=1"} {
		if !strings.Contains(e.Query, want) {
			t.Errorf("backend query %q lacks %s", e.Query, want)
		}
	}
	if strings.Contains(e.Query, "del=") || strings.Contains(e.Query, "q=old") {
		t.Errorf("backend query %q still has deleted/overridden parameters", e.Query)
	}
}

func TestBodyAsConsumesUnlessPreserved(t *testing.T) {
	f := startFixture(t)
	r := f.do(t, "POST", "/fx/body", map[string][]string{"Content-Type": {"application/json"}}, `{"a":"x"}`)
	if r.body != `{"a":"x"}|x||` {
		t.Errorf("body = %q, want the preserved read, the JObject read, then empty (consumed)", r.body)
	}
}

// A chunked request body (unknown length) arrives whole.
func TestChunkedRequestBody(t *testing.T) {
	f := startFixture(t)
	req, _ := http.NewRequest("POST", f.gw.URL()+"/fx/body", io.MultiReader(strings.NewReader(`{"a":`), strings.NewReader(`"chunked"}`)))
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != `{"a":"chunked"}|chunked||` {
		t.Errorf("got %d %q", resp.StatusCode, b)
	}
}

func TestSetBodyRewritesRequest(t *testing.T) {
	f := startFixture(t)
	e := decodeEcho(t, f.do(t, "POST", "/fx/body-forward", map[string][]string{"Content-Type": {"application/json"}}, `{"a":1}`))
	if e.Body != `{"a":1,"added":true}` {
		t.Errorf("backend body = %q", e.Body)
	}
}

func TestSetMethodAndSetStatus(t *testing.T) {
	f := startFixture(t)
	r := f.do(t, "GET", "/fx/method", nil, "")
	if e := decodeEcho(t, r); e.Method != "POST" {
		t.Errorf("backend method = %q, want POST", e.Method)
	}
	if r.status != 201 {
		t.Errorf("status = %d, want 201 from outbound set-status", r.status)
	}
}

func TestReturnResponseSkipsBackendAndOutbound(t *testing.T) {
	f := startFixture(t)
	before := f.hits.Load()
	r := f.do(t, "GET", "/fx/return", nil, "")
	if r.status != 418 || r.body != "short and stout" || r.header.Get("X-Returned") != "yes" {
		t.Errorf("got %d %q %v", r.status, r.body, r.header)
	}
	if r.header.Get("X-Global-Outbound") != "" {
		t.Errorf("outbound ran after return-response in inbound")
	}
	if f.hits.Load() != before {
		t.Errorf("the backend was called")
	}
}

func TestRewriteURI(t *testing.T) {
	f := startFixture(t)
	e := decodeEcho(t, f.do(t, "GET", "/fx/users/42?keep=1", nil, ""))
	if e.Path != "/svc/v2/people/42" || !strings.Contains(e.Query, "src=apim") || !strings.Contains(e.Query, "keep=1") {
		t.Errorf("backend saw %s?%s", e.Path, e.Query)
	}
}

func TestSetBackendService(t *testing.T) {
	f := startFixture(t)
	if e := decodeEcho(t, f.do(t, "GET", "/fx/other", nil, "")); e.Path != "/base/other" {
		t.Errorf("backend-id: backend path = %q, want /base/other", e.Path)
	}
	if e := decodeEcho(t, f.do(t, "GET", "/fx/elsewhere", nil, "")); e.Path != "/moved/elsewhere" {
		t.Errorf("base-url: backend path = %q, want /moved/elsewhere", e.Path)
	}
}

// The first SSE event must reach the client while the backend is still holding the second.
func TestForwardRequestStreams(t *testing.T) {
	f := startFixture(t)
	next := f.newGate(&f.sseNext)
	resp, err := http.Get(f.gw.URL() + "/fx/sse")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64)
	n, err := io.ReadAtLeast(resp.Body, buf, len("data: one\n\n"))
	if err != nil || !strings.HasPrefix(string(buf[:n]), "data: one") {
		t.Fatalf("first event: %q, %v", buf[:n], err)
	}
	close(next)
	rest, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(rest), "data: two") {
		t.Errorf("second event missing: %q", rest)
	}
}

func TestForwardRequestTimeoutReachesOnError(t *testing.T) {
	f := startFixture(t)
	r := f.do(t, "GET", "/fx/slow", nil, "")
	if r.status != 504 || r.body != "forward-request|Timeout|backend" {
		t.Errorf("got %d %q", r.status, r.body)
	}
}

func TestSendRequestWithManagedIdentity(t *testing.T) {
	f := startFixture(t)
	r := f.do(t, "GET", "/fx/send", nil, "")
	var got map[string]any
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatalf("%d %q", r.status, r.body)
	}
	if got["status"] != float64(200) || got["method"] != "POST" || got["query"] != "from=send" || got["body"] != `{"ping":1}` ||
		got["auth"] != "Bearer mi-token:api://AzureADTokenExchange" {
		t.Errorf("send-request result: %v", got)
	}
	if r := f.do(t, "GET", "/fx/send-fail", nil, ""); r.body != "null-ok" {
		t.Errorf("ignore-error: %q", r.body)
	}
}

func TestSendRequestCopyAndReturnResponseFromVariable(t *testing.T) {
	f := startFixture(t)
	r := f.do(t, "POST", "/fx/send-copy?q=1", map[string][]string{"X-Original": {"o"}, "Content-Type": {"text/plain"}}, "payload")
	e := decodeEcho(t, r)
	if e.Method != "POST" || e.Path != "/copied" || e.Headers["X-Original"] != "o" || e.Body != "payload" {
		t.Errorf("copied request: %+v", e)
	}
	if r.header.Get("X-From-Variable") != "yes" || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("return-response from the variable: %v", r.header)
	}
}

func TestForwardWithoutServiceURLFails(t *testing.T) {
	f := startFixture(t)
	before := f.hits.Load()
	if r := f.do(t, "GET", "/nb/x", nil, ""); r.status != 500 || f.hits.Load() != before {
		t.Errorf("got %d %q", r.status, r.body)
	}
}

// A host that is neither loopback nor mapped is never contacted.
func TestUnmappedExternalHostIsRefused(t *testing.T) {
	f := startFixture(t)
	r := f.do(t, "GET", "/fx/external", nil, "")
	if r.status != 502 || !strings.HasPrefix(r.body, "send-request|") || !strings.Contains(r.body, "example.com is not mapped to a local stand-in") {
		t.Errorf("got %d %q", r.status, r.body)
	}
}

func TestStartRefusesNonLoopbackAddr(t *testing.T) {
	if _, err := Start(context.Background(), &Options{Addr: "0.0.0.0:0"}); err == nil || !strings.Contains(err.Error(), "must be a loopback") {
		t.Errorf("Start: %v", err)
	}
}

func TestAuthenticationManagedIdentity(t *testing.T) {
	f := startFixture(t)
	e := decodeEcho(t, f.do(t, "GET", "/fx/mi", nil, ""))
	if e.Headers["Authorization"] != "Bearer mi-token:https://func.test" || e.Headers["X-Token-Var"] != "mi-token:api://other#11111111-2222-3333-4444-555555555555" {
		t.Errorf("Authorization=%q X-Token-Var=%q", e.Headers["Authorization"], e.Headers["X-Token-Var"])
	}
}

func TestCacheValues(t *testing.T) {
	f := startFixture(t)
	steps := []struct{ path, want string }{
		{"/fx/cache/lookup?k=a", "none"},
		{"/fx/cache/store?k=a&v=7", "int:7"},
		{"/fx/cache/lookup?k=a", "int:7"},
		{"/fx/cache/lookup?k=b", "none"},
		{"/fx/cache/remove?k=a", "none"},
		{"/fx/cache/lookup?k=a", "none"},
	}
	for _, s := range steps {
		if r := f.do(t, "GET", s.path, nil, ""); r.body != s.want {
			t.Errorf("%s = %q, want %q", s.path, r.body, s.want)
		}
	}
}

func TestRateLimitByKey(t *testing.T) {
	f := startFixture(t)
	h := map[string][]string{"X-Client": {uniqueKey("rl")}}
	for i := 0; i < 2; i++ {
		if r := f.do(t, "GET", "/fx/limited", h, ""); r.status != 200 {
			t.Fatalf("call %d: %d", i+1, r.status)
		}
	}
	r := f.do(t, "GET", "/fx/limited", h, "")
	if r.status != 429 {
		t.Fatalf("third call: %d, want 429", r.status)
	}
	var secs int
	if _, err := fmt.Sscan(r.header.Get("Retry-After"), &secs); err != nil || secs < 1 || secs > 60 {
		t.Errorf("Retry-After = %q, want 1..60", r.header.Get("Retry-After"))
	}
	if r.header.Get("X-Error-Source") != "rate-limit-by-key/RateLimitExceeded" {
		t.Errorf("on-error did not see LastError: %q", r.header.Get("X-Error-Source"))
	}
	if r.header.Get("X-Retry-Variable") != r.header.Get("Retry-After") {
		t.Errorf("retry-after-variable-name holds %q, the header %q", r.header.Get("X-Retry-Variable"), r.header.Get("Retry-After"))
	}
	if r := f.do(t, "GET", "/fx/limited", map[string][]string{"X-Client": {uniqueKey("other")}}, ""); r.status != 200 {
		t.Errorf("another key was limited: %d", r.status)
	}
}

// TestRateLimitWithoutRetryAfterHeader: with OmitRetryAfterHeader the 429 reaches on-error
// without the header, and the retry-after-variable-name variable still holds the wait; the
// gateway's policies build their Retry-After from that variable (fragments/api-error.xml).
func TestRateLimitWithoutRetryAfterHeader(t *testing.T) {
	testdeps.Tool(t, "mcs")
	testdeps.Tool(t, "mono")
	gw, err := Start(context.Background(), &Options{Manifest: elementsManifest(), OmitRetryAfterHeader: true, Stderr: io.Discard,
		NamedValues: map[string]string{"greeting": "hello", "backend-host": "backend.test", "csv": "a,b,c"}})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	var resp *http.Response
	for range 3 {
		if resp, err = http.Get(gw.URL() + "/fx/limited"); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	var secs int
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "" {
		t.Fatalf("third call: %d, Retry-After %q; want 429 without the header", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if _, err := fmt.Sscan(resp.Header.Get("X-Retry-Variable"), &secs); err != nil || secs < 1 || secs > 60 {
		t.Errorf("retry-after-variable-name holds %q, want 1..60", resp.Header.Get("X-Retry-Variable"))
	}
}

// With increment-condition, only requests whose final response satisfies it are counted.
func TestRateLimitByKeyIncrementCondition(t *testing.T) {
	f := startFixture(t)
	h := map[string][]string{"X-Client": {uniqueKey("cond")}}
	for i := 0; i < 3; i++ {
		if r := f.do(t, "GET", "/fx/limited-cond?s=500", h, ""); r.status != 500 {
			t.Fatalf("uncounted call %d: %d", i+1, r.status)
		}
	}
	if r := f.do(t, "GET", "/fx/limited-cond?s=200", h, ""); r.status != 200 {
		t.Fatalf("first counted call: %d", r.status)
	}
	if r := f.do(t, "GET", "/fx/limited-cond?s=200", h, ""); r.status != 429 {
		t.Errorf("second counted call: %d, want 429", r.status)
	}
}

func TestRetry(t *testing.T) {
	f := startFixture(t)
	// n: retried until the condition turns false (1 run + 2 retries); m: condition always true, count 2 (1 + 2).
	if r := f.do(t, "GET", "/fx/retry", nil, ""); r.body != "3,3" {
		t.Errorf("got %d %q, want 3,3", r.status, r.body)
	}
}

func TestQuotaByKey(t *testing.T) {
	f := startFixture(t)
	h := map[string][]string{"X-Client": {uniqueKey("quota")}}
	for i := 0; i < 2; i++ {
		if r := f.do(t, "GET", "/fx/quota", h, ""); r.status != 200 {
			t.Fatalf("call %d: %d", i+1, r.status)
		}
	}
	r := f.do(t, "GET", "/fx/quota", h, "")
	if r.status != 403 || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "Out of call volume quota") {
		t.Errorf("third call: %d %v %q", r.status, r.header, r.body)
	}
}

func TestSendOneWayRequest(t *testing.T) {
	f := startFixture(t)
	if r := f.do(t, "GET", "/fx/one-way", map[string][]string{"X-Marker": {"m1"}}, ""); r.body != "sent" {
		t.Fatalf("got %d %q", r.status, r.body)
	}
	select {
	case got := <-f.oneWay:
		if got != "POST m1" {
			t.Errorf("backend saw %q", got)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the one-way request never reached the backend")
	}
}

// While one request holds the only slot, the next one is refused with 429.
func TestLimitConcurrency(t *testing.T) {
	f := startFixture(t)
	release := f.newGate(&f.lcRelease)
	first := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("GET", f.gw.URL()+"/fx/lc", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			first <- result{status: -1, body: err.Error()}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		first <- result{status: resp.StatusCode, body: string(b)}
	}()
	select {
	case <-f.lcEntered:
	case <-time.After(30 * time.Second):
		t.Fatal("the first request never reached the backend")
	}
	if r := f.do(t, "GET", "/fx/lc", nil, ""); r.status != 429 {
		t.Errorf("second concurrent request: %d, want 429", r.status)
	}
	close(release)
	if r := <-first; r.status != 200 || r.body != "lc done" {
		t.Errorf("first request: %d %q", r.status, r.body)
	}
}

func TestCors(t *testing.T) {
	f := startFixture(t)
	pre := f.do(t, "OPTIONS", "/fx/cors", map[string][]string{"Origin": {"https://app.test"}, "Access-Control-Request-Method": {"GET"}, "Access-Control-Request-Headers": {"authorization"}}, "")
	if pre.status != 200 || pre.header.Get("Access-Control-Allow-Origin") != "https://app.test" || pre.header.Get("Access-Control-Allow-Credentials") != "true" ||
		pre.header.Get("Access-Control-Allow-Headers") != "authorization" || pre.header.Get("Access-Control-Max-Age") != "300" {
		t.Errorf("preflight: %d %v", pre.status, pre.header)
	}
	bad := f.do(t, "OPTIONS", "/fx/cors", map[string][]string{"Origin": {"https://evil.test"}, "Access-Control-Request-Method": {"GET"}}, "")
	if bad.status != 200 || bad.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("unmatched preflight: %d %v", bad.status, bad.header)
	}
	simple := f.do(t, "GET", "/fx/cors", map[string][]string{"Origin": {"https://app.test"}}, "")
	if simple.header.Get("Access-Control-Allow-Origin") != "https://app.test" || simple.header.Get("Access-Control-Expose-Headers") != "WWW-Authenticate" {
		t.Errorf("simple request: %v", simple.header)
	}
	before := f.hits.Load()
	if r := f.do(t, "GET", "/fx/cors", map[string][]string{"Origin": {"https://evil.test"}}, ""); r.status != 200 || r.body != "" || f.hits.Load() != before {
		t.Errorf("unmatched GET was not terminated: %d %q", r.status, r.body)
	}
}

func TestCheckHeader(t *testing.T) {
	f := startFixture(t)
	r := f.do(t, "GET", "/fx/checked", nil, "")
	if r.status != 401 || !strings.Contains(r.body, `"message":"X-Required must be yes"`) {
		t.Errorf("missing header: %d %q", r.status, r.body)
	}
	if r := f.do(t, "GET", "/fx/checked", map[string][]string{"X-Required": {"no"}}, ""); r.status != 401 {
		t.Errorf("wrong value: %d", r.status)
	}
	if r := f.do(t, "GET", "/fx/checked", map[string][]string{"X-Required": {"yes"}}, ""); r.status != 200 || r.body != "passed" {
		t.Errorf("ignore-case match: %d %q", r.status, r.body)
	}
}

func TestIncludeFragmentWithNamedValues(t *testing.T) {
	f := startFixture(t)
	r := f.do(t, "GET", "/fx/fragment", nil, "")
	if r.body != "hello, fragment" || r.header.Get("X-Fragment") != "hello" {
		t.Errorf("got %q, X-Fragment %q", r.body, r.header.Get("X-Fragment"))
	}
}

func TestTraceMetricAndEventHubAreRecorded(t *testing.T) {
	f := startFixture(t)
	if r := f.do(t, "GET", "/fx/trace", map[string][]string{"X-Client": {"c1"}}, ""); r.body != "traced" {
		t.Fatalf("%d %q", r.status, r.body)
	}
	events, err := f.gw.Events()
	if err != nil {
		t.Fatal(err)
	}
	var trace, metric, hub bool
	for _, e := range events {
		switch {
		case e.Type == "trace" && e.Source == "fixtures" && e.Severity == "information" && e.Message == "traced trace" && e.Fields["client"] == "c1":
			trace = true
		case e.Type == "metric" && e.Source == "fixture-calls" && e.Message == "1" && e.Fields["op"] == "trace":
			metric = true
		case e.Type == "eventhub" && e.Source == "hub" && e.Message == "event for trace":
			hub = true
		}
	}
	if !trace || !metric || !hub {
		t.Errorf("trace=%v metric=%v eventhub=%v in %+v", trace, metric, hub, events)
	}
}

func TestOnErrorSeesLastError(t *testing.T) {
	f := startFixture(t)
	r := f.do(t, "GET", "/fx/error", nil, "")
	if r.status != 400 || r.body != "set-variable|ExpressionValueEvaluationFailure|inbound|operation|set-variable" {
		t.Errorf("got %d %q", r.status, r.body)
	}
}

func TestUnhandledErrorIs500(t *testing.T) {
	f := startFixture(t)
	r := f.do(t, "GET", "/fx/unhandled", nil, "")
	if r.status != 500 || !strings.Contains(r.body, `"statusCode":500`) || r.header.Get("X-In-On-Error") != "yes" {
		t.Errorf("got %d %q %v", r.status, r.body, r.header)
	}
}

func TestRoutingAndContext(t *testing.T) {
	f := startFixture(t)
	r := f.do(t, "GET", "/fx/context/a%20b", nil, "")
	var got map[string]string
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatalf("%d %q", r.status, r.body)
	}
	want := map[string]string{"id": "a b", "originalPath": "/fx/context/a%20b", "backendUrl": "http://backend.test/svc/context/a%20b",
		"operation": "context", "template": "/context/{id}", "api": "fx", "ip": "127.0.0.1", "method": "GET"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if !strings.HasPrefix(f.gw.URL(), "http://"+got["originalHost"]) {
		t.Errorf("originalHost %q is not the front listener %s", got["originalHost"], f.gw.URL())
	}
	for _, p := range []string{"/nope", "/fx/nope", "/fx/context/a/b"} {
		if r := f.do(t, "GET", p, nil, ""); r.status != 404 {
			t.Errorf("%s: %d, want 404", p, r.status)
		}
	}
	if r := f.do(t, "POST", "/fx/base", nil, ""); r.status != 404 {
		t.Errorf("wrong method: %d, want 404", r.status)
	}
}

func TestExtensionMethods(t *testing.T) {
	f := startFixture(t)
	// header.payload.signature with {"sub":"u1","aud":["a1","a2"],"roles":["r1","r2"]}; the signature is not checked.
	jwt := "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSIsImF1ZCI6WyJhMSIsImEyIl0sInJvbGVzIjpbInIxIiwicjIiXX0.c2ln"
	r := f.do(t, "GET", "/fx/jwt", map[string][]string{"Authorization": {"Bearer " + jwt}, "X-Basic": {"Basic dXNlcjpwYXNz"}}, "")
	if r.body != "u1|a1,a2|r1,r2|user:pass|secret text" {
		t.Errorf("got %d %q", r.status, r.body)
	}
}

// APIM substitutes {{csv}} as text before compiling; the toolchain compiles most references as
// run-time lookups instead, and each expression below must give what the pasted code gives in APIM:
// "a,b,c".Split(',') has 3 parts, not "" + value + "".Split(','). The two set-variables differ only
// in whitespace inside a string literal and must stay two expressions; a &#10; in an attribute
// expression is a newline, as .NET's XML reader (and APIM) reads it.
func TestNamedValuesKeepTextSubstitutionSemantics(t *testing.T) {
	f := startFixture(t)
	const pasted = `3|5|A,B,C|a;b;c|a|5|a,b,c!|4|3|3`
	for q, want := range map[string]string{"?v=a,b,c": pasted + "|case", "?v=x": pasted + "|default"} {
		if r := f.do(t, "GET", "/fx/namedvalues"+q, nil, ""); r.status != 200 || r.body != want {
			t.Errorf("namedvalues%s: %d %q, want %q", q, r.status, r.body, want)
		}
	}
}

// An element the emulator does not implement stops it at load time, naming file and line.
func TestUnknownElementFailsLoudly(t *testing.T) {
	testdeps.Tool(t, "mono")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "gateway.json"), []byte(`{"namedValues":[],"backends":[],"globalPolicy":"","fragments":[],
 "apis":[{"name":"a","path":"a","serviceUrl":"http://127.0.0.1:1","policy":"","subscriptionRequired":false}],
 "operations":[{"api":"a","name":"op","method":"GET","urlTemplate":"/x","policy":"op.xml"}]}`), 0o644)
	os.WriteFile(filepath.Join(dir, "op.xml"), []byte("<policies>\n<inbound>\n<base />\n<validate-jwt header-name=\"Authorization\" />\n</inbound>\n</policies>\n"), 0o644)
	// The checker refuses it first...
	if _, err := Start(context.Background(), &Options{Manifest: filepath.Join(dir, "gateway.json")}); err == nil || !strings.Contains(err.Error(), "op.xml:4: unknown policy element <validate-jwt>") {
		t.Fatalf("Start: %v", err)
	}
	// ...and the emulator itself refuses it too, should the checker ever know more elements than it implements.
	exe, err := (toolchain.Tools{}).BuildEmulator(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.json")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`{"listen":"http://127.0.0.1:1/","manifest":%q}`, filepath.Join(dir, "gateway.json"))), 0o644)
	out, err := exec.Command("mono", exe, cfg).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 4 || !strings.Contains(string(out), "op.xml:4: <validate-jwt> is not implemented by the emulator") {
		t.Errorf("exit %v, output %q", err, out)
	}
}

// APIM substitutes named values before it looks for expressions, so a named value holding
// @(...) is evaluated there; the emulator does not evaluate it and must refuse rather than serve
// the expression as text.
func TestNamedValueHoldingAnExpressionIsRefused(t *testing.T) {
	testdeps.Tool(t, "mcs")
	testdeps.Tool(t, "mono")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "gateway.json"), []byte(`{"namedValues":[{"name":"nv","secret":false,"description":"d"}],"backends":[],"globalPolicy":"","fragments":[],
 "apis":[{"name":"a","displayName":"A","path":"a","backendId":"","serviceUrl":"http://127.0.0.1:1","policy":"","subscriptionRequired":false,"protocols":["https"]}],
 "operations":[{"api":"a","name":"op","displayName":"Op","method":"GET","urlTemplate":"/x","templateParameters":[],"policy":"op.xml"}]}`), 0o644)
	os.WriteFile(filepath.Join(dir, "op.xml"), []byte("<policies>\n<inbound>\n<base />\n<return-response><set-body>{{nv}}</set-body></return-response>\n</inbound>\n"+
		"<backend><base /></backend>\n<outbound><base /></outbound>\n<on-error><base /></on-error>\n</policies>\n"), 0o644)
	gw, err := Start(context.Background(), &Options{Manifest: filepath.Join(dir, "gateway.json"), NamedValues: map[string]string{"nv": " @(context.Request.Method)"}, Stderr: io.Discard})
	if err == nil {
		gw.Close()
		t.Fatal("Start succeeded; want a refusal naming op.xml:4")
	}
	if !strings.Contains(err.Error(), "op.xml:4: a named value in text of <set-body> holds a policy expression") {
		t.Errorf("Start: %v", err)
	}
	// A plain value in the same place is served as text.
	gw, err = Start(context.Background(), &Options{Manifest: filepath.Join(dir, "gateway.json"), NamedValues: map[string]string{"nv": "mail@(example)"}})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	resp, err := http.Get(gw.URL() + "/a/x")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "mail@(example)" {
		t.Errorf("body %q, want the named value's text", b)
	}
}

// With a devstack CA the front listener serves HTTPS (context.Request.OriginalUrl.Scheme is
// https, as behind APIM), and the emulator reaches HTTPS stand-ins on loopback.
func TestTLSFrontAndBackend(t *testing.T) {
	testdeps.Tool(t, "mcs")
	testdeps.Tool(t, "mono")
	ca, err := localca.New()
	if err != nil {
		t.Fatal(err)
	}
	serverTLS, err := ca.ServerTLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{sseNext: make(chan struct{}), release: make(chan struct{})}
	defer close(f.release)
	backend := httptest.NewUnstartedServer(http.HandlerFunc(f.backend))
	backendTLS, _ := ca.ServerTLSConfig()
	backendTLS.NextProtos = []string{"http/1.1"}
	backend.TLS = backendTLS
	backend.StartTLS()
	defer backend.Close()
	gw, err := Start(context.Background(), &Options{
		Manifest:    elementsManifest(),
		NamedValues: map[string]string{"greeting": "hello", "backend-host": "backend.test", "csv": "a,b,c"},
		HostMap:     map[string]string{"backend.test": backend.URL},
		TLS:         serverTLS,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	client := ca.HTTPClient()

	resp, err := client.Get(gw.URL() + "/fx/context/x")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if got["scheme"] != "https" {
		t.Errorf("OriginalUrl.Scheme = %q, want https", got["scheme"])
	}

	resp, err = client.Get(gw.URL() + "/fx/base")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var e echo
	if err := json.Unmarshal(b, &e); err != nil || e.Path != "/svc/base" {
		t.Errorf("forward to the HTTPS backend: %d %q", resp.StatusCode, b)
	}
}
