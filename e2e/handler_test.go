package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"example.com/graphmcp/devstack/entra"
	"example.com/graphmcp/internal/funchost"
	"example.com/graphmcp/internal/handlerproc"
)

const (
	adele = "adele@contoso.test" // has consented to every Graph scope the tools use
	alex  = "alex@contoso.test"  // has consented to nothing
)

// headerTransport adds fixed headers (bearer token, function key) to every request, as a
// client configured with a static token would.
type headerTransport struct {
	base   http.RoundTripper
	header http.Header
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h.header {
		r.Header[k] = v
	}
	return h.base.RoundTrip(r)
}

// connect opens a go-sdk client session to url with the token and the function key.
func connect(t *testing.T, url, token, functionKey string) *mcp.ClientSession {
	t.Helper()
	hdr := http.Header{}
	if token != "" {
		hdr.Set("Authorization", "Bearer "+token)
	}
	if functionKey != "" {
		hdr.Set("x-functions-key", functionKey)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "graphmcp-e2e", Version: "0.0.1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:   url,
		HTTPClient: &http.Client{Transport: headerTransport{http.DefaultTransport, hdr}},
		MaxRetries: -1,
	}, nil)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func toolNames(tools []*mcp.Tool) []string {
	var names []string
	for _, tl := range tools {
		names = append(names, tl.Name)
	}
	return names
}

func resultText(r *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	if r.StructuredContent != nil {
		j, _ := json.Marshal(r.StructuredContent)
		b.Write(j)
	}
	return b.String()
}

// TestGoSDKClientThroughFunctionsHost: the go-sdk client, through the host stand-in (public
// Host kept, invocation id added), lists the tools and gets the user's profile from the
// Graph stand-in via OBO.
func TestGoSDKClientThroughFunctionsHost(t *testing.T) {
	s := getStack(t)
	ctx := context.Background()
	before := len(s.host.Invocations())
	// No app role: Adele's Tools.Mail is taken away for this token.
	cs := connect(t, s.mcpURL(), s.token(t, adele, &entra.TokenOptions{Roles: []string{}}), s.functionKey)

	list, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	names := toolNames(list.Tools)
	if !slices.Contains(names, "get_graph_user_details") {
		t.Fatalf("tools/list = %v, want get_graph_user_details", names)
	}
	if slices.Contains(names, "list_recent_mail") {
		t.Errorf("tools/list shows list_recent_mail to a caller without the Tools.Mail role: %v", names)
	}

	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_graph_user_details", Arguments: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	text := resultText(res)
	if res.IsError || !strings.Contains(text, "Adele Vance") || !strings.Contains(text, adele) {
		t.Fatalf("get_graph_user_details: isError=%v, text %q; want Adele's profile from the Graph stand-in", res.IsError, text)
	}

	// Every MCP request went through the host stand-in, reached the handler with an invocation
	// id, and the handler used that id in its logs.
	inv := s.host.Invocations()[before:]
	if len(inv) == 0 {
		t.Fatal("no invocation recorded by the host stand-in")
	}
	for _, in := range inv {
		if in.Function != "mcp" || in.ID == "" {
			t.Errorf("invocation %+v: not forwarded to the mcp function", in)
		}
	}
	last := inv[len(inv)-1]
	s.handler.WaitRecord(t, func(r handlerproc.Record) bool { return recordMentions(r, last.ID) }, 10*time.Second)
}

// recordMentions reports whether any string attribute of the log record equals v.
func recordMentions(r map[string]any, v string) bool {
	for _, x := range r {
		switch x := x.(type) {
		case string:
			if x == v {
				return true
			}
		case map[string]any:
			if recordMentions(x, v) {
				return true
			}
		}
	}
	return false
}

// TestRolesShapeToolList: a token with the Tools.Mail app role sees list_recent_mail.
func TestRolesShapeToolList(t *testing.T) {
	s := getStack(t)
	cs := connect(t, s.mcpURL(), s.token(t, adele, &entra.TokenOptions{Roles: []string{"Tools.Mail"}}), s.functionKey)
	list, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if names := toolNames(list.Tools); !slices.Contains(names, "list_recent_mail") {
		t.Fatalf("tools/list with role Tools.Mail = %v, want list_recent_mail", names)
	}
}

// TestForeignHostRefused: the handler's own Host check (go-sdk's localhost guard is off so the
// public Host works) refuses a Host that is neither the app's nor loopback.
func TestForeignHostRefused(t *testing.T) {
	s := getStack(t)
	evil, err := funchost.Start(&funchost.Options{Backend: s.handler.URL(), PublicHost: "evil.example.com", FunctionKeys: []string{s.functionKey}})
	if err != nil {
		t.Fatal(err)
	}
	defer evil.Close()
	req, _ := http.NewRequest("POST", evil.URL()+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	req.Header.Set("Authorization", "Bearer "+s.token(t, adele, nil))
	req.Header.Set("x-functions-key", s.functionKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("Host evil.example.com: status %d, want 403", resp.StatusCode)
	}
}

// TestInspectorCLI: the MCP Inspector CLI through the host stand-in.
func TestInspectorCLI(t *testing.T) {
	s := getStack(t)
	tok := s.token(t, adele, nil)
	key := []string{"--header", "x-functions-key: " + s.functionKey}

	var list struct {
		Result mcp.ListToolsResult `json:"result"`
	}
	inspectorJSON(t, s.mcpURL(), tok, &list, append(key, "--method", "tools/list")...)
	if names := toolNames(list.Result.Tools); !slices.Contains(names, "get_graph_user_details") {
		t.Fatalf("Inspector tools/list = %v", names)
	}

	var call struct {
		Result json.RawMessage `json:"result"`
	}
	inspectorJSON(t, s.mcpURL(), tok, &call, append(key, "--method", "tools/call", "--tool-name", "get_graph_user_details")...)
	if !strings.Contains(string(call.Result), "Adele Vance") {
		t.Fatalf("Inspector tools/call result lacks the profile: %s", redact(string(call.Result), tok))
	}

	// Arguments pass through the Inspector's --tool-arg (typed by the tool's input schema).
	var files struct {
		Result struct {
			IsError bool `json:"isError"`
		} `json:"result"`
	}
	inspectorJSON(t, s.mcpURL(), tok, &files, append(key, "--method", "tools/call", "--tool-name", "list_recent_files", "--tool-arg", "top=2")...)
	if files.Result.IsError {
		t.Error("list_recent_files top=2 returned isError")
	}

	r := inspector(t, s.mcpURL(), "", append(key, "--method", "tools/list")...)
	if r.Code != inspectorAuthRequired {
		t.Errorf("no token: exit %d, want %d (auth_required); stderr %s", r.Code, inspectorAuthRequired, redact(r.Stderr, s.functionKey))
	}
}

// TestInspectorConsentMissing: a user who has not consented gets a tool error that says what
// to consent to, without a stack trace or a token.
func TestInspectorConsentMissing(t *testing.T) {
	s := getStack(t)
	tok := s.token(t, alex, nil)
	r := inspector(t, s.mcpURL(), tok, "--header", "x-functions-key: "+s.functionKey,
		"--method", "tools/call", "--tool-name", "get_graph_user_details")
	out := redact(string(r.Stdout)+r.Stderr, tok, s.functionKey)
	if r.Code != inspectorToolError {
		t.Fatalf("exit %d, want %d (tool returned isError); output %s", r.Code, inspectorToolError, out)
	}
	if !strings.Contains(out, "User.Read") || !strings.Contains(strings.ToLower(out), "consent") {
		t.Errorf("the error should name the permission (User.Read) and say to consent: %s", out)
	}
	if strings.Contains(out, "goroutine ") || strings.Contains(out, ".go:") || jwtRE.MatchString(string(r.Stdout)+r.Stderr) {
		t.Errorf("the error leaks internals: %s", out)
	}
}

// Conformance scenarios that apply to a real server without the SDK's "everything server"
// fixtures. Excluded, with the reason:
//   - tools-call-*, resources-read-*, resources-templates-read, resources-(un)subscribe,
//     prompts-get-*, completion-complete, json-schema-2020-12, elicitation-*: they call
//     fixture tools/resources/prompts (test_simple_text, …) that a real server does not have.
//   - server-sse-polling, server-sse-multiple-streams: need sessions and a GET stream; the
//     handler is stateless (GET /mcp → 405), so they check nothing (0 checks, 1 warning).
var conformanceScenarios = []string{
	"server-initialize",
	"ping",
	"tools-list",
	"resources-list",
	"prompts-list",
	"logging-set-level",
}

// TestConformanceSuite: each applicable scenario passes through the host stand-in, the token
// injected by inject-bearer.mjs and the function key in the code parameter.
func TestConformanceSuite(t *testing.T) {
	s := getStack(t)
	tok := s.token(t, adele, nil)
	for _, sc := range conformanceScenarios {
		t.Run(sc, func(t *testing.T) {
			r := conformance(t, s.mcpURLWithCode(), tok, sc)
			if err := conformancePassed(r); err != nil {
				t.Fatalf("scenario %s: %v\n%s\n%s", sc, err,
					redact(string(r.Stdout), tok, s.functionKey), redact(r.Stderr, tok, s.functionKey))
			}
		})
	}
}

// TestConformanceDNSRebinding: the suite's dns-rebinding-protection scenario against the
// handler's own loopback port (the scenario needs a localhost URL and sets Host itself). The
// handler has no unauthenticated mode, so undici-bearer.mjs authenticates the scenario's
// requests: Host evil.example.com must get a 4xx, Host 127.0.0.1:<port> a 2xx.
func TestConformanceDNSRebinding(t *testing.T) {
	s := getStack(t)
	tok := s.token(t, adele, nil)
	r := conformance(t, s.directURL(), tok, "dns-rebinding-protection")
	if err := conformancePassed(r); err != nil {
		t.Fatalf("dns-rebinding-protection: %v\n%s", err, redact(string(r.Stdout), tok))
	}
}

// TestOneOBOPerUserTokenThroughRealClients: several tool calls with one user token, made by the
// go-sdk client through the host stand-in, cause exactly one OBO request at the Entra stand-in
// and at most one managed-identity request (the handler's caches, seen from outside).
func TestOneOBOPerUserTokenThroughRealClients(t *testing.T) {
	s := getStack(t)
	// Each minted token is new (fresh uti), so the handler's OBO cache is cold for it.
	tok := s.token(t, adele, nil)
	oboBefore, miBefore := s.entra.Counts().OBO, s.msi.Count()
	cs := connect(t, s.mcpURL(), tok, s.functionKey)
	const calls = 4
	for i := 0; i < calls; i++ {
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "get_graph_user_details", Arguments: map[string]any{}})
		if err != nil || res.IsError {
			t.Fatalf("call %d: err %v, result %q", i, err, resultText(res))
		}
	}
	if d := s.entra.Counts().OBO - oboBefore; d != 1 {
		t.Errorf("%d tool calls with one user token made %d OBO requests, want 1", calls, d)
	}
	if d := s.msi.Count() - miBefore; d > 1 {
		t.Errorf("%d tool calls made %d managed-identity requests, want at most 1", calls, d)
	}
}

// TestChallengeThroughFunctionsHost: without a token the handler's 401 challenge, naming the
// configured protected-resource metadata, reaches the client through the host stand-in; and
// without a function key the host itself answers 401 before the handler sees anything.
func TestChallengeThroughFunctionsHost(t *testing.T) {
	s := getStack(t)
	post := func(hdr map[string]string) *http.Response {
		req, _ := http.NewRequest("POST", s.mcpURL(), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := post(map[string]string{"x-functions-key": s.functionKey})
	wa := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(wa, "Bearer ") ||
		!strings.Contains(wa, `resource_metadata="`+s.host.URL()+`/.well-known/oauth-protected-resource/mcp"`) {
		t.Errorf("no token: status %d, WWW-Authenticate %q", resp.StatusCode, wa)
	}
	before := len(s.host.Invocations())
	resp = post(map[string]string{"Authorization": "Bearer " + s.token(t, adele, nil)})
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("no function key: status %d, WWW-Authenticate %q; want the host's bare 401", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if inv := s.host.Invocations()[before:]; len(inv) != 1 || inv[0].ID != "" {
		t.Errorf("a request without a function key must not be forwarded: %+v", inv)
	}
}
