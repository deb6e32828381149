package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/graphmcp/internal/apimemu"
	"example.com/graphmcp/internal/freeport"
	"example.com/graphmcp/internal/localstack"
	"example.com/graphmcp/internal/tokenformat"
)

// The adversarial review (docs/security-model.md §9): each test here was written to fail
// against a defect of the policies and passes since the fix; the last test keeps the checks
// that found the policies already sound. They run the real policy files in the emulator.

// oddGateway is an extra emulator over the stack's keys and Entra stand-in whose function is a
// recorder (backend): /mcp answers 200 and records what the gateway forwarded, every
// /internal/v1 call answers 401 with no body, as the Functions host does for a wrong function
// key. Its token budget (token-rate-limit-calls) is tiny, for the rate-limit tests.
type oddGateway struct {
	*apimemu.Gateway
	mu      sync.Mutex
	seen    []http.Request // requests that reached /mcp (headers and URL only)
	entraAT string         // the Entra token sealed into tokens for this gateway
}

const oddTokenRate = 3

var (
	oddOnce sync.Once
	odd     *oddGateway
	oddErr  error
)

func getOddGateway(t *testing.T, g *gatewayStack) *oddGateway {
	t.Helper()
	oddOnce.Do(func() {
		o := &oddGateway{entraAT: "entra-at-" + randomString(24)}
		backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/internal/") {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			o.mu.Lock()
			o.seen = append(o.seen, http.Request{Header: r.Header.Clone(), URL: r.URL})
			o.mu.Unlock()
			http.SetCookie(w, &http.Cookie{Name: "ARRAffinity", Value: "backend-instance", Path: "/"})
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{}}`)
		}))
		atExit(backend.Close)
		o.Gateway, oddErr = startOwnGateway(g, localstack.GatewayOptions{TokenRateLimit: oddTokenRate, OmitRetryAfterHeader: true}, func(nv map[string]string) {
			nv["function-base-url"] = backend.URL
		})
		if oddErr == nil {
			odd = o
		}
	})
	if oddErr != nil {
		t.Fatalf("odd gateway: %v", oddErr)
	}
	t.Cleanup(func() {
		events, _ := odd.Events()
		var lines []string
		for _, e := range events {
			b, _ := json.Marshal(e)
			lines = append(lines, string(b))
		}
		assertNoSecrets(t, "odd gateway audit events", lines, g.FunctionKey, odd.entraAT)
	})
	return odd
}

// startOwnGateway starts an emulator over the stack's keys, Entra and managed-identity stand-ins
// on a port of its own, with the stack's named values for it as edited by edit; it closes at exit.
func startOwnGateway(g *gatewayStack, opts localstack.GatewayOptions, edit func(nv map[string]string)) (*apimemu.Gateway, error) {
	ln, err := freeport.Listen()
	if err != nil {
		return nil, err
	}
	nv := g.NamedValues("https://"+ln.Addr().String(), opts)
	edit(nv)
	tlsCfg, err := g.CA.ServerTLSConfig("127.0.0.1")
	if err != nil {
		ln.Close()
		return nil, err
	}
	gw, err := apimemu.Start(context.Background(), &apimemu.Options{NamedValues: nv, TLS: tlsCfg, Listener: ln,
		MSIEndpoint: g.MSI.Endpoint(), MSIHeader: g.MSI.Header(), Stdout: io.Discard, Stderr: io.Discard,
		OmitRetryAfterHeader: opts.OmitRetryAfterHeader})
	if err != nil {
		return nil, err
	}
	atExit(func() { gw.Close() })
	return gw, nil
}

// token seals a valid access token for this gateway (as the gateway's own /token would).
func (o *oddGateway) token(t *testing.T, g *gatewayStack) string {
	t.Helper()
	now := time.Now()
	tok, err := tokenformat.SealAccessToken(g.Keys[0], tokenformat.AccessToken{ClientID: "ODDCLIENT", Resource: o.URL() + "/mcp",
		ObjectID: "00000000-0000-0000-0000-0000000000aa", Scope: "mcp:tools", IssuedAt: now.Unix(), Expiry: now.Add(time.Hour).Unix(), Entra: o.entraAT})
	if err != nil {
		t.Fatal(err)
	}
	remember(tok)
	return tok
}

// clientFrom is the stack's client with a fixed loopback source address, so that a rate-limit
// test has a counter of its own.
func (g *gatewayStack) clientFrom(ip string) *http.Client {
	c := g.client()
	tr := g.CA.HTTPClient().Transport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext
	c.Transport = tr
	return c
}

func readAll(t *testing.T, resp *http.Response, err error) (int, http.Header, string) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func fingerprint(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:4])
}

// TestGatewayTokenErrorsRevealNoBinding: a code presented with a wrong binding is burnt, and
// the answer must not say which binding was wrong (docs/internal-api.md: every invalid_grant
// reason maps to one answer). The gateway used to relay the state service's own description
// ("code_verifier does not match the code_challenge", "the authorization code was issued to
// another client", "code is longer than 2000 bytes"), an oracle for whoever holds a stolen code.
// The audit event keeps the finer reason for operators.
func TestGatewayTokenErrorsRevealNoBinding(t *testing.T) {
	g := getGatewayStack(t)
	base := g.GatewayURL()
	clientID := g.newClient(t, base, negRedirect)
	otherClient := g.newClient(t, base, negRedirect)
	cases := map[string]func(code string, p pkce) url.Values{
		"another client": func(code string, p pkce) url.Values { return tokenForm(otherClient, code, negRedirect, p.verifier) },
		"another redirect URI": func(code string, p pkce) url.Values {
			return tokenForm(clientID, code, "http://127.0.0.1:7777/x", p.verifier)
		},
		"another verifier": func(code string, p pkce) url.Values {
			return tokenForm(clientID, code, negRedirect, newPKCE().verifier)
		},
		"unknown code": func(string, pkce) url.Values {
			return tokenForm(clientID, randomString(32), negRedirect, newPKCE().verifier)
		},
	}
	descriptions := map[string]string{}
	for name, form := range cases {
		p := newPKCE()
		code := ""
		if name != "unknown code" {
			code = g.codeFor(t, base, clientID, negRedirect, p)
		}
		st, body := g.postForm(t, base+"/token", form(code, p))
		wantOAuthError(t, st, body, http.StatusBadRequest, "invalid_grant", code)
		d, _ := body["error_description"].(string)
		descriptions[name] = d
		for _, word := range []string{"verifier does not", "challenge", "issued to another", "differs"} {
			if strings.Contains(d, word) {
				t.Errorf("%s: the description tells which binding failed: %q", name, d)
			}
		}
	}
	for name, d := range descriptions {
		if d != descriptions["unknown code"] {
			t.Errorf("%s: description %q differs from an unknown code's %q", name, d, descriptions["unknown code"])
		}
	}
	// Malformed values are the client's error, but the state service's wording stays inside.
	st, body := g.postForm(t, base+"/token", tokenForm(clientID, strings.Repeat("A", 3000), negRedirect, newPKCE().verifier))
	wantOAuthError(t, st, body, http.StatusBadRequest, "invalid_request")
	if d, _ := body["error_description"].(string); strings.Contains(d, "2000 bytes") {
		t.Errorf("the state service's description reached the client: %q", d)
	}
	// Operators still see which check failed.
	found := false
	for _, e := range auditEvents(t, g.Gateway) {
		r, _ := e["reason"].(string)
		found = found || (e["event"] == "request.refused" && strings.Contains(r, "pkce_failed"))
	}
	if !found {
		t.Error("no request.refused audit event names pkce_failed")
	}
}

// TestGatewayCodeBoundToThisResource: a code is bound to the resource of its authorization
// request (RFC 8707). A token request without resource used to skip that check, so a code
// issued for another gateway's MCP URL (another deployment over the same state service)
// minted a token for this one.
func TestGatewayCodeBoundToThisResource(t *testing.T) {
	g := getGatewayStack(t)
	other := g.short.URL()
	clientID := g.newClient(t, other, negRedirect)
	for name, resource := range map[string]string{"without resource": "", "with this resource": g.MCPURL()} {
		t.Run(name, func(t *testing.T) {
			p := newPKCE()
			code := g.codeFor(t, other, clientID, negRedirect, p)
			form := tokenForm(clientID, code, negRedirect, p.verifier)
			want := "invalid_grant"
			if resource != "" {
				form.Set("resource", resource)
				want = "invalid_target"
			}
			st, body := g.postForm(t, g.GatewayURL()+"/token", form)
			if at, _ := body["access_token"].(string); at != "" {
				remember(at, body["refresh_token"].(string))
			}
			wantOAuthError(t, st, body, http.StatusBadRequest, want, code)
		})
	}
}

// TestGatewayClientAuthenticationChallenge: RFC 6749 §5.2 — a client that authenticates with the
// Authorization header and is refused gets 401 with a WWW-Authenticate for its scheme. The
// gateway answered 401 without one.
func TestGatewayClientAuthenticationChallenge(t *testing.T) {
	g := getGatewayStack(t)
	base := g.GatewayURL()
	for scheme, want := range map[string]string{"Basic": "Basic", "basic": "basic", `Bad"Scheme`: "Basic"} {
		req, _ := http.NewRequest(http.MethodPost, base+"/token", strings.NewReader(tokenForm("C", randomString(32), negRedirect, newPKCE().verifier).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", scheme+" Y2xpZW50OnNlY3JldA==")
		st, h, body := readAll(t, mustDo(t)(g.client().Do(req)), nil)
		var m map[string]any
		json.Unmarshal([]byte(body), &m)
		if st != http.StatusUnauthorized || m["error"] != "invalid_client" || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: %d %v, Cache-Control %q", scheme, st, m["error"], h.Get("Cache-Control"))
		}
		if w := h.Get("WWW-Authenticate"); w != want+` realm="`+base+`"` {
			t.Errorf("%s: WWW-Authenticate %q", scheme, w)
		}
	}
}

// TestGatewayConsentPageHostileClient: registration accepts what Go's URL parser accepts, which
// includes authorities System.Uri refuses (a port above 65535, ";" or "," in the host). The
// consent page computed its CSP form-action source with System.Uri and answered 500; a naive
// string cut would have copied ";"/"," into the CSP header. Names and URIs full of markup are
// shown encoded (that part was sound).
func TestGatewayConsentPageHostileClient(t *testing.T) {
	g := getGatewayStack(t)
	base := g.GatewayURL()
	entraOrigin := g.Entra.URL()
	cspFor := func(target, body string) string {
		if target != "" {
			target = " " + target
		}
		return "default-src 'none'; style-src " + styleHashSource(body) + "; img-src 'none'; form-action 'self' " + entraOrigin + target + "; frame-ancestors 'none'; base-uri 'none'"
	}
	const hostileName = `<script>alert(1)</script><img src=x onerror=alert(2)>"'&`
	cases := []struct{ redirect, source string }{
		{`https://app.example/cb?x="><script>alert(3)</script>`, "https://app.example"},
		{"https://app.example:99999/cb", "https://app.example:99999"},
		{"https://a;script-src.example/cb", ""},
		{"https://a,b.example/cb", ""},
		{`https://a"b.example/cb`, ""},
		{"https://[::1]:8443/cb", "https://[::1]:8443"},
		{"com.example.app:/cb", "com.example.app:"},
	}
	for _, c := range cases {
		t.Run(c.redirect, func(t *testing.T) {
			st, body := g.postJSON(t, base+"/register", map[string]any{"client_name": hostileName, "redirect_uris": []string{c.redirect}})
			if st != http.StatusCreated {
				t.Logf("registration refuses it (%v): nothing to render", body["error"]) // a stricter registration is fine too
				return
			}
			id := body["client_id"].(string)
			f := newUserAgent(g, base).run(t, authorizeURL(base, id, c.redirect, `"><script>alert(4)</script>`, newPKCE(), nil), "", nil)
			if f.Redirect != nil || f.Status != http.StatusOK || !strings.Contains(f.Body, `id="approve"`) {
				t.Fatalf("want the consent page, got %v", f)
			}
			for _, raw := range []string{"<script", "<img", "onerror=alert(2)>"} {
				if strings.Contains(f.Body, raw) {
					t.Errorf("the consent page contains unencoded markup %q", raw)
				}
			}
			resp, err := newUserAgent(g, base).c.Get(strings.Replace(authorizeURL(base, id, c.redirect, "s", newPKCE(), nil), "/authorize?", "/consent?", 1))
			_, h, page := readAll(t, resp, err)
			if got := h.Values("Content-Security-Policy"); len(got) != 1 || got[0] != cspFor(c.source, page) {
				t.Errorf("CSP = %q, want %q", got, cspFor(c.source, page))
			}
		})
	}
}

// TestGatewayRateLimitAnswers: throttled OAuth answers were APIM's bare
// {"statusCode":429,"message":…} without Cache-Control: no-store; they are now RFC 6749
// §5.2-shaped JSON with Retry-After and no-store. /authorize and /consent had no limit at all,
// although each authorization request can write a transaction and a URL client_id makes the
// state service fetch a document (a request reflector toward any host): they now share the
// token-rate-limit-calls budget per client IP, each endpoint its own counter.
func TestGatewayRateLimitAnswers(t *testing.T) {
	g := getGatewayStack(t)
	o := getOddGateway(t, g)
	c := g.clientFrom("127.0.0.3")
	want429 := func(t *testing.T, what string, do func() (*http.Response, error)) {
		t.Helper()
		var st int
		var h http.Header
		var body string
		for i := 0; i <= oddTokenRate; i++ {
			st, h, body = readAll(t, mustDo(t)(do()), nil)
			if i < oddTokenRate && st == http.StatusTooManyRequests {
				t.Fatalf("%s: throttled after %d requests, budget %d", what, i, oddTokenRate)
			}
		}
		var m map[string]any
		json.Unmarshal([]byte(body), &m)
		if st != http.StatusTooManyRequests || h.Get("Cache-Control") != "no-store" || m["error"] != "temporarily_unavailable" {
			t.Fatalf("%s: request %d: %d, Cache-Control %q, error %v; want 429 temporarily_unavailable with no-store",
				what, oddTokenRate+1, st, h.Get("Cache-Control"), m["error"])
		}
		wantRetryAfter(t, what, h, m)
	}
	authz := authorizeURL(o.URL(), "ABCDEFGHIJKLMNOPQRSTUVWXYZ", negRedirect, "s", newPKCE(), nil)
	want429(t, "/authorize", func() (*http.Response, error) { return c.Get(authz) })
	want429(t, "GET /consent", func() (*http.Response, error) { return c.Get(strings.Replace(authz, "/authorize?", "/consent?", 1)) })
	want429(t, "/token", func() (*http.Response, error) {
		return c.PostForm(o.URL()+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x.y"}, "client_id": {"C"}})
	})
	want429(t, "/revoke", func() (*http.Response, error) {
		return c.PostForm(o.URL()+"/revoke", url.Values{"token": {"x.y.z"}})
	})
	// The register limit on the limited gateway: the same shape.
	c2 := g.clientFrom("127.0.0.4")
	var st int
	var h http.Header
	for i := 0; i <= limitedRegisterRate; i++ {
		st, h, _ = readAll(t, mustDo(t)(c2.Post(g.limited.URL()+"/register", "application/json", strings.NewReader(`{"redirect_uris":["http://127.0.0.1/cb"]}`))), nil)
	}
	if st != http.StatusTooManyRequests || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("/register throttled: %d, Cache-Control %q", st, h.Get("Cache-Control"))
	}
	wantRetryAfter(t, "/register", h, nil)
}

// wantRetryAfter checks a throttled answer's Retry-After: whole seconds within the 60 s window,
// the same number as its error_description. The gateways of these tests run an emulator that
// adds no Retry-After to its 429 (APIM's documentation does not say its 429 keeps one into
// on-error), so the header is the policies' own (fragments/api-error.xml).
func wantRetryAfter(t *testing.T, what string, h http.Header, body map[string]any) {
	t.Helper()
	ra := h.Get("Retry-After")
	secs, err := strconv.Atoi(ra)
	if err != nil || secs < 1 || secs > 60 {
		t.Fatalf("%s: Retry-After %q, want whole seconds 1..60", what, ra)
	}
	if body != nil && body["error_description"] != "Too many requests; retry after "+ra+" seconds." {
		t.Errorf("%s: error_description %q does not name Retry-After %s", what, body["error_description"], ra)
	}
}

// TestGatewayStateServiceFaults: when the state service refuses the gateway itself (here: the
// Functions host answering 401 to a wrong function key), the client must see a server fault,
// not its own: registration said invalid_client_metadata, /token invalid_grant (so clients drop
// good state and loop through sign-in), /authorize "redirect_uri is not registered", and /revoke
// answered 200 although nothing was revoked — a user signing out kept a live refresh token.
func TestGatewayStateServiceFaults(t *testing.T) {
	g := getGatewayStack(t)
	o := getOddGateway(t, g)
	c := g.clientFrom("127.0.0.5")
	st, body := decodeJSON(t, mustDo(t)(c.Post(o.URL()+"/register", "application/json", strings.NewReader(`{"redirect_uris":["http://127.0.0.1/cb"]}`))))
	wantOAuthError(t, st, body, http.StatusInternalServerError, "server_error")
	st, body = decodeJSON(t, mustDo(t)(c.PostForm(o.URL()+"/token", tokenForm("ABCDEFGHIJKLMNOPQRSTUVWXYZ", randomString(32), negRedirect, newPKCE().verifier))))
	wantOAuthError(t, st, body, http.StatusInternalServerError, "server_error")
	st, body = decodeJSON(t, mustDo(t)(c.PostForm(o.URL()+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x.y"}, "client_id": {"C"}})))
	wantOAuthError(t, st, body, http.StatusInternalServerError, "server_error")
	st, body = decodeJSON(t, mustDo(t)(c.PostForm(o.URL()+"/revoke", url.Values{"token": {"FAMILYAAAAAAAAAAAAAAAAAAAA." + randomString(32)}})))
	wantOAuthError(t, st, body, http.StatusServiceUnavailable, "temporarily_unavailable")
	f := newUserAgent(g, o.URL()).run(t, authorizeURL(o.URL(), "ABCDEFGHIJKLMNOPQRSTUVWXYZ", negRedirect, "s", newPKCE(), nil), "", nil)
	wantPage(t, f, http.StatusInternalServerError, "server_error")
}

// TestGatewayBackendUnauthorized: a 401 from behind the /mcp gate. The Functions host answers a
// wrong function key with a bare 401 (no WWW-Authenticate); the gate relayed it, so clients were
// told to authenticate again — and looped through sign-in — because of the gateway's own
// misconfiguration. Now that is a 502 server_error (no-store, no challenge). A 401 with a Bearer
// challenge (the handler refusing the Entra token inside a valid MCP token) becomes this gateway's
// invalid_token challenge, naming its resource metadata and scope rather than the handler's.
func TestGatewayBackendUnauthorized(t *testing.T) {
	g := getGatewayStack(t)
	wrongKey := "wrong-function-key-" + randomString(16)
	remember(wrongKey)
	gw, err := startOwnGateway(g, localstack.GatewayOptions{}, func(nv map[string]string) { nv["function-key"] = wrongKey })
	if err != nil {
		t.Fatalf("gateway with a wrong function key: %v", err)
	}
	seal := func(resource, entra string) string {
		now := time.Now()
		tok, err := tokenformat.SealAccessToken(g.Keys[0], tokenformat.AccessToken{ClientID: "BACKEND401CLIENT", Resource: resource,
			ObjectID: "00000000-0000-0000-0000-0000000000bb", Scope: "mcp:tools", IssuedAt: now.Unix(), Expiry: now.Add(time.Hour).Unix(), Entra: entra})
		if err != nil {
			t.Fatal(err)
		}
		remember(tok)
		return tok
	}
	entraAT := "not-an-entra-token-" + randomString(24)
	remember(entraAT)

	st, h, body := g.mcpCall(t, gw.URL()+"/mcp", "Bearer "+seal(gw.URL()+"/mcp", entraAT), nil)
	var e map[string]any
	if err := json.Unmarshal([]byte(body), &e); err != nil || st != http.StatusBadGateway || e["error"] != "server_error" {
		t.Fatalf("wrong function key: %d %v, want 502 server_error", st, e["error"])
	}
	if h.Get("Cache-Control") != "no-store" || h.Get("WWW-Authenticate") != "" {
		t.Fatalf("wrong function key: Cache-Control %q, WWW-Authenticate %q; want no-store and no challenge", h.Get("Cache-Control"), h.Get("WWW-Authenticate"))
	}
	noEcho(t, body, wrongKey, g.FunctionKey, entraAT)
	refused := false
	for _, ev := range auditEvents(t, gw) {
		refused = refused || strings.Contains(fmt.Sprint(ev["reason"]), "without a Bearer challenge")
	}
	if !refused {
		t.Error("no audit event names the backend's bare 401")
	}

	st, h, body = g.mcpCall(t, g.MCPURL(), "Bearer "+seal(g.MCPURL(), entraAT), nil)
	wantInvalidToken(t, g, st, h, body, entraAT)
}

func mustDo(t *testing.T) func(*http.Response, error) *http.Response {
	return func(resp *http.Response, err error) *http.Response {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
}

// TestGatewayForwardsNoSpoofedHeaders: what reaches the function's /mcp. The gate removed the
// documented identity headers, but forwarded the other headers App Service, the Functions host
// or a framework may trust for the client address, scheme, host, TLS client certificate, Easy
// Auth session or method (Forwarded, X-Forwarded-For/-Proto, X-ARR-ClientCert, Disguised-Host,
// X-MS-Original-URL, X-ZUMO-AUTH, X-HTTP-Method-Override, …), a ?code= function key, and
// passed the function's Set-Cookie back onto the gateway origin.
func TestGatewayForwardsNoSpoofedHeaders(t *testing.T) {
	g := getGatewayStack(t)
	o := getOddGateway(t, g)
	tok := o.token(t, g)
	spoofed := []string{
		// the documented list (docs/security-model.md §4)
		"X-Functions-Key", "X-MS-Client-Principal", "X-MS-Client-Principal-Id", "X-MS-Client-Principal-Name", "X-MS-Client-Principal-Idp",
		"X-MS-Token-AAD-Access-Token", "X-MS-Token-AAD-Id-Token", "X-MS-Token-AAD-Refresh-Token", "X-MS-Invocation-Id",
		"X-Azure-Functions-InvocationId", "X-Azure-Functions-HostVersion", "X-Forwarded-Host", "X-Original-URL", "X-Original-Host",
		"X-MCP-User", "Cookie",
		// added by this review
		"Forwarded", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Port", "X-Forwarded-Prefix", "X-Real-IP", "X-Client-IP", "Client-IP",
		"X-ARR-SSL", "X-ARR-ClientCert", "Disguised-Host", "WAS-Default-Hostname", "X-MS-Original-URL", "X-WAWS-Unencoded-URL",
		"X-AppService-Proto", "X-Site-Deployment-Id", "X-ZUMO-AUTH", "X-MS-Token-AAD-Expires-On", "X-HTTP-Method-Override",
		"X-HTTP-Method", "X-Method-Override",
	}
	req, _ := http.NewRequest(http.MethodPost, o.URL()+"/mcp?code=attacker-key&keep=1", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	for i, name := range spoofed {
		// two lines each, in odd casing: deletion must be by name, case-insensitively, and total
		req.Header[strings.ToLower(name)] = []string{"spoof-a", "spoof-b"}
		if i%2 == 0 {
			req.Header[strings.ToUpper(name)] = []string{"spoof-c"}
		}
	}
	o.mu.Lock()
	o.seen = nil
	o.mu.Unlock()
	st, h, _ := readAll(t, mustDo(t)(g.client().Do(req)), nil)
	if st != http.StatusOK {
		t.Fatalf("status %d", st)
	}
	if h.Get("Set-Cookie") != "" {
		t.Error("the function's Set-Cookie reached the client")
	}
	o.mu.Lock()
	seen := o.seen
	o.mu.Unlock()
	if len(seen) != 1 {
		t.Fatalf("%d requests reached the function, want 1", len(seen))
	}
	got := seen[0]
	for _, name := range spoofed {
		if name == "X-Functions-Key" {
			continue
		}
		if v := got.Header.Values(name); len(v) > 0 {
			t.Errorf("%s reached the function (%d values)", name, len(v))
		}
	}
	if a := got.Header.Values("Authorization"); len(a) != 1 || a[0] != "Bearer "+o.entraAT {
		t.Errorf("Authorization toward the function: %d values, fingerprint %v (want the Entra token only)", len(a), fingerprintAll(a))
	}
	if k := got.Header.Values("X-Functions-Key"); len(k) != 1 || k[0] != g.FunctionKey {
		t.Errorf("x-functions-key toward the function: %d values, fingerprint %v (want the gateway's key only)", len(k), fingerprintAll(k))
	}
	if q := got.URL.Query(); q.Has("code") || q.Get("keep") != "1" {
		t.Errorf("query toward the function: code present %v, other parameters kept %v", q.Has("code"), q.Get("keep") == "1")
	}
}

func fingerprintAll(vs []string) []string {
	var out []string
	for _, v := range vs {
		out = append(out, fingerprint(v))
	}
	return out
}

// TestGatewayAdversarialControls keeps the attacks the review tried that the policies already
// withstood, so that they stay withstood.
func TestGatewayAdversarialControls(t *testing.T) {
	g := getGatewayStack(t)
	base := g.GatewayURL()
	clientID := g.newClient(t, base, negRedirect, "http://[::1]:7777/cb", "https://app.example/cb", "cursor://anysphere.cursor-mcp/oauth/callback")
	otherClient := g.newClient(t, base, negRedirect)

	// Redirect URI matching: exact, except the port of loopback http (RFC 8252 §7.3).
	for _, r := range []string{
		"http://LOCALHOST:7777/cb", "http://127.0.0.1:7777/CB", "http://127.0.0.1:7777/cb/", "http://127.0.0.1:7777/c%62",
		"http://user@127.0.0.1:7777/cb", "http://127.0.0.1:7777/cb?", "http://127.1:7777/cb", "http://0x7f000001:7777/cb",
		"http://127.0.0.1:7777//cb", "http://127.0.0.1:7777/x/../cb", "http://[0:0:0:0:0:0:0:1]:7777/cb", "http://127.0.0.1.nip.io:7777/cb",
		"https://app.example:443/cb", "https://app.example:8443/cb", "https://APP.example/cb", "https://app.example/cb/", "http://app.example/cb",
		"CURSOR://anysphere.cursor-mcp/oauth/callback", "cursor://anysphere.cursor-mcp/oauth/callback/", "https://app.example/cb\r\nX: y",
	} {
		t.Run("redirect "+r, func(t *testing.T) {
			wantPage(t, newUserAgent(g, base).run(t, authorizeURL(base, clientID, r, "s", newPKCE(), nil), "", nil), http.StatusBadRequest, "invalid_redirect_uri")
		})
	}
	for _, r := range []string{"http://127.0.0.1:1/cb", "http://[::1]:65000/cb", "https://app.example/cb", "cursor://anysphere.cursor-mcp/oauth/callback"} {
		t.Run("redirect accepted "+r, func(t *testing.T) {
			f := newUserAgent(g, base).run(t, authorizeURL(base, clientID, r, "s", newPKCE(), nil), "", nil)
			if f.Redirect != nil || f.Status != http.StatusOK || !strings.Contains(f.Body, `id="approve"`) {
				t.Fatalf("want the consent page, got %v", f)
			}
		})
	}
	t.Run("consent form of client A posted for client B", func(t *testing.T) {
		f := newUserAgent(g, base).run(t, authorizeURL(base, clientID, negRedirect, "c", newPKCE(), nil), "approve",
			func(v url.Values, _ http.Header) { v.Set("client_id", otherClient) })
		wantPage(t, f, http.StatusForbidden, "access_denied")
	})
	t.Run("consent for one loopback port is not consent for another", func(t *testing.T) {
		ua := newUserAgent(g, base)
		p := newPKCE()
		codeFrom(t, ua.run(t, authorizeURL(base, clientID, negRedirect, "s", p, nil), "approve", nil), "s", base)
		ua.stop = func(*url.URL) bool { return true }
		if f := ua.run(t, authorizeURL(base, clientID, "http://127.0.0.1:5555/cb", "s", p, nil), "", nil); f.Redirect == nil || f.Redirect.Path != "/consent" {
			t.Fatalf("another port must ask again, got %v", f)
		}
	})
	t.Run("state with CR LF, quotes and non-ASCII comes back byte for byte", func(t *testing.T) {
		state := "a\r\nSet-Cookie: evil=1\"<>'&=+ %ü#"
		f := newUserAgent(g, base).run(t, authorizeURL(base, clientID, negRedirect, state, newPKCE(), nil), "approve", nil)
		codeFrom(t, f, state, base)
		f = newUserAgent(g, base).run(t, authorizeURL(base, clientID, negRedirect, state, newPKCE(), url.Values{"response_type": {"token"}}), "", nil)
		wantRedirectError(t, f, base, negRedirect, state, "unsupported_response_type")
	})
	t.Run("revocation by another client revokes nothing (RFC 7009 §2.1)", func(t *testing.T) {
		gr := g.authorize(t, base)
		resp, err := g.client().PostForm(base+"/revoke", url.Values{"token": {gr.refresh}, "client_id": {otherClient}})
		if st, _, _ := readAll(t, resp, err); st != http.StatusOK {
			t.Fatalf("revoke: %d", st)
		}
		st, body := g.postForm(t, base+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {gr.refresh}, "client_id": {gr.clientID}})
		if st != http.StatusOK {
			t.Fatalf("the owner's refresh after another client's revocation: %d %v", st, body["error"])
		}
		remember(body["access_token"].(string), body["refresh_token"].(string))
	})
	t.Run("revocation at another gateway revokes nothing", func(t *testing.T) {
		// The short gateway shares the state service but serves another resource (its own /mcp):
		// a refresh family is bound to the gateway that issued it, for /token and /revoke alike.
		gr := g.authorize(t, base)
		resp, err := g.client().PostForm(g.short.URL()+"/revoke", url.Values{"token": {gr.refresh}, "client_id": {gr.clientID}})
		if st, _, _ := readAll(t, resp, err); st != http.StatusOK {
			t.Fatalf("revoke at another gateway: %d, want 200 (RFC 7009 §2.2)", st)
		}
		st, body := g.postForm(t, base+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {gr.refresh}, "client_id": {gr.clientID}})
		if st != http.StatusOK {
			t.Fatalf("refresh at the issuing gateway after another gateway's revocation: %d %v", st, body["error"])
		}
		next := body["refresh_token"].(string)
		remember(body["access_token"].(string), next)
		resp, err = g.client().PostForm(base+"/revoke", url.Values{"token": {next}, "client_id": {gr.clientID}})
		if st, _, _ := readAll(t, resp, err); st != http.StatusOK {
			t.Fatalf("revoke at the issuing gateway: %d", st)
		}
		st, body = g.postForm(t, base+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next}, "client_id": {gr.clientID}})
		wantOAuthError(t, st, body, http.StatusBadRequest, "invalid_grant", next)
	})
	t.Run("tokens of one kind are refused as another", func(t *testing.T) {
		gr := g.authorize(t, base)
		st, h, body := g.mcpCall(t, g.MCPURL(), "Bearer "+gr.refresh, nil)
		wantInvalidToken(t, g, st, h, body, gr.refresh)
		st2, b2 := g.postForm(t, base+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {gr.access}, "client_id": {gr.clientID}})
		wantOAuthError(t, st2, b2, http.StatusBadRequest, "invalid_grant", gr.access)
		at, err := tokenformat.OpenAccessToken(g.Keys, gr.access, g.MCPURL(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		rt, _ := tokenformat.Seal(g.Keys[0], tokenformat.PurposeRefresh, []byte(`{"v":1,"cid":"`+gr.clientID+`","res":"`+g.MCPURL()+`","exp":9999999999,"eat":"`+at.Entra+`"}`))
		st, h, body = g.mcpCall(t, g.MCPURL(), "Bearer "+rt, nil)
		wantInvalidToken(t, g, st, h, body, rt, at.Entra)
	})
	t.Run("access token only in the Authorization header", func(t *testing.T) {
		gr := g.authorize(t, base)
		resp, err := g.client().Post(g.MCPURL()+"?access_token="+url.QueryEscape(gr.access), "application/json", strings.NewReader(`{}`))
		st, h, _ := readAll(t, resp, err)
		if st != http.StatusUnauthorized || strings.Contains(h.Get("WWW-Authenticate"), "error=") {
			t.Fatalf("a query-string token: %d %q, want the no-token challenge", st, h.Get("WWW-Authenticate"))
		}
		for _, a := range []string{"Bearer " + gr.access + " extra", "Bearer\t" + gr.access, "Bearer " + gr.access + "."} {
			st, h, body := g.mcpCall(t, g.MCPURL(), a, nil)
			wantInvalidToken(t, g, st, h, body, gr.access)
		}
		if st, _, _ := g.mcpCall(t, g.MCPURL(), "bearer "+gr.access, nil); st != http.StatusOK {
			t.Fatalf("the scheme is case-insensitive (RFC 6750 §2.1): %d", st)
		}
	})
	t.Run("registration JSON type confusion and oversized inputs", func(t *testing.T) {
		for _, body := range []string{`{"redirect_uris":"https://a.example/cb"}`, `{"redirect_uris":null}`, `{"redirect_uris":[123]}`,
			`{"redirect_uris":["https://a.example/cb"],"client_name":123}`, `{"redirect_uris":["https://a.example/cb"],"grant_types":"authorization_code"}`,
			`{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"client_secret_basic"}`, `[]`, `"x"`, `null`,
			`{"redirect_uris":["https://a.example/cb"]} {}`, `{"redirect_uris":["javascript:alert(1)"]}`, `{"redirect_uris":["https://user@a.example/cb"]}`} {
			st, b := decodeJSON(t, mustDo(t)(g.client().Post(base+"/register", "application/json", strings.NewReader(body))))
			if st != http.StatusBadRequest || (b["error"] != "invalid_client_metadata" && b["error"] != "invalid_redirect_uri") || b["_cache_control"] != "no-store" {
				t.Errorf("%s: %d %v", body, st, b["error"])
			}
		}
		// 8000 levels of nesting within the 16 KiB limit: parsed without harm (the field is ignored)
		deep := `{"redirect_uris":["http://127.0.0.1/cb"],"x":` + strings.Repeat("[", 8000) + strings.Repeat("]", 8000) + `}`
		if st, b := decodeJSON(t, mustDo(t)(g.client().Post(base+"/register", "application/json", strings.NewReader(deep)))); st != http.StatusCreated {
			t.Errorf("deeply nested registration: %d %v", st, b["error"])
		}
		if f := newUserAgent(g, base).run(t, base+"/authorize?client_id="+strings.Repeat("A", 60000)+"&redirect_uri="+url.QueryEscape(negRedirect), "", nil); f.Redirect != nil || f.Status != http.StatusBadRequest {
			t.Errorf("a 60 kB client_id: %v", f)
		}
		st, b := g.postForm(t, base+"/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {randomString(32)},
			"redirect_uri": {negRedirect}, "code_verifier": {strings.Repeat("a", 129)}})
		wantOAuthError(t, st, b, http.StatusBadRequest, "invalid_request")
	})
	t.Run("no route reaches the internal API", func(t *testing.T) {
		for _, p := range []string{"/internal/v1/health", "/mcp/../internal/v1/health", "/mcp/%2e%2e/internal/v1/clients/get"} {
			req, _ := http.NewRequest(http.MethodPost, base+p, strings.NewReader(`{}`))
			st, _, body := readAll(t, mustDo(t)(g.client().Do(req)), nil)
			if st != http.StatusNotFound || strings.Contains(body, "store") {
				t.Errorf("%s: %d", p, st)
			}
		}
	})
}

// TestGatewayTransactionSealed: the authorization transaction (the client's request, its
// redirect_uri, and APIM's PKCE verifier toward Entra ID) was stored as plain JSON, although
// docs/internal-api.md calls it a policy-encrypted payload and the callback redirects to the
// redirect_uri it finds there without asking the state service again. It is now sealed
// (purpose mcp-txn.v1): the store holds nothing readable, and nothing it could be made to hold
// redirects anywhere.
func TestGatewayTransactionSealed(t *testing.T) {
	g := getGatewayStack(t)
	base := g.GatewayURL()
	clientID := g.newClient(t, base, negRedirect)
	entraHost, _ := url.Parse(g.Entra.URL())
	ua := newUserAgent(g, base)
	ua.stop = func(u *url.URL) bool { return u.Host == entraHost.Host }
	f := ua.run(t, authorizeURL(base, clientID, negRedirect, "s", newPKCE(), nil), "approve", nil)
	if f.Redirect == nil || f.Redirect.Host != entraHost.Host {
		t.Fatalf("did not reach Entra ID: %v", f)
	}
	state := f.Redirect.Query().Get("state")
	remember(state)
	req, _ := http.NewRequest(http.MethodPost, g.Host.URL()+"/internal/v1/transactions/consume", strings.NewReader(`{"state":"`+state+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-functions-key", g.FunctionKey)
	st, _, body := readAll(t, mustDo(t)(http.DefaultClient.Do(req)), nil)
	if st != http.StatusOK {
		t.Fatalf("transactions/consume: %d", st)
	}
	var tx struct {
		Payload string `json:"payload"`
	}
	json.Unmarshal([]byte(body), &tx)
	remember(tx.Payload)
	if strings.Contains(tx.Payload, "entra_verifier") || strings.Contains(tx.Payload, "127.0.0.1") {
		t.Fatal("the stored transaction is readable")
	}
	plain, err := tokenformat.Open(g.Keys, tokenformat.PurposeTransaction, tx.Payload)
	if err != nil {
		t.Fatalf("the stored transaction does not open as a sealed mcp-txn.v1 value: %v", err)
	}
	var p map[string]any
	if err := json.Unmarshal(plain, &p); err != nil || p["redirect_uri"] != negRedirect || p["client_id"] != clientID {
		t.Fatalf("sealed transaction: %v, redirect ok %v", err, p["redirect_uri"] == negRedirect)
	}
	if v, _ := p["entra_verifier"].(string); v != "" {
		remember(v)
	}
}

// TestGatewayCallbackHidesEntraError: when Entra ID refuses the code redemption, its error code
// (which can describe this deployment: invalid_client for a broken federated credential) went
// into the error_description sent to the client's redirect URI. Now the client reads a generic
// server_error; the audit event keeps Entra's status and code.
func TestGatewayCallbackHidesEntraError(t *testing.T) {
	g := getGatewayStack(t)
	base := g.GatewayURL()
	clientID := g.newClient(t, base, negRedirect)
	ua := newUserAgent(g, base)
	ua.stop = func(u *url.URL) bool { return u.Path == "/oauth-callback" }
	f := ua.run(t, authorizeURL(base, clientID, negRedirect, "s", newPKCE(), nil), "approve", nil)
	ua.stop = nil
	if f.Redirect == nil || f.Redirect.Path != "/oauth-callback" {
		t.Fatalf("did not reach the callback: %v", f)
	}
	remember(f.Redirect.Query().Get("code"), f.Redirect.Query().Get("state"))
	q := f.Redirect.Query()
	q.Set("code", randomString(32))
	f.Redirect.RawQuery = q.Encode()
	res := ua.run(t, f.Redirect.String(), "", nil)
	wantRedirectError(t, res, base, negRedirect, "s", "server_error")
	if d := res.Redirect.Query().Get("error_description"); strings.Contains(d, "invalid_") || strings.Contains(d, "status") {
		t.Errorf("Entra's answer reached the client: %q", d)
	}
	found := false
	for _, e := range auditEvents(t, g.Gateway) {
		r, _ := e["reason"].(string)
		found = found || (e["client_id"] == clientID && strings.Contains(r, "[entra 400"))
	}
	if !found {
		t.Error("no audit event keeps Entra's status")
	}
}
