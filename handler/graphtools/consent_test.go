package graphtools_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"example.com/graphmcp/handler/graphtools"
	"example.com/graphmcp/handler/mcpserver"
	"example.com/graphmcp/handler/obo"
	"example.com/graphmcp/handler/tokenverify"
)

// These tests drive the missing-consent answer through the real /mcp chain (stateless
// Streamable HTTP, as deployed) with go-sdk clients of each kind.

type oneUser struct{}

func (oneUser) Verify(context.Context, string) (*tokenverify.Identity, error) {
	return &tokenverify.Identity{ObjectID: "u1", TenantID: "t", Scopes: []string{"access_as_user"}}, nil
}

// consentOBO refuses with a ConsentRequiredError until granted.
type consentOBO struct {
	granted     atomic.Bool
	interaction bool
	admin       bool // AADSTS65005: only an administrator can help
}

func (o *consentOBO) Token(_ context.Context, _ string, scopes []string) (string, error) {
	if o.granted.Load() {
		return "graph-token", nil
	}
	if o.interaction {
		return "", &obo.ConsentRequiredError{Scopes: scopes, Code: "AADSTS50076", Interaction: true}
	}
	if o.admin {
		return "", &obo.ConsentRequiredError{Scopes: scopes, Code: "AADSTS65005", Admin: true}
	}
	return "", &obo.ConsentRequiredError{Scopes: scopes, Code: "AADSTS65001"}
}

type profileGraph struct{}

func (profileGraph) Get(_ context.Context, _, _ string, _ url.Values, out any) error {
	return json.Unmarshal([]byte(`{"displayName":"Adele Vance"}`), out)
}

var consentPage = &obo.ConsentPage{Authority: "https://login.example/tenant", ClientID: "app",
	RedirectURI: "https://gw.example/oauth-callback", APIScope: "api://app/access_as_user"}

func serveMCP(t *testing.T, o *consentOBO) string {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	h, err := mcpserver.New(&mcpserver.Options{Tools: graphtools.Tools(), Verifier: oneUser{}, Logger: log,
		Deps:                &graphtools.Deps{OBO: o, Graph: profileGraph{}, Logger: log, ConsentURL: consentPage.URL},
		ResourceMetadataURL: "https://gw.example/.well-known/oauth-protected-resource/mcp", Scope: "api://app/access_as_user"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mcpserver.NewMux(h, nil, log))
	t.Cleanup(srv.Close)
	return srv.URL + "/mcp"
}

type bearerRT struct{}

func (bearerRT) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer any")
	return http.DefaultTransport.RoundTrip(r)
}

func connectClient(t *testing.T, endpoint string, opts *mcp.ClientOptions, version string) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "consent-test", Version: "1"}, opts)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: endpoint,
		HTTPClient: &http.Client{Transport: bearerRT{}}, DisableStandaloneSSE: true}, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

var urlElicitation = &mcp.ClientOptions{
	Capabilities: &mcp.ClientCapabilities{Elicitation: &mcp.ElicitationCapabilities{URL: &mcp.URLElicitationCapabilities{}}},
	ElicitationHandler: func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
		return &mcp.ElicitResult{Action: "accept"}, nil
	},
}

func callProfile(cs *mcp.ClientSession) (*mcp.CallToolResult, error) {
	return cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "get_graph_user_details", Arguments: map[string]any{}})
}

// TestMissingConsentIsURLElicitation: a client that declared URL elicitation gets -32042 with
// the Entra consent link for the tool's scope; once consent exists the same call succeeds.
func TestMissingConsentIsURLElicitation(t *testing.T) {
	o := &consentOBO{}
	cs := connectClient(t, serveMCP(t, o), urlElicitation, "")
	_, err := callProfile(cs)
	var rpc *jsonrpc.Error
	if !errors.As(err, &rpc) || rpc.Code != mcp.CodeURLElicitationRequired {
		t.Fatalf("tools/call = %v, want JSON-RPC error %d", err, mcp.CodeURLElicitationRequired)
	}
	var data struct{ Elicitations []*mcp.ElicitParams }
	if err := json.Unmarshal(rpc.Data, &data); err != nil || len(data.Elicitations) != 1 {
		t.Fatalf("error data %s: %v", rpc.Data, err)
	}
	e := data.Elicitations[0]
	if e.Mode != "url" || e.ElicitationID == "" || !strings.Contains(e.Message, "User.Read") || !strings.Contains(e.Message, "AADSTS65001") {
		t.Errorf("elicitation = %+v", e)
	}
	u, err := url.Parse(e.URL)
	if err != nil || u.Scheme+"://"+u.Host+u.Path != "https://login.example/tenant/oauth2/v2.0/authorize" {
		t.Fatalf("consent URL %q is not the tenant's authorize endpoint", e.URL)
	}
	q := u.Query()
	want := map[string]string{"client_id": "app", "redirect_uri": "https://gw.example/oauth-callback", "prompt": "consent",
		"state": obo.ConsentState, "response_type": "code", "code_challenge_method": "S256",
		"scope": "api://app/access_as_user https://graph.microsoft.com/User.Read"}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("consent URL %s = %q, want %q", k, q.Get(k), v)
		}
	}
	if len(q.Get("code_challenge")) != 43 {
		t.Errorf("consent URL carries no S256 challenge: %q", q.Get("code_challenge"))
	}

	o.granted.Store(true) // the user consented at Entra
	res, err := callProfile(cs)
	if err != nil || res.IsError {
		t.Fatalf("the same call after consent = %+v, %v", res, err)
	}
}

// TestMissingConsentToolErrorWithoutCapability: clients that did not declare URL elicitation (or
// whose declaration a stateless server cannot see: 2025-11-25 keeps it in the session) get a tool
// error that holds the same link and says what to do.
func TestMissingConsentToolErrorWithoutCapability(t *testing.T) {
	o := &consentOBO{}
	endpoint := serveMCP(t, o)
	for name, cs := range map[string]*mcp.ClientSession{
		"no elicitation":             connectClient(t, endpoint, nil, ""),
		"form elicitation only":      connectClient(t, endpoint, &mcp.ClientOptions{ElicitationHandler: urlElicitation.ElicitationHandler}, ""),
		"2025-11-25, URL in session": connectClient(t, endpoint, urlElicitation, "2025-11-25"),
	} {
		res, err := callProfile(cs)
		if err != nil || !res.IsError || len(res.Content) != 1 {
			t.Fatalf("%s: tools/call = %+v, %v; want a tool error", name, res, err)
		}
		text := res.Content[0].(*mcp.TextContent).Text
		if !strings.HasPrefix(text, "Consent required: get_graph_user_details needs the Microsoft Graph permission User.Read") ||
			!strings.Contains(text, "Open https://login.example/tenant/oauth2/v2.0/authorize?") || !strings.HasSuffix(text, "to grant it, then call the tool again") {
			t.Errorf("%s: tool error = %q", name, text)
		}
	}
}

// TestInteractionRequiredIsNotElicited: MFA or conditional access needs a new token from the
// gateway, which a consent link cannot give; the tool error says to sign in again.
func TestInteractionRequiredIsNotElicited(t *testing.T) {
	cs := connectClient(t, serveMCP(t, &consentOBO{interaction: true}), urlElicitation, "")
	res, err := callProfile(cs)
	if err != nil || !res.IsError {
		t.Fatalf("tools/call = %+v, %v; want a tool error", res, err)
	}
	if text := res.Content[0].(*mcp.TextContent).Text; !strings.Contains(text, "Sign in again through the gateway") || strings.Contains(text, "https://") {
		t.Errorf("tool error = %q", text)
	}
}

// TestAdminConsentRequiredIsNotElicited: AADSTS65005 (the app registration does not list the
// permission, or the tenant wants an administrator's consent) cannot be fixed by the user's own
// consent prompt, which would end in the same error; so no client is sent a consent link, with
// or without URL elicitation: the tool error tells the user to ask an administrator.
func TestAdminConsentRequiredIsNotElicited(t *testing.T) {
	endpoint := serveMCP(t, &consentOBO{admin: true})
	for name, cs := range map[string]*mcp.ClientSession{
		"URL elicitation": connectClient(t, endpoint, urlElicitation, ""),
		"no elicitation":  connectClient(t, endpoint, nil, ""),
	} {
		res, err := callProfile(cs)
		if err != nil || !res.IsError || len(res.Content) != 1 {
			t.Fatalf("%s: tools/call = %+v, %v; want a tool error", name, res, err)
		}
		text := res.Content[0].(*mcp.TextContent).Text
		if !strings.HasPrefix(text, "Administrator action required: get_graph_user_details needs the Microsoft Graph permission User.Read") ||
			!strings.Contains(text, "(AADSTS65005)") || !strings.Contains(text, "Ask an administrator") || strings.Contains(text, "https://") {
			t.Errorf("%s: tool error = %q", name, text)
		}
	}
}
