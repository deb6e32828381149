package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"example.com/graphmcp/internal/testdeps"
)

// TestGatewayGoSDKClient: the go-sdk client's own OAuth support (auth.NewAuthorizationCodeHandler,
// dynamic client registration, PKCE S256, resource, RFC 9207 iss check) completes the flow
// against the gateway on its first 401, then calls a tool. The user agent plays the browser.
func TestGatewayGoSDKClient(t *testing.T) {
	g := getGatewayStack(t)
	base := g.GatewayURL()
	redirect := "http://127.0.0.1:9/go-sdk/callback"
	fetches := 0
	h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			ClientName: "graphmcp e2e go-sdk client", RedirectURIs: []string{redirect},
			GrantTypes: []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"},
			TokenEndpointAuthMethod: "none",
		}},
		RedirectURL:         redirect,
		RequestRefreshToken: true,
		Client:              g.CA.HTTPClient(),
		AuthorizationCodeFetcher: func(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
			fetches++
			f := newUserAgent(g, base).run(t, args.URL, "approve", nil)
			if f.Redirect == nil {
				return nil, errors.New("authorization did not return to the client: " + f.String())
			}
			q := f.Redirect.Query()
			remember(q.Get("code"))
			return &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "graphmcp-e2e-go-sdk-oauth", Version: "0.0.1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: g.MCPURL(), HTTPClient: g.CA.HTTPClient(), OAuthHandler: h, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("go-sdk client with OAuth: %v", err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_graph_user_details", Arguments: map[string]any{}})
	if err != nil || res.IsError || !strings.Contains(resultText(res), "Adele") {
		t.Fatalf("tools/call: %v %.300s", err, resultText(res))
	}
	if fetches != 1 {
		t.Fatalf("authorization ran %d times, want 1", fetches)
	}
	if ts, _ := h.TokenSource(ctx); ts != nil {
		if tok, err := ts.Token(); err == nil {
			remember(tok.AccessToken, tok.RefreshToken)
		}
	}
}

// nodeScript runs one of the e2e/*.mjs scripts on Node 22 with the local CA trusted and the
// given env, feeding the user agent: every `AUTHORIZE_URL <url>` line on stdout is driven
// through the gateway and the final redirect is written back on stdin. It returns the
// script's `RESULT {...}` lines.
func (g *gatewayStack) nodeScript(t *testing.T, script, base string, env ...string) []map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, testdeps.Node22(t), script)
	cmd.Dir = filepath.Join(testdeps.RepoRoot(t), "e2e")
	cmd.Env = append(testdeps.Node22Env(t), append([]string{"NODE_EXTRA_CA_CERTS=" + g.CAFile(), "HOME=" + t.TempDir()}, env...)...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var results []map[string]any
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "AUTHORIZE_URL "):
			f := newUserAgent(g, base).run(t, strings.TrimPrefix(line, "AUTHORIZE_URL "), "approve", nil)
			if f.Redirect == nil {
				t.Errorf("%s: authorization did not return to the client: %v", script, f)
				stdin.Close()
				continue
			}
			remember(f.Redirect.Query().Get("code"))
			io.WriteString(stdin, f.Redirect.String()+"\n")
		case strings.HasPrefix(line, "RESULT "):
			m := map[string]any{}
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "RESULT ")), &m); err != nil {
				t.Fatalf("%s: bad RESULT line", script)
			}
			results = append(results, m)
		}
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%s: %v\nstderr:\n%s", script, err, redact(stderr.String()))
	}
	return results
}

func resultStep(results []map[string]any, step string) map[string]any {
	for _, r := range results {
		if r["step"] == step {
			return r
		}
	}
	return nil
}

// TestGatewayTypeScriptSDKClient: the TypeScript SDK's OAuthClientProvider flow (DCR, PKCE,
// resource) completes, calls a tool, and after the access token expires (the short gateway
// issues 3-second tokens) the SDK refreshes transparently on the 401 and the call succeeds.
func TestGatewayTypeScriptSDKClient(t *testing.T) {
	g := getGatewayStack(t)
	base := g.short.URL()
	res := g.nodeScript(t, "gateway-ts-client.mjs", base,
		"MCP_URL="+base+"/mcp", "REDIRECT_URL=http://127.0.0.1:9/ts/callback", "WAIT_FOR_EXPIRY=1")
	call := resultStep(res, "call")
	if call == nil || call["isError"] != false || !strings.Contains(call["text"].(string), "Adele") {
		t.Fatalf("first call: %v", call)
	}
	if r := resultStep(res, "redirect"); r == nil || r["iss"] != base {
		t.Fatalf("redirect: %v", r)
	}
	after := resultStep(res, "call-after-expiry")
	if after == nil || after["isError"] != false || after["refreshed"] != true || !strings.Contains(after["text"].(string), "Adele") {
		t.Fatalf("call after expiry: %v", after)
	}
	if tok := resultStep(res, "tokens"); tok == nil || tok["has_refresh_token"] != true || tok["expires_in"].(float64) > shortTokenLifetime {
		t.Fatalf("tokens: %v", tok)
	}
	if resultStep(res, "done") == nil {
		t.Fatal("script did not finish")
	}
}

// TestGatewayInspectorCLI: MCP Inspector v2's CLI completes the OAuth flow headlessly
// (MCP_AUTO_OPEN_ENABLED=true, stdin /dev/null: it prints "Please navigate to: <url>" on
// stderr and waits on its loopback callback http://127.0.0.1:6276/oauth/callback). The test
// drives the URL through consent and Entra and follows the final redirect to the Inspector's
// callback. The Inspector then lists the tools and calls get_graph_user_details.
func TestGatewayInspectorCLI(t *testing.T) {
	g := getGatewayStack(t)
	base := g.GatewayURL()
	for _, step := range []struct {
		args []string
		want string
	}{
		{[]string{"--method", "tools/list"}, "get_graph_user_details"},
		{[]string{"--method", "tools/call", "--tool-name", "get_graph_user_details"}, "Adele"},
	} {
		out := g.inspectorOAuth(t, base, step.args...)
		if !strings.Contains(out, step.want) {
			t.Fatalf("inspector %v: output lacks %q: %.500s", step.args, step.want, out)
		}
	}
}

// inspectorOAuth runs the Inspector CLI with scripted OAuth and returns its stdout.
func (g *gatewayStack) inspectorOAuth(t *testing.T, base string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout)
	defer cancel()
	full := append([]string{"--cli", base + "/mcp", "--transport", "http", "--format", "json"}, args...)
	cmd := exec.CommandContext(ctx, testdeps.NodeBin(t, "mcp-inspector"), full...)
	cmd.Dir = filepath.Join(testdeps.RepoRoot(t), "e2e")
	env := []string{}
	for _, kv := range testdeps.Node22Env(t) {
		if !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "MCP_") && !strings.HasPrefix(kv, "NODE_OPTIONS=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "HOME="+t.TempDir(), "NO_COLOR=1", "CI=1", "MCP_AUTO_OPEN_ENABLED=true",
		"MCP_INSPECTOR_SECRET_STORE=memory", "NODE_EXTRA_CA_CERTS="+g.CAFile())
	var stdout strings.Builder
	cmd.Stdout = &stdout
	stderr, _ := cmd.StderrPipe()
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var errText strings.Builder
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		i := strings.Index(line, "Please navigate to: ")
		if i < 0 {
			errText.WriteString(line + "\n")
			continue
		}
		authURL := strings.TrimSpace(line[i+len("Please navigate to: "):])
		f := newUserAgent(g, base).run(t, authURL, "approve", nil)
		if f.Redirect == nil || f.Redirect.Host != "127.0.0.1:6276" {
			t.Errorf("inspector: authorization did not return to its callback: %v", f)
			continue
		}
		remember(f.Redirect.Query().Get("code"))
		// Follow the last redirect like a browser: the Inspector's callback server takes the code.
		resp, err := g.CA.HTTPClient().Get(f.Redirect.String())
		if err != nil {
			t.Errorf("inspector callback: %v", err)
			continue
		}
		resp.Body.Close()
	}
	err := cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("inspector did not finish within %s", nodeTimeout)
	}
	if err != nil {
		t.Fatalf("inspector %v: %v\nstderr:\n%s\nstdout:\n%s", args, err, redact(errText.String()), redact(stdout.String()))
	}
	return stdout.String()
}
