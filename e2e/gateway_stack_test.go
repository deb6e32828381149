package e2e

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"example.com/graphmcp/internal/apimemu"
	"example.com/graphmcp/internal/localstack"
	"example.com/graphmcp/internal/tokenformat"
)

// The gateway tests (gateway_*_test.go) run against internal/localstack: the APIM emulator
// executing the real policy files in front of the real handler, with the Entra, managed-identity
// and Graph stand-ins. One stack serves the whole test binary; a second gateway over the same
// backends issues short-lived access tokens (expiry and refresh tests), a third has low rate
// limits and an emulator that adds no Retry-After of its own (429 tests).

// gatewayUser signs in on the Entra stand-in's page (the user agent and Chromium type the
// password, as a person would).
const (
	gatewayUser     = "adele@contoso.test"
	gatewayPassword = "adele-dev-password"
)

// Named values of the extra gateways.
const (
	shortTokenLifetime  = 3 // seconds, the "short" gateway
	limitedRegisterRate = 5 // registrations per IP per minute, the "limited" gateway
	limitedMCPRate      = 8 // MCP requests per user and client per minute, the "limited" gateway
)

type gatewayStack struct {
	*localstack.Stack
	short, limited *apimemu.Gateway
	// rotated runs with a new current key and the stack's key as the previous one.
	rotated    *apimemu.Gateway
	rotatedKey tokenformat.Key
}

// sharedGatewayStack builds the gateway stack on first use; later calls return the same one.
var sharedGatewayStack = sync.OnceValues(newGatewayStack)

func getGatewayStack(t *testing.T) *gatewayStack {
	t.Helper()
	gw, err := sharedGatewayStack()
	if err != nil {
		t.Fatalf("gateway stack: %v", err)
	}
	t.Cleanup(func() { gw.assertNoLeaks(t) })
	return gw
}

// newGatewayStack starts the local stack with its first gateway and the three extra ones
// (short token lifetime, low rate limits, rotated keys).
func newGatewayStack() (*gatewayStack, error) {
	// A fifth port is reserved for the CIMD gateway (gateway_cimd_test.go), started on first use.
	st, err := localstack.Start(context.Background(), &localstack.Options{ExtraGateways: 4})
	if err != nil {
		return nil, err
	}
	atExit(st.Close)
	g := &gatewayStack{Stack: st}
	if g.short, err = st.StartGateway(context.Background(), localstack.GatewayOptions{AccessTokenLifetime: shortTokenLifetime}); err != nil {
		return nil, err
	}
	g.limited, err = st.StartGateway(context.Background(), localstack.GatewayOptions{
		RegisterRateLimit: limitedRegisterRate, MCPRateLimit: limitedMCPRate,
		// Whether APIM's own 429 carries Retry-After into on-error is not documented: the
		// policies must set it themselves (apim-policies/README.md).
		OmitRetryAfterHeader: true,
	})
	if err != nil {
		return nil, err
	}
	if g.rotatedKey, err = tokenformat.NewKey("k-rotated"); err != nil {
		return nil, err
	}
	if g.rotated, err = st.StartGateway(context.Background(), localstack.GatewayOptions{Keys: []tokenformat.Key{g.rotatedKey, st.Keys[0]}}); err != nil {
		return nil, err
	}
	return g, nil
}

// secrets every gateway test may have seen; assertNoLeaks looks for them in the handler's logs
// and in the gateway's audit events.
var gwSecrets struct {
	sync.Mutex
	values []string
}

// remember records a secret value (token, code, cookie) that must never appear in a log line.
func remember(values ...string) {
	gwSecrets.Lock()
	defer gwSecrets.Unlock()
	for _, v := range values {
		if len(v) >= 16 {
			gwSecrets.values = append(gwSecrets.values, v)
		}
	}
}

func (g *gatewayStack) assertNoLeaks(t *testing.T) {
	t.Helper()
	gwSecrets.Lock()
	secrets := append([]string{g.FunctionKey, g.MSI.Header(), g.Keys[0].EncBase64(), g.Keys[0].MACBase64(),
		g.rotatedKey.EncBase64(), g.rotatedKey.MACBase64(), base64.StdEncoding.EncodeToString(g.CookieKey)}, gwSecrets.values...)
	gwSecrets.Unlock()
	var lines []string
	for _, gwy := range []*apimemu.Gateway{g.Gateway, g.short, g.limited, g.rotated} {
		events, err := gwy.Events()
		if err != nil {
			t.Errorf("gateway events: %v", err)
		}
		for _, e := range events {
			b, _ := json.Marshal(e)
			lines = append(lines, string(b))
		}
	}
	assertNoSecrets(t, "gateway audit events", lines, secrets...)
	assertNoSecrets(t, "handler stdout (gateway stack)", g.Handler.Stdout(), secrets...)
	assertNoSecrets(t, "handler stderr (gateway stack)", strings.Split(g.Handler.Stderr(), "\n"), secrets...)
}

// auditEvents returns the gateway's audit events (trace source mcp-gateway) as JSON objects.
func auditEvents(t *testing.T, gwy *apimemu.Gateway) []map[string]any {
	t.Helper()
	events, err := gwy.Events()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, e := range events {
		if e.Type != "trace" || e.Source != "mcp-gateway" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(e.Message), &m); err != nil {
			t.Fatalf("audit event is not JSON (%d bytes)", len(e.Message))
		}
		out = append(out, m)
	}
	return out
}

// client trusts the local CA, keeps no cookies and does not follow redirects.
func (g *gatewayStack) client() *http.Client {
	c := g.CA.HTTPClient()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// pkce is an RFC 7636 verifier and its S256 challenge.
type pkce struct{ verifier, challenge string }

func newPKCE() pkce {
	v := randomString(32)
	h := sha256.Sum256([]byte(v))
	return pkce{v, base64.RawURLEncoding.EncodeToString(h[:])}
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// register does RFC 7591 registration at gateway base and returns the client_id.
func (g *gatewayStack) register(t *testing.T, base string, meta map[string]any) string {
	t.Helper()
	status, body := g.postJSON(t, base+"/register", meta)
	if status != http.StatusCreated {
		t.Fatalf("register: status %d, error %v", status, body["error"])
	}
	id, _ := body["client_id"].(string)
	if id == "" {
		t.Fatal("register: no client_id")
	}
	return id
}

func (g *gatewayStack) postJSON(t *testing.T, u string, v any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(v)
	resp, err := g.client().Post(u, "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return decodeJSON(t, resp)
}

func (g *gatewayStack) postForm(t *testing.T, u string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := g.client().PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	return decodeJSON(t, resp)
}

func decodeJSON(t *testing.T, resp *http.Response) (int, map[string]any) {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := map[string]any{}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: status %d, body is not JSON (%d bytes)", resp.Request.URL.Path, resp.StatusCode, len(b))
		}
	}
	m["_cache_control"] = resp.Header.Get("Cache-Control")
	return resp.StatusCode, m
}

// authorizeURL builds an authorization request for client at the gateway base.
func authorizeURL(base, clientID, redirectURI, state string, p pkce, extra url.Values) string {
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {clientID},
		"redirect_uri":          {redirectURI},
		"state":                 {state},
		"code_challenge":        {p.challenge},
		"code_challenge_method": {"S256"},
		"resource":              {base + "/mcp"},
		"scope":                 {"mcp:tools"},
	}
	for k, v := range extra {
		if len(v) == 0 {
			q.Del(k)
		} else {
			q[k] = v
		}
	}
	return base + "/authorize?" + q.Encode()
}
