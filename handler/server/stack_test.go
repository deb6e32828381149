package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"example.com/graphmcp/devstack/entra"
	"example.com/graphmcp/devstack/graph"
	"example.com/graphmcp/devstack/localca"
	"example.com/graphmcp/devstack/msi"
	"example.com/graphmcp/handler/config"
	"example.com/graphmcp/handler/logging"
	"example.com/graphmcp/internal/syncbuf"
)

// One set of stand-ins per test binary: azidentity's managed-identity token cache is
// process-global, so every handler in this process must talk to the same Entra. Tests that need
// a cold managed-identity cache use their own UAMI (miBurst, miBench, miWarm).
var st struct {
	ca    *localca.CA
	entra *entra.Server
	msi   *msi.Server
	graph *graph.Server
}

var (
	miMain  = msi.Identity{ClientID: "0a000000-0000-4000-8000-00000000000a", PrincipalID: "0b000000-0000-4000-8000-00000000000b"}
	miBurst = msi.Identity{ClientID: "1a000000-0000-4000-8000-00000000001a", PrincipalID: "1b000000-0000-4000-8000-00000000001b"}
	miBench = msi.Identity{ClientID: "2a000000-0000-4000-8000-00000000002a", PrincipalID: "2b000000-0000-4000-8000-00000000002b"}
	miWarm  = msi.Identity{ClientID: "4a000000-0000-4000-8000-00000000004a", PrincipalID: "4b000000-0000-4000-8000-00000000004b"}
	// miNoFIC exists but is no federated credential of the app: OBO must fail with invalid_client.
	miNoFIC = msi.Identity{ClientID: "3a000000-0000-4000-8000-00000000003a", PrincipalID: "3b000000-0000-4000-8000-00000000003b"}
)

const (
	adele       = "adele@contoso.test" // every consent, app role Tools.Mail
	alex        = "alex@contoso.test"  // no Graph consent, no role
	burstUsers  = 20
	prmURL      = "https://gateway.example/.well-known/oauth-protected-resource/mcp"
	publicHost  = "myapp.azurewebsites.net"
	allConsents = "User.Read Calendars.Read Mail.ReadBasic Files.Read"
)

func burstUser(i int) string { return fmt.Sprintf("user%02d@contoso.test", i) }

func TestMain(m *testing.M) {
	os.Exit(func() int {
		if err := startStack(); err != nil {
			fmt.Fprintln(os.Stderr, "stack:", err)
			return 1
		}
		defer st.graph.Close()
		defer st.msi.Close()
		defer st.entra.Close()
		return m.Run()
	}())
}

func startStack() error {
	var err error
	if st.ca, err = localca.New(); err != nil {
		return err
	}
	users := []entra.User{
		{ObjectID: "4f6c7a2e-1b3d-4c5e-8f90-a1b2c3d4e5f6", UserPrincipalName: adele, DisplayName: "Adele Vance", GivenName: "Adele",
			Surname: "Vance", Mail: adele, JobTitle: "Retail Manager", Roles: []string{"Tools.Mail"}, GraphConsent: strings.Fields(allConsents)},
		{ObjectID: "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", UserPrincipalName: alex, DisplayName: "Alex Wilber", GivenName: "Alex", Surname: "Wilber", Mail: alex},
	}
	for i := range burstUsers {
		users = append(users, entra.User{ObjectID: fmt.Sprintf("c0000000-0000-4000-8000-%012d", i), UserPrincipalName: burstUser(i),
			DisplayName: fmt.Sprintf("User %02d", i), Mail: burstUser(i), GraphConsent: strings.Fields(allConsents)})
	}
	var fics []entra.FederatedCredential
	for _, id := range []msi.Identity{miMain, miBurst, miBench, miWarm} {
		fics = append(fics, entra.FederatedCredential{Subject: id.PrincipalID})
	}
	if st.entra, err = entra.Start(entra.Options{CA: st.ca, Users: users, FederatedCredentials: fics}); err != nil {
		return err
	}
	if st.msi, err = msi.Start(msi.Options{Entra: st.entra, Identities: []msi.Identity{miMain, miBurst, miBench, miWarm, miNoFIC}}); err != nil {
		return err
	}
	if st.graph, err = graph.Start(graph.Options{Entra: st.entra, CA: st.ca}); err != nil {
		return err
	}
	// azidentity reads these when a credential is constructed.
	for _, k := range []string{"MSI_ENDPOINT", "MSI_SECRET", "IDENTITY_SERVER_THUMBPRINT", "AZURE_POD_IDENTITY_AUTHORITY_HOST"} {
		os.Unsetenv(k)
	}
	os.Setenv("IDENTITY_ENDPOINT", st.msi.Endpoint())
	os.Setenv("IDENTITY_HEADER", st.msi.Header())
	return nil
}

// handler is one handler instance (its own MSAL cache and verifier) served on loopback.
type handler struct {
	*Server
	URL  string
	logs *syncbuf.Buffer
}

// newHandler starts a handler wired exactly as in production, configured through config.Load,
// and stops it when the test ends.
func newHandler(t testing.TB, env map[string]string, opts *Options) *handler {
	t.Helper()
	h, stop := startHandler(t, env, opts)
	t.Cleanup(func() {
		stop()
		h.assertLogsClean(t)
	})
	return h
}

// startHandler is newHandler for handlers that outlive one test (benchmarks).
func startHandler(t testing.TB, env map[string]string, opts *Options) (*handler, func()) {
	t.Helper()
	e := map[string]string{
		"AZURE_TENANT_ID":           st.entra.TenantID(),
		"ENTRA_APP_CLIENT_ID":       st.entra.APIClientID(),
		"AZURE_CLIENT_ID":           miMain.ClientID,
		"ENTRA_AUTHORITY_HOST":      st.entra.URL() + "/",
		"GRAPH_ENDPOINT":            st.graph.URL(),
		"MCP_RESOURCE_METADATA_URL": prmURL,
		"LOG_LEVEL":                 "debug",
	}
	for k, v := range env {
		e[k] = v
	}
	cfg, err := config.Load(func(k string) string { return e[k] })
	if err != nil {
		t.Fatal(err)
	}
	if opts == nil {
		opts = &Options{}
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = st.ca.HTTPClient()
	}
	logs := &syncbuf.Buffer{}
	s, err := New(cfg, logging.New(logs, slog.LevelDebug), opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler)
	return &handler{Server: s, URL: srv.URL, logs: logs}, srv.Close
}

// assertLogsClean fails if any log line holds a JWT-looking string or a bearer value.
func (h *handler) assertLogsClean(t testing.TB) {
	for _, line := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(line, "eyJ") || strings.Contains(strings.ToLower(line), "bearer ey") {
			t.Errorf("a log line contains token material (%d bytes; first 80: %q)", len(line), line[:min(80, len(line))])
		}
	}
}

func userToken(t testing.TB, upn string, opt *entra.TokenOptions) string {
	t.Helper()
	tok, err := st.entra.UserToken(upn, opt)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// rpcResult is a JSON-RPC response to one MCP POST.
type rpcResult struct {
	Status int
	Header http.Header
	Body   []byte
	Msg    struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
}

// post sends one JSON-RPC request to /mcp; hdr may set Host (key "Host") and other headers.
func (h *handler) post(t testing.TB, token, method string, params any, hdr map[string]string) *rpcResult {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	req, _ := http.NewRequest(http.MethodPost, h.URL+"/mcp", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-06-18")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := &rpcResult{Status: resp.StatusCode, Header: resp.Header}
	r.Body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(r.Body, &r.Msg); err != nil {
			t.Fatalf("response is not JSON-RPC: %v (%d bytes)", err, len(r.Body))
		}
	}
	return r
}

// toolResult is the part of a CallToolResult the tests read.
type toolResult struct {
	IsError bool `json:"isError"`
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	StructuredContent map[string]any `json:"structuredContent"`
}

func (h *handler) callTool(t testing.TB, token, name string, args map[string]any) toolResult {
	t.Helper()
	if args == nil {
		args = map[string]any{}
	}
	r := h.post(t, token, "tools/call", map[string]any{"name": name, "arguments": args}, nil)
	if r.Status != http.StatusOK || r.Msg.Error != nil {
		t.Fatalf("tools/call %s: status %d, body %s", name, r.Status, r.Body)
	}
	var tr toolResult
	if err := json.Unmarshal(r.Msg.Result, &tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

func (tr toolResult) text() string {
	var b strings.Builder
	for _, c := range tr.Content {
		b.WriteString(c.Text)
	}
	return b.String()
}
