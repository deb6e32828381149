package e2e

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The local stack's two dev users (devstack/entra.DefaultUsers), through the whole gateway:
// Adele holds the app role Tools.Mail, Alex does not (README "Missing consent and app roles").

const (
	rolelessUser     = "alex@contoso.test"
	rolelessPassword = "alex-dev-password"
)

// TestGatewayAppRoleRequired: each user signs in through the gateway; Adele's tools/list holds
// list_recent_mail and her call succeeds; Alex's tools/list does not hold it and his call is
// refused with 403 and the insufficient_scope challenge naming the missing role, as the handler
// sends it, through the gateway's /mcp policy.
func TestGatewayAppRoleRequired(t *testing.T) {
	g := getGatewayStack(t)
	base := g.GatewayURL()
	// Alex consents to the Graph scopes on his first sign-in: give the stack back as it was.
	if u, ok := g.Entra.User(rolelessUser); !ok || len(u.Roles) != 0 {
		t.Fatalf("dev user %s: found %v, roles %v; want one without app roles", rolelessUser, ok, u.Roles)
	} else {
		t.Cleanup(func() { g.Entra.SetGraphConsent(rolelessUser, u.GraphConsent) })
	}
	if u, _ := g.Entra.User(gatewayUser); !slices.Contains(u.Roles, "Tools.Mail") {
		t.Fatalf("dev user %s has roles %v; want Tools.Mail", gatewayUser, u.Roles)
	}

	adele := g.authorize(t, base)
	alexUA := newUserAgent(g, base)
	alexUA.user, alexUA.password = rolelessUser, rolelessPassword
	alex := g.authorizeAs(t, alexUA)

	for _, tc := range []struct {
		who      string
		access   string
		mailTool bool
	}{{gatewayUser, adele.access, true}, {rolelessUser, alex.access, false}} {
		cs, err := g.connectGateway(t, g.MCPURL(), tc.access)
		if err != nil {
			t.Fatalf("%s: connect: %v", tc.who, err)
		}
		tools, err := cs.ListTools(context.Background(), nil)
		if err != nil {
			t.Fatalf("%s: tools/list: %v", tc.who, err)
		}
		listed := slices.ContainsFunc(tools.Tools, func(x *mcp.Tool) bool { return x.Name == "list_recent_mail" })
		if listed != tc.mailTool {
			t.Errorf("%s: list_recent_mail listed = %v, want %v", tc.who, listed, tc.mailTool)
		}
	}

	cs, err := g.connectGateway(t, g.MCPURL(), adele.access)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "list_recent_mail", Arguments: map[string]any{}})
	if err != nil || res.IsError {
		t.Fatalf("%s: list_recent_mail = %v, %.300s", gatewayUser, err, resultText(res))
	}

	// Alex's call, as a client sends it: 403 with the challenge that says what is missing.
	req, _ := http.NewRequest(http.MethodPost, g.MCPURL(), strings.NewReader(
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_recent_mail","arguments":{}}}`))
	req.Header = http.Header{"Authorization": {"Bearer " + alex.access}, "Content-Type": {"application/json"},
		"Accept": {"application/json, text/event-stream"}, "Mcp-Protocol-Version": {"2025-11-25"}}
	resp, err := g.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	challenge := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(challenge, `Bearer error="insufficient_scope"`) ||
		!strings.Contains(challenge, "the tool list_recent_mail requires the app role Tools.Mail") {
		t.Fatalf("%s calling list_recent_mail: %d, WWW-Authenticate %q; want 403 insufficient_scope naming Tools.Mail",
			rolelessUser, resp.StatusCode, challenge)
	}
}
