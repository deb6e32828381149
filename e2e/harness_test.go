package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"example.com/graphmcp/internal/freeport"
	"example.com/graphmcp/internal/funchost"
)

// The harness tests prove the client tooling (Inspector CLI exit codes, inject-bearer.mjs for
// fetch and for undici) against a minimal go-sdk server, so a failure here points at the
// harness and a failure in handler_test.go points at the handler.

const tinyToken = "tiny-opaque-token-for-harness-tests"

// startTinyBackend serves a one-tool go-sdk server that requires `Bearer tinyToken` and
// returns its base URL. localhostProtection keeps go-sdk's DNS-rebinding guard on.
func startTinyBackend(t *testing.T, localhostProtection bool) string {
	t.Helper()
	srv := mcp.NewServer(&mcp.Implementation{Name: "tiny", Version: "0.0.1"}, nil)
	type whoamiIn struct{}
	mcp.AddTool(srv, &mcp.Tool{Name: "whoami", Description: "Returns the caller."},
		func(ctx context.Context, req *mcp.CallToolRequest, in whoamiIn) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "tiny-user"}}}, nil, nil
		})
	mcpHandler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true, DisableLocalhostProtection: !localhostProtection})
	// A hand-written bearer check with the handler's challenge shape (go-sdk's auth middleware
	// omits error=, see facts mcp-auth.md).
	requireBearer := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+tinyToken {
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", resource_metadata="http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp"`)
				http.Error(w, `{"error":"invalid_token"}`, http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", requireBearer(mcpHandler))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	backend := httptest.NewServer(mux)
	t.Cleanup(backend.Close)
	return backend.URL
}

const harnessKey = "harness-function-key"

// startTinyBehindHost puts the tiny server behind the Functions-host stand-in with a public
// Host, like the handler in Azure, and returns the /mcp URL (the function key goes in the
// x-functions-key header or the code parameter).
func startTinyBehindHost(t *testing.T) string {
	t.Helper()
	host, err := funchost.Start(&funchost.Options{Backend: startTinyBackend(t, false), PublicHost: "tiny.azurewebsites.net", FunctionKeys: []string{harnessKey}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(host.Close)
	return host.URL() + "/mcp"
}

func TestHarnessInspectorExitCodes(t *testing.T) {
	url := startTinyBehindHost(t)
	key := []string{"--header", "x-functions-key: " + harnessKey} // a second --header

	var list struct {
		Result mcp.ListToolsResult `json:"result"`
	}
	inspectorJSON(t, url, tinyToken, &list, append(key, "--method", "tools/list")...)
	if len(list.Result.Tools) != 1 || list.Result.Tools[0].Name != "whoami" {
		t.Fatalf("tools/list through the Inspector: %+v", list.Result.Tools)
	}
	var call struct {
		Result struct {
			Content []struct{ Type, Text string } `json:"content"`
		} `json:"result"`
	}
	inspectorJSON(t, url, tinyToken, &call, append(key, "--method", "tools/call", "--tool-name", "whoami")...)
	if len(call.Result.Content) != 1 || call.Result.Content[0].Text != "tiny-user" {
		t.Fatalf("tools/call through the Inspector: %+v", call.Result)
	}

	r := inspector(t, url, "", append(key, "--method", "tools/list")...)
	if r.Code != inspectorAuthRequired || !strings.Contains(r.Stderr, "auth_required") {
		t.Errorf("no token: exit %d (want %d), stderr %s", r.Code, inspectorAuthRequired, r.Stderr)
	}
	r = inspector(t, url, tinyToken, append(key, "--method", "tools/call", "--tool-name", "no_such_tool")...)
	if r.Code != inspectorToolError {
		t.Errorf("unknown tool: exit %d (want %d), stderr %s", r.Code, inspectorToolError, redact(r.Stderr, tinyToken))
	}
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.Stderr), &e); err != nil || e.Error.Code == "" {
		t.Errorf("Inspector errors are JSON on stderr; got %q", redact(r.Stderr, tinyToken))
	}
	port, err := freeport.Pick() // free a moment ago: nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	r = inspector(t, fmt.Sprintf("http://127.0.0.1:%d/mcp", port), "", "--method", "tools/list")
	if r.Code != inspectorUnreachable {
		t.Errorf("unreachable server: exit %d (want %d)", r.Code, inspectorUnreachable)
	}
}

// TestHarnessInjectBearer proves inject-bearer.mjs: with it the suite's fetch-based scenarios
// pass against a server that requires the token, and its undici-based dns-rebinding scenario
// reaches the server authenticated (go-sdk's own localhost guard then decides, and passes).
func TestHarnessInjectBearer(t *testing.T) {
	url := startTinyBehindHost(t) + "?code=" + harnessKey
	if r := conformance(t, url, tinyToken, "tools-list"); conformancePassed(r) != nil {
		t.Fatalf("tools-list with the preload: %v\n%s", conformancePassed(r), redact(string(r.Stdout), tinyToken))
	}
	if r := conformance(t, url, "", "tools-list"); r.Code == 0 {
		t.Fatal("tools-list without the token passed: the server under test does not require auth")
	}
	direct := startTinyBackend(t, true) + "/mcp"
	if r := conformance(t, direct, tinyToken, "dns-rebinding-protection"); conformancePassed(r) != nil {
		t.Fatalf("dns-rebinding-protection with the undici hook: %v\n%s", conformancePassed(r), redact(string(r.Stdout), tinyToken))
	}
}
