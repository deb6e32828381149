package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// publishedClients are the redirect URIs real MCP clients register (README "Connecting clients"
// lists them): each registers by DCR and reaches the consent page at /authorize, including
// loopback redirects on another port (RFC 8252 §7.3: VS Code picks a free port).
var publishedClients = []struct {
	name      string
	redirects []string
	authorize []string // redirect URIs used at /authorize
}{
	{"MCP Inspector web UI", []string{"http://localhost:6274/oauth/callback", "http://localhost:6274/oauth/callback/debug"},
		[]string{"http://localhost:6274/oauth/callback", "http://localhost:6274/oauth/callback/debug"}},
	{"MCP Inspector CLI", []string{"http://127.0.0.1:6276/oauth/callback"}, []string{"http://127.0.0.1:6276/oauth/callback"}},
	{"Visual Studio Code", []string{"http://127.0.0.1:33418/", "https://vscode.dev/redirect"},
		[]string{"http://127.0.0.1:33418/", "http://127.0.0.1:51234/", "https://vscode.dev/redirect"}},
	{"Claude", []string{"https://claude.ai/api/mcp/auth_callback", "https://claude.com/api/mcp/auth_callback"},
		[]string{"https://claude.ai/api/mcp/auth_callback", "https://claude.com/api/mcp/auth_callback"}},
	{"Cursor", []string{"cursor://anysphere.cursor-mcp/oauth/callback", "https://www.cursor.com/agents/mcp/oauth/callback"},
		[]string{"cursor://anysphere.cursor-mcp/oauth/callback", "https://www.cursor.com/agents/mcp/oauth/callback"}},
}

func TestGatewayPublishedClientRedirects(t *testing.T) {
	g := getGatewayStack(t)
	base := g.GatewayURL()
	for _, c := range publishedClients {
		t.Run(c.name, func(t *testing.T) {
			id := g.register(t, base, map[string]any{"client_name": c.name, "redirect_uris": c.redirects,
				"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
				"token_endpoint_auth_method": "none"})
			for _, r := range c.authorize {
				f := newUserAgent(g, base).run(t, authorizeURL(base, id, r, "s", newPKCE(), nil), "", nil)
				if f.Redirect != nil || f.Status != http.StatusOK || !strings.Contains(f.Page, "/consent?") || !strings.Contains(f.Body, `id="client-name">`+c.name+`<`) {
					t.Fatalf("%s: want the consent page, got %v", r, f)
				}
			}
		})
	}
}
