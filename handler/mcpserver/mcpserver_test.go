package mcpserver

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"example.com/graphmcp/handler/graphtools"
	"example.com/graphmcp/handler/obo"
	"example.com/graphmcp/handler/tokenverify"
	"example.com/graphmcp/internal/syncbuf"
)

func TestInspect(t *testing.T) {
	cases := map[string][]string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_recent_mail"}}`:                                                                                                         {"list_recent_mail"},
		` [{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"a"}},{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"b"}}]`: {"a", "b"},
		`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`:                          nil,
		`{"jsonrpc":"2.0","id":1,"result":{}}`:                                    nil, // a client's response: nothing to authorize
		`{"jsonrpc":"2.0","id":"a","Method":"tools/call","method":"ping","id":2}`: nil, // keys are case-sensitive, as in the SDK
	}
	for body, want := range cases {
		if _, _, got, err := inspectBody([]byte(body)); err != nil || !slices.Equal(got, want) {
			t.Errorf("inspectBody(%s) = %v, %v, want %v", body, got, err, want)
		}
	}
	for _, body := range []string{`not json`, ``, `[]`, `{"method":"tools/list"}`, `{"jsonrpc":"2.0","id":1,"method":"tools/list"} x`,
		`{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call","params":{"name":"a"}}`, // which one wins depends on the decoder
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"},"params":{"name":"b"}}`,
		`{"jsonrpc":"2.0","id":{},"method":"ping"}`, `{"jsonrpc":"2.0","id":1e999,"method":"ping"}`, `{"jsonrpc":2,"id":1,"method":"ping"}`,
		`{"jsonrpc":"2.0","method":7}`, `{"jsonrpc":"2.0","result":{}}`,
		`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}}`,
	} {
		if _, _, _, err := inspectBody([]byte(body)); err == nil {
			t.Errorf("inspectBody(%s) accepted an unreadable body", body)
		}
	}
}

// FuzzInspect: the tool gate's JSON peek never panics and only lets method-shaped text into logs.
func FuzzInspect(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}`))
	f.Add([]byte(`[{"method":"tools/call","params":{"name":"a"}},{"method":"ping"}]`))
	f.Add([]byte(`{"method":"eyJhbGciOiJSUzI1NiJ9.e30.x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, methods, _, _ := inspectBody(body)
		for _, m := range methods {
			if m != "(invalid)" && !methodShaped(m) {
				t.Fatalf("method %q reached the log unfiltered", m)
			}
		}
	})
}

// The adversarial tests below drive the whole /mcp chain (Host, Origin, bearer, tool gate,
// go-sdk) with a table verifier and fake OBO/Graph, so each refusal is attributed to the
// layer that must produce it.

type tableVerifier map[string]*tokenverify.Identity

func (v tableVerifier) Verify(_ context.Context, raw string) (*tokenverify.Identity, error) {
	if id, ok := v[raw]; ok {
		return id, nil
	}
	return nil, &tokenverify.Error{Kind: tokenverify.ErrInvalidToken, Description: "the access token is invalid"}
}

type countingOBO struct{ n atomic.Int64 }

func (o *countingOBO) Token(_ context.Context, user string, scopes []string) (string, error) {
	o.n.Add(1)
	if user == tokConsent {
		return "", &obo.ConsentRequiredError{Scopes: scopes, Code: "AADSTS65001"}
	}
	return "graph-token", nil
}

type fakeGraph struct{ paths syncbuf.Buffer }

func (g *fakeGraph) Get(_ context.Context, _ string, path string, _ url.Values, out any) error {
	g.paths.Write([]byte(path + "\n"))
	return json.Unmarshal([]byte(`{"value":[{"subject":"s"}],"displayName":"D"}`), out)
}

type edge struct {
	url   string
	h     *Handler
	obo   *countingOBO
	graph *fakeGraph
	tools []graphtools.Tool // default graphtools.Tools()
}

const (
	tokNoRole   = "token-without-role"
	tokMailRole = "token-with-mail-role"
	tokConsent  = "token-of-a-user-without-consent"
)

func newEdge(t *testing.T, hosts []string) *edge {
	t.Helper()
	return newEdgeWith(t, &edge{obo: &countingOBO{}, graph: &fakeGraph{}}, hosts, false)
}

// newEdgeWith serves e's fakes; noFastPath sends every request through go-sdk's handler.
func newEdgeWith(t testing.TB, e *edge, hosts []string, noFastPath bool) *edge {
	t.Helper()
	v := tableVerifier{
		tokNoRole:   {ObjectID: "u1", TenantID: "t", Scopes: []string{"access_as_user"}},
		tokMailRole: {ObjectID: "u2", TenantID: "t", Scopes: []string{"access_as_user"}, Roles: []string{graphtools.MailRole}},
		tokConsent:  {ObjectID: "u3", TenantID: "t", Scopes: []string{"access_as_user"}},
	}
	if e.tools == nil {
		e.tools = graphtools.Tools()
	}
	h, err := New(&Options{Tools: e.tools, Deps: &graphtools.Deps{OBO: e.obo, Graph: e.graph, Logger: slog.New(slog.DiscardHandler),
		ConsentURL: func([]string) string { return "https://gw.example/consent" }},
		Verifier: v, ResourceMetadataURL: "https://gw.example/.well-known/oauth-protected-resource/mcp", Scope: "api://app/access_as_user",
		AllowedHosts: hosts, MaxRequestBodyBytes: 64 << 10, Logger: slog.New(slog.DiscardHandler), noFastPath: noFastPath})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewMux(h, nil, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	e.url, e.h = srv.URL, h
	return e
}

type edgeReply struct {
	status int
	header http.Header
	body   string
}

func (e *edge) post(t testing.TB, token, body string, hdr map[string]string) edgeReply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.url+"/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-03-26") // batches are allowed before 2025-06-18
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return edgeReply{resp.StatusCode, resp.Header, string(b)}
}

const mailCall = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_recent_mail","arguments":{}}}`

// TestToolGateParsesLikeTheSDK: a caller without the mail role must get 403 for every body that
// go-sdk would dispatch as tools/call list_recent_mail, however the JSON is dressed up; and the
// tool must never run. Bodies the gate cannot read are refused before the SDK sees them, so
// the gate and the SDK can never disagree about what is being called.
func TestToolGateParsesLikeTheSDK(t *testing.T) {
	e := newEdge(t, nil)
	cases := []struct {
		name   string
		body   string
		status int
	}{
		{"plain", mailCall, 403},
		{"batch hiding the call", `[{"jsonrpc":"2.0","id":1,"method":"tools/list"},` + mailCall[:len(mailCall)-1] + `,"id":2}]`, 403},
		{"case-variant Method key shadows method for encoding/json",
			`{"jsonrpc":"2.0","id":1,"method":"tools/call","Method":"ping","params":{"name":"list_recent_mail","arguments":{}}}`, 403},
		{"case-variant PARAMS of the wrong type",
			`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_recent_mail","arguments":{}},"PARAMS":5}`, 403},
		{"case-variant Name key", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_recent_mail","Name":"list_recent_files","arguments":{}}}`, 400},
		{"duplicate name key", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_recent_mail","name":"list_recent_files","arguments":{}}}`, 400},
		{"escaped name", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_recent_\u006dail","arguments":{}}}`, 403},
		{"trailing garbage", mailCall + `]`, 400},
		{"invalid UTF-8", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_recent_mail","arguments":{"x":"` + "\xff" + `"}}}`, 400},
		{"deep nesting", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_recent_mail","arguments":{"x":` + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + `}}}`, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post(t, tokNoRole, tc.body, nil)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d (body %.300s)", r.status, tc.status, r.body)
			}
		})
	}
	if n := e.obo.n.Load(); n != 0 {
		t.Fatalf("a refused or malformed call reached OBO %d times", n)
	}
	// The same bodies from a caller holding the role are not refused by the gate.
	if r := e.post(t, tokMailRole, `{"jsonrpc":"2.0","id":1,"method":"tools/call","Method":"ping","params":{"name":"list_recent_mail","arguments":{}}}`, nil); r.status != 200 || !strings.Contains(r.body, `"subject"`) {
		t.Fatalf("role holder: status %d body %.300s", r.status, r.body)
	}
}

// TestHiddenToolsAndMethodCasing: a tool the caller may not see cannot be reached by casing
// tricks; such calls end as JSON-RPC errors and nothing reaches OBO.
func TestHiddenToolsAndMethodCasing(t *testing.T) {
	e := newEdge(t, nil)
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"Tools/call","params":{"name":"list_recent_mail","arguments":{}}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"LIST_RECENT_MAIL","arguments":{}}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_recent_mail ","arguments":{}}}`,
		`{"jsonrpc":"2.0","id":1,"method":"nonexistent/method"}`,
	} {
		r := e.post(t, tokNoRole, body, nil)
		if r.status == 200 && !strings.Contains(r.body, `"error"`) && !strings.Contains(r.body, `"isError":true`) {
			t.Errorf("%s: status %d body %.300s", body, r.status, r.body)
		}
	}
	if n := e.obo.n.Load(); n != 0 {
		t.Fatalf("hidden tool reached OBO %d times", n)
	}
}

// TestToolArguments: out-of-range, wrong-typed and extra arguments never reach Graph.
func TestToolArguments(t *testing.T) {
	e := newEdge(t, nil)
	call := func(args string) string {
		return `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_upcoming_events","arguments":` + args + `}}`
	}
	for _, args := range []string{`{"top":-1}`, `{"top":51}`, `{"top":1e300}`, `{"top":9223372036854775808}`, `{"top":2.5}`,
		`{"top":"5"}`, `{"days":0.5}`, `{"days":32}`, `{"top":null,"days":-2147483648}`, `{"top":5,"filter":"x' or 1 eq 1"}`, `[]`} {
		r := e.post(t, tokNoRole, call(args), nil)
		if r.status != 200 || !(strings.Contains(r.body, `"isError":true`) || strings.Contains(r.body, `"error":{`)) {
			t.Errorf("arguments %s: status %d body %.300s", args, r.status, r.body)
		}
	}
	if p := e.graph.paths.String(); p != "" {
		t.Fatalf("invalid arguments reached Graph: %q", p)
	}
	if r := e.post(t, tokNoRole, call(`{"top":50,"days":31}`), nil); r.status != 200 || strings.Contains(r.body, `"isError":true`) {
		t.Fatalf("valid arguments: status %d body %.300s", r.status, r.body)
	}
}

// TestTransportEdges: sizes, protocol version, media types, methods, Host and Origin tricks.
func TestTransportEdges(t *testing.T) {
	e := newEdge(t, []string{"mcp.example.net"})
	host := map[string]string{"Host": "mcp.example.net"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{"Host": "mcp.example.net"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	list := `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	big := `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"x":"` + strings.Repeat("a", 70<<10) + `"}}}`
	cases := []struct {
		name   string
		token  string
		body   string
		hdr    map[string]string
		status int
	}{
		{"baseline", tokNoRole, list, host, 200},
		{"oversized body", tokNoRole, big, host, 413},
		{"oversized body without a token is 401 first", "", big, host, 401},
		{"unsupported protocol version", tokNoRole, list, with("MCP-Protocol-Version", "1999-01-01"), 400},
		{"notification is 202", tokNoRole, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, host, 202},
		{"huge id", tokNoRole, `{"jsonrpc":"2.0","id":` + strings.Repeat("9", 400) + `,"method":"tools/list"}`, host, 400},
		{"wrong Content-Type", tokNoRole, list, with("Content-Type", "text/plain"), 415},
		{"Accept without JSON", tokNoRole, list, with("Accept", "text/html"), 400},
		{"Host with port", tokNoRole, list, with("Host", "MCP.Example.NET:8443"), 200},
		{"Host with trailing dot", tokNoRole, list, with("Host", "mcp.example.net."), 403},
		{"Host suffix trick", tokNoRole, list, with("Host", "mcp.example.net.evil.example"), 403},
		{"Host userinfo trick", tokNoRole, list, with("Host", "mcp.example.net@evil.example"), 403},
		{"Origin null", tokNoRole, list, with("Origin", "null"), 403},
		{"Origin same host", tokNoRole, list, with("Origin", "https://mcp.example.net"), 200},
		// Browsers send Origin in lower case; an upper-case one is refused (fail closed).
		{"Origin other case", tokNoRole, list, with("Origin", "https://MCP.example.net"), 403},
		{"Origin of another site", tokNoRole, list, with("Origin", "https://mcp.example.net.evil.example"), 403},
		{"Sec-Fetch-Site cross-site", tokNoRole, list, with("Sec-Fetch-Site", "cross-site"), 403},
		{"Sec-Fetch-Site same-site", tokNoRole, list, with("Sec-Fetch-Site", "same-site"), 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post(t, tc.token, tc.body, tc.hdr)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d (body %.300s)", r.status, tc.status, r.body)
			}
		})
	}
}
