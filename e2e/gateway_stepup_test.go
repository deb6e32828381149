package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Missing Graph consent, the MCP way, through the whole local stack: the handler's on-behalf-of
// exchange is refused by the Entra stand-in (AADSTS65001), the tool answers with Entra's consent
// link, the user consents on the stand-in's page, lands on the gateway's /oauth-callback, and
// the same tool call succeeds.

// revokeCalendarConsent takes Calendars.Read away from the gateway user for the test.
func revokeCalendarConsent(t *testing.T, g *gatewayStack) {
	t.Helper()
	u, ok := g.Entra.User(gatewayUser)
	if !ok {
		t.Fatalf("no user %s", gatewayUser)
	}
	t.Cleanup(func() { g.Entra.SetGraphConsent(gatewayUser, u.GraphConsent) })
	g.Entra.SetGraphConsent(gatewayUser, slices.DeleteFunc(slices.Clone(u.GraphConsent), func(s string) bool { return s == "Calendars.Read" }))
}

// checkConsentLink checks that link is the stand-in's authorization endpoint asking consent for
// the app and Calendars.Read, returning to the gateway.
func checkConsentLink(t *testing.T, g *gatewayStack, link string) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(link, g.Entra.AuthorizeURL()+"?") {
		t.Fatalf("consent link %q is not the Entra authorization endpoint %s", link, g.Entra.AuthorizeURL())
	}
	q := u.Query()
	if q.Get("client_id") != g.Entra.APIClientID() || q.Get("redirect_uri") != g.GatewayURL()+"/oauth-callback" ||
		q.Get("prompt") != "consent" || !strings.Contains(q.Get("scope"), "https://graph.microsoft.com/Calendars.Read") {
		t.Fatalf("consent link parameters: %v", q)
	}
}

// consentAt plays the user opening the consent link: sign in on the stand-in's page, accept, and
// land on the gateway's page.
func consentAt(t *testing.T, g *gatewayStack, link string) {
	t.Helper()
	f := newUserAgent(g, g.GatewayURL()).run(t, link, "", nil)
	if pu, err := url.Parse(f.Page); err == nil {
		remember(pu.Query().Get("code")) // Entra's code, never redeemed, must not be logged either
	}
	if f.Status != 200 || !strings.HasPrefix(f.Page, g.GatewayURL()+"/oauth-callback?") || !strings.Contains(f.Body, "Permissions granted") {
		t.Fatalf("after consent: %v", f)
	}
	if u, _ := g.Entra.User(gatewayUser); !slices.Contains(u.GraphConsent, "Calendars.Read") {
		t.Fatal("the stand-in did not record the consent")
	}
}

func callEvents(cs *mcp.ClientSession) (*mcp.CallToolResult, error) {
	return cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "list_upcoming_events", Arguments: map[string]any{}})
}

// TestGatewayConsentURLElicitation: a go-sdk client that declared URL elicitation receives the
// -32042 error with the consent link; after the user consents there, the same call succeeds.
func TestGatewayConsentURLElicitation(t *testing.T) {
	g := getGatewayStack(t)
	gr := g.authorize(t, g.GatewayURL())
	revokeCalendarConsent(t, g)
	cs, err := g.connectGatewayWith(t, g.MCPURL(), gr.access, &mcp.ClientOptions{
		Capabilities: &mcp.ClientCapabilities{Elicitation: &mcp.ElicitationCapabilities{URL: &mcp.URLElicitationCapabilities{}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = callEvents(cs)
	var rpc *jsonrpc.Error
	if !errors.As(err, &rpc) || rpc.Code != mcp.CodeURLElicitationRequired {
		t.Fatalf("tools/call without consent = %v, want JSON-RPC error %d", err, mcp.CodeURLElicitationRequired)
	}
	var data struct{ Elicitations []*mcp.ElicitParams }
	if err := json.Unmarshal(rpc.Data, &data); err != nil || len(data.Elicitations) != 1 || data.Elicitations[0].Mode != "url" {
		t.Fatalf("elicitation data %s: %v", rpc.Data, err)
	}
	checkConsentLink(t, g, data.Elicitations[0].URL)
	consentAt(t, g, data.Elicitations[0].URL)

	res, err := callEvents(cs)
	if err != nil || res.IsError {
		t.Fatalf("the same call after consent: %v %.300s", err, resultText(res))
	}
}

// TestGatewayConsentToolError: a client without the capability gets a tool error holding the
// same link and what to do; the link works the same way.
func TestGatewayConsentToolError(t *testing.T) {
	g := getGatewayStack(t)
	gr := g.authorize(t, g.GatewayURL())
	revokeCalendarConsent(t, g)
	cs, err := g.connectGateway(t, g.MCPURL(), gr.access)
	if err != nil {
		t.Fatal(err)
	}
	res, err := callEvents(cs)
	if err != nil || !res.IsError {
		t.Fatalf("tools/call without consent = %v, %.300s; want a tool error", err, resultText(res))
	}
	text := resultText(res)
	i, j := strings.Index(text, "Open https://"), strings.Index(text, " to grant it, then call the tool again")
	if !strings.HasPrefix(text, "Consent required: list_upcoming_events needs the Microsoft Graph permission Calendars.Read") || i < 0 || j < i {
		t.Fatalf("tool error = %q", text)
	}
	link := text[i+len("Open ") : j]
	checkConsentLink(t, g, link)
	consentAt(t, g, link)
	if res, err := callEvents(cs); err != nil || res.IsError {
		t.Fatalf("the same call after consent: %v %.300s", err, resultText(res))
	}
}
