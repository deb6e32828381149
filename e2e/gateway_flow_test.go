package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"example.com/graphmcp/internal/tokenformat"
)

// connectGateway opens a go-sdk client session to the gateway's /mcp with a static bearer.
func (g *gatewayStack) connectGateway(t *testing.T, mcpURL, token string) (*mcp.ClientSession, error) {
	return g.connectGatewayWith(t, mcpURL, token, nil, nil)
}

// connectGatewayWith is connectGateway with client and session options (capabilities, protocol
// version).
func (g *gatewayStack) connectGatewayWith(t *testing.T, mcpURL, token string, opts *mcp.ClientOptions, sopts *mcp.ClientSessionOptions) (*mcp.ClientSession, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hdr := http.Header{"Authorization": {"Bearer " + token}}
	client := mcp.NewClient(&mcp.Implementation{Name: "graphmcp-gateway-e2e", Version: "0.0.1"}, opts)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:   mcpURL,
		HTTPClient: &http.Client{Transport: headerTransport{g.CA.HTTPClient().Transport, hdr}},
		MaxRetries: -1,
	}, sopts)
	if err == nil {
		t.Cleanup(func() { cs.Close() })
	}
	return cs, err
}

// grant is one completed authorization: the client and its tokens.
type grant struct {
	clientID, redirectURI string
	access, refresh       string
	expiresIn             float64
}

// authorize registers a client and runs the whole authorization code flow against base through
// the user agent, signed in as gatewayUser, returning the token response.
func (g *gatewayStack) authorize(t *testing.T, base string) grant {
	t.Helper()
	return g.authorizeAs(t, newUserAgent(g, base))
}

// authorizeAs is authorize with the user agent ua (which names the user who signs in).
func (g *gatewayStack) authorizeAs(t *testing.T, ua *userAgent) grant {
	t.Helper()
	base := ua.base
	redirect := "http://127.0.0.1:9/callback"
	clientID := g.register(t, base, map[string]any{
		"client_name": "gateway e2e client", "redirect_uris": []string{redirect},
		"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
		"token_endpoint_auth_method": "none",
	})
	p := newPKCE()
	state := randomString(16)
	f := ua.run(t, authorizeURL(base, clientID, redirect, state, p, nil), "approve", nil)
	code := codeFrom(t, f, state, base)
	status, tok := g.postForm(t, base+"/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
		"client_id": {clientID}, "code_verifier": {p.verifier}, "resource": {base + "/mcp"},
	})
	if status != http.StatusOK {
		t.Fatalf("token: status %d, error %v: %v", status, tok["error"], tok["error_description"])
	}
	gr := grant{clientID: clientID, redirectURI: redirect}
	gr.access, _ = tok["access_token"].(string)
	gr.refresh, _ = tok["refresh_token"].(string)
	gr.expiresIn, _ = tok["expires_in"].(float64)
	remember(gr.access, gr.refresh)
	if gr.access == "" || gr.refresh == "" || tok["token_type"] != "Bearer" || tok["_cache_control"] != "no-store" {
		t.Fatalf("token response incomplete: token_type %v, access %d bytes, refresh %d bytes, cache-control %v",
			tok["token_type"], len(gr.access), len(gr.refresh), tok["_cache_control"])
	}
	return gr
}

// TestGatewayAuthorizationCodeFlow is the vertical slice: discovery, DCR, authorize with PKCE
// and resource, consent, the Entra round trip with the managed-identity assertion, the code
// exchange, the /mcp gate forwarding the Entra token to the handler (a tool call reaching the
// Graph stand-in), refresh rotation, and the audit trail.
func TestGatewayAuthorizationCodeFlow(t *testing.T) {
	g := getGatewayStack(t)
	base := g.GatewayURL()

	// Discovery.
	for _, p := range []string{"/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"} {
		resp, err := g.client().Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		_, prm := decodeJSON(t, resp)
		if prm["resource"] != g.MCPURL() || len(prm["authorization_servers"].([]any)) != 1 || prm["authorization_servers"].([]any)[0] != base {
			t.Fatalf("%s: %v", p, prm)
		}
	}
	for _, p := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		resp, err := g.client().Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		_, as := decodeJSON(t, resp)
		if as["issuer"] != base || as["token_endpoint"] != base+"/token" || as["registration_endpoint"] != base+"/register" ||
			as["revocation_endpoint"] != base+"/revoke" || as["client_id_metadata_document_supported"] != true {
			t.Fatalf("%s: %v", p, as)
		}
		if m := as["code_challenge_methods_supported"].([]any); len(m) != 1 || m[0] != "S256" {
			t.Fatalf("%s: code_challenge_methods_supported = %v", p, m)
		}
	}

	// The unauthenticated challenge.
	resp, err := g.client().Post(g.MCPURL(), "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	wantChallenge := `Bearer resource_metadata="` + base + `/.well-known/oauth-protected-resource/mcp", scope="mcp:tools"`
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != wantChallenge {
		t.Fatalf("no token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}

	gr := g.authorize(t, base)

	// The MCP access token is the documented sealed format, bound to client and resource, and
	// expires no later than the Entra token inside it.
	at, err := tokenformat.OpenAccessToken(g.Keys, gr.access, g.MCPURL(), time.Now())
	if err != nil {
		t.Fatalf("gateway's access token does not open with the reference implementation: %v", err)
	}
	if at.ClientID != gr.clientID || at.ObjectID == "" || at.Scope != "mcp:tools" {
		t.Fatalf("access token payload: cid ok=%v oid %q scp %q", at.ClientID == gr.clientID, at.ObjectID, at.Scope)
	}
	if exp := entraExpiry(t, at.Entra); at.Expiry > exp {
		t.Fatalf("MCP token exp %d is after the Entra token's %d", at.Expiry, exp)
	}
	remember(at.Entra)

	cs, err := g.connectGateway(t, g.MCPURL(), gr.access)
	if err != nil {
		t.Fatalf("connect through the gateway: %v", err)
	}
	tools, err := cs.ListTools(context.Background(), nil)
	if err != nil || !strings.Contains(strings.Join(toolNames(tools.Tools), ","), "get_graph_user_details") {
		t.Fatalf("tools/list: %v %v", err, tools)
	}
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "get_graph_user_details", Arguments: map[string]any{}})
	if err != nil || res.IsError || !strings.Contains(resultText(res), "Adele") {
		t.Fatalf("tools/call: %v %.300s", err, resultText(res))
	}

	// Refresh: rotation gives a new refresh token and a working access token.
	status, tok := g.postForm(t, base+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {gr.refresh}, "client_id": {gr.clientID}})
	if status != http.StatusOK || tok["refresh_token"] == gr.refresh || tok["refresh_token"] == nil {
		t.Fatalf("refresh: %d %v %v", status, tok["error"], tok["error_description"])
	}
	next, _ := tok["refresh_token"].(string)
	access2, _ := tok["access_token"].(string)
	remember(next, access2)
	if _, err := tokenformat.OpenAccessToken(g.Keys, access2, g.MCPURL(), time.Now()); err != nil {
		t.Fatalf("refreshed access token: %v", err)
	}

	// CORS for browser-based clients on the OAuth endpoints (no credentials).
	pre, _ := http.NewRequest(http.MethodOptions, base+"/token", nil)
	pre.Header.Set("Origin", "http://localhost:6274")
	pre.Header.Set("Access-Control-Request-Method", "POST")
	pre.Header.Set("Access-Control-Request-Headers", "content-type")
	if resp, err := g.client().Do(pre); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode/100 != 2 || resp.Header.Get("Access-Control-Allow-Origin") == "" || resp.Header.Get("Access-Control-Allow-Credentials") == "true" {
			t.Errorf("CORS preflight for /token: %d, allow-origin %q, allow-credentials %q", resp.StatusCode,
				resp.Header.Get("Access-Control-Allow-Origin"), resp.Header.Get("Access-Control-Allow-Credentials"))
		}
	}

	// One refusal, one audit event, naming the endpoint and the reason and nothing secret.
	countRefused := func() int {
		n := 0
		for _, e := range auditEvents(t, g.Gateway) {
			if e["event"] == "request.refused" {
				n++
			}
		}
		return n
	}
	before := countRefused()
	if st, _, _ := g.mcpCall(t, g.MCPURL(), "Bearer "+gr.access[:len(gr.access)-3], nil); st != http.StatusUnauthorized {
		t.Fatalf("truncated token: %d", st)
	}
	events := auditEvents(t, g.Gateway)
	if after := countRefused(); after != before+1 {
		t.Fatalf("a refused request produced %d request.refused events, want 1", after-before)
	}
	last := events[len(events)-1]
	if last["event"] != "request.refused" || last["client_id"] != "" || !strings.Contains(last["reason"].(string), "invalid_token") || last["endpoint"] == "" {
		t.Errorf("refusal event: %v", last)
	}

	// Audit: one event per step, none with a secret (checked by the stack's cleanup).
	seen := map[string]bool{}
	for _, e := range auditEvents(t, g.Gateway) {
		if e["client_id"] == gr.clientID {
			seen[e["event"].(string)] = true
		}
	}
	for _, ev := range []string{"client.registered", "consent.granted", "code.issued", "token.issued", "token.refreshed"} {
		if !seen[ev] {
			t.Errorf("no %s audit event for the client (saw %v)", ev, seen)
		}
	}
}

// entraExpiry reads exp from a JWT without verifying it (the handler verifies it).
func entraExpiry(t *testing.T, jwt string) int64 {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatal("the sealed Entra token is not a JWT")
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if err := decodeB64JSON(parts[1], &claims); err != nil || claims.Exp == 0 {
		t.Fatalf("Entra token claims: %v", err)
	}
	return claims.Exp
}
