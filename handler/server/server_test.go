package server

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"example.com/graphmcp/devstack/entra"
	"example.com/graphmcp/handler/graphtools"
)

func TestReadinessAndUnknownPaths(t *testing.T) {
	h := newHandler(t, nil, nil)
	resp, err := http.Get(h.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET / = %d", resp.StatusCode)
	}
	resp, err = http.Get(h.URL + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /nope = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// claimsOf returns the claims of a token the stand-in minted, to re-sign them differently.
func claimsOf(t *testing.T, tok string) jwt.MapClaims {
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, c); err != nil {
		t.Fatal(err)
	}
	return c
}

// jwksPublicKeyPEM is the PEM of the stand-in's current public key as published in its JWKS:
// what an attacker would use as the HMAC secret in the alg-confusion attack.
func jwksPublicKeyPEM(t *testing.T) []byte {
	resp, err := st.ca.HTTPClient().Get(st.entra.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct{ Keys []struct{ N, E string } }
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("JWKS: %v", err)
	}
	n, _ := base64.RawURLEncoding.DecodeString(set.Keys[0].N)
	e, _ := base64.RawURLEncoding.DecodeString(set.Keys[0].E)
	der, err := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())})
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// TestNegativeCatalogue drives every rejection through HTTP against the real mux and checks the
// status and the exact WWW-Authenticate challenge.
func TestNegativeCatalogue(t *testing.T) {
	h := newHandler(t, nil, nil)
	scope := "api://" + st.entra.APIClientID() + "/access_as_user"
	good := userToken(t, adele, nil)
	now := time.Now()

	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	wrongSig := st.entra.SignWithKey(claimsOf(t, good), stranger, st.entra.CurrentKID())
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claimsOf(t, good)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	hsTok := jwt.NewWithClaims(jwt.SigningMethodHS256, claimsOf(t, good))
	hsTok.Header["kid"] = st.entra.CurrentKID()
	hs256, _ := hsTok.SignedString(jwksPublicKeyPEM(t))
	with := func(c jwt.MapClaims) string { return userToken(t, adele, &entra.TokenOptions{Claims: c}) }

	invalid := func(desc string) string {
		return `Bearer error="invalid_token", error_description="` + desc + `", resource_metadata="` + prmURL + `", scope="` + scope + `"`
	}
	const sigDesc = "the access token signature is invalid (only RS256 with a key from the tenant's JWKS is accepted)"
	cases := []struct {
		name      string
		header    string // the Authorization header; "" = none
		tool      string // "" = tools/list
		status    int
		challenge string
	}{
		{"no token", "", "", 401, `Bearer resource_metadata="` + prmURL + `", scope="` + scope + `"`},
		{"other scheme", "Basic dXNlcjpwYXNz", "", 401, `Bearer resource_metadata="` + prmURL + `", scope="` + scope + `"`},
		{"empty bearer", "Bearer ", "", 401, invalid("the Authorization header must be 'Bearer <token>'")},
		{"malformed", "Bearer abc.def", "", 401, invalid("the access token is malformed")},
		{"wrong signature", "Bearer " + wrongSig, "", 401, invalid(sigDesc)},
		{"wrong audience", "Bearer " + with(jwt.MapClaims{"aud": "api://someone-else"}), "", 401, invalid("the access token was issued for a different audience")},
		{"wrong tenant", "Bearer " + with(jwt.MapClaims{"tid": "99999999-0000-4000-8000-000000000099"}), "", 401, invalid("the access token belongs to a different tenant")},
		{"issuer of another tenant", "Bearer " + with(jwt.MapClaims{"iss": "https://sts.windows.net/99999999-0000-4000-8000-000000000099/"}), "", 401, invalid("the access token was not issued by the expected Entra tenant (issuer mismatch)")},
		{"expired", "Bearer " + with(jwt.MapClaims{"exp": now.Add(-time.Hour).Unix(), "nbf": now.Add(-2 * time.Hour).Unix(), "iat": now.Add(-2 * time.Hour).Unix()}), "", 401, invalid("the access token has expired; obtain a new one")},
		{"not yet valid", "Bearer " + with(jwt.MapClaims{"nbf": now.Add(time.Hour).Unix()}), "", 401, invalid("the access token is not valid yet (nbf is in the future)")},
		{"alg none", "Bearer " + none, "", 401, invalid(sigDesc)},
		{"HS256 signed with the JWKS public key", "Bearer " + hs256, "", 401, invalid(sigDesc)},
		{"missing scope", "Bearer " + userToken(t, adele, &entra.TokenOptions{Scope: "something_else"}), "", 403,
			`Bearer error="insufficient_scope", error_description="the access token lacks the scope 'access_as_user' of this API", scope="` + scope + `", resource_metadata="` + prmURL + `"`},
		{"missing role", "Bearer " + userToken(t, adele, &entra.TokenOptions{Roles: []string{}}), "list_recent_mail", 403,
			`Bearer error="insufficient_scope", error_description="the tool list_recent_mail requires the app role Tools.Mail; ask an administrator to assign it to you", scope="` + scope + `", resource_metadata="` + prmURL + `"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.header != "" {
				hdr["Authorization"] = tc.header
			}
			method, params := "tools/list", any(map[string]any{})
			if tc.tool != "" {
				method, params = "tools/call", map[string]any{"name": tc.tool, "arguments": map[string]any{}}
			}
			r := h.post(t, "", method, params, hdr)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d (body %s)", r.Status, tc.status, r.Body)
			}
			if got := r.Header.Get("WWW-Authenticate"); got != tc.challenge {
				t.Fatalf("WWW-Authenticate:\n got  %s\n want %s", got, tc.challenge)
			}
			var body map[string]string
			if err := json.Unmarshal(r.Body, &body); err != nil || body["error"] == "" || body["error_description"] == "" {
				t.Fatalf("body is not {error, error_description}: %s", r.Body)
			}
		})
	}

	// The good token works, as a v2 and as a v1 token (api:// audience, sts.windows.net issuer).
	for _, v := range []int{1, 2} {
		r := h.post(t, userToken(t, adele, &entra.TokenOptions{Version: v}), "tools/list", map[string]any{}, nil)
		if r.Status != 200 || r.Msg.Error != nil {
			t.Fatalf("v%d token: status %d body %s", v, r.Status, r.Body)
		}
	}
	// A token in the query string is refused outright.
	resp, err := http.Post(h.URL+"/mcp?access_token=x", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("token in query: %d", resp.StatusCode)
	}
}

func toolNames(t *testing.T, r *rpcResult) []string {
	var res struct{ Tools []struct{ Name string } }
	if r.Status != 200 || json.Unmarshal(r.Msg.Result, &res) != nil {
		t.Fatalf("tools/list: %d %s", r.Status, r.Body)
	}
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	return names
}

func TestToolsListShowsOnlyAllowedTools(t *testing.T) {
	h := newHandler(t, nil, nil)
	withRole := strings.Join(toolNames(t, h.post(t, userToken(t, adele, nil), "tools/list", map[string]any{}, nil)), ",")
	if withRole != "get_graph_user_details,list_recent_files,list_recent_mail,list_upcoming_events" {
		t.Fatalf("adele (Tools.Mail) sees %s", withRole)
	}
	without := strings.Join(toolNames(t, h.post(t, userToken(t, alex, nil), "tools/list", map[string]any{}, nil)), ",")
	if without != "get_graph_user_details,list_recent_files,list_upcoming_events" {
		t.Fatalf("alex (no role) sees %s", without)
	}
}

// The Functions host forwards to 127.0.0.1 keeping the public Host: that must work, and
// browser cross-origin requests must not.
func TestPublicHostAndOrigin(t *testing.T) {
	h := newHandler(t, nil, nil)
	tok := userToken(t, adele, nil)
	cases := []struct {
		name   string
		hdr    map[string]string
		status int
	}{
		{"public Host on loopback", map[string]string{"Host": publicHost}, 200},
		{"no Origin (non-browser client)", map[string]string{"Host": publicHost}, 200},
		{"same-origin browser request", map[string]string{"Host": publicHost, "Origin": "https://" + publicHost, "Sec-Fetch-Site": "same-origin"}, 200},
		{"cross-site browser POST", map[string]string{"Host": publicHost, "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, 403},
		{"foreign Origin without Sec-Fetch-Site", map[string]string{"Host": publicHost, "Origin": "https://evil.example"}, 403},
	}
	for _, tc := range cases {
		r := h.post(t, tok, "tools/list", map[string]any{}, tc.hdr)
		if r.Status != tc.status {
			t.Errorf("%s: status %d, want %d (%s)", tc.name, r.Status, tc.status, r.Body)
		}
	}

	// With an allow-list, only listed hosts (and WEBSITE_HOSTNAME) are served.
	h2 := newHandler(t, map[string]string{"MCP_ALLOWED_HOSTS": "api.contoso.test", "WEBSITE_HOSTNAME": publicHost}, nil)
	for host, want := range map[string]int{publicHost: 200, "API.contoso.test:443": 200, "attacker.example": 403} {
		if r := h2.post(t, tok, "tools/list", map[string]any{}, map[string]string{"Host": host}); r.Status != want {
			t.Errorf("Host %s: status %d, want %d", host, r.Status, want)
		}
	}
}

func TestGetGraphUserDetails(t *testing.T) {
	h := newHandler(t, nil, nil)
	tr := h.callTool(t, userToken(t, adele, nil), "get_graph_user_details", nil)
	if tr.IsError || tr.StructuredContent["displayName"] != "Adele Vance" || tr.StructuredContent["userPrincipalName"] != adele {
		t.Fatalf("result: %+v", tr)
	}
	for _, tool := range []string{"list_upcoming_events", "list_recent_mail", "list_recent_files"} {
		tr := h.callTool(t, userToken(t, adele, nil), tool, map[string]any{"top": 3})
		if tr.IsError || tr.StructuredContent["count"] == nil {
			t.Fatalf("%s: %+v", tool, tr)
		}
	}
	if tr := h.callTool(t, userToken(t, adele, nil), "list_upcoming_events", map[string]any{"days": 99}); !tr.IsError ||
		!strings.Contains(tr.text(), `argument "days" must be between 1 and 31`) {
		t.Fatalf("bad argument: %+v", tr)
	}
}

// N calls by one user cost one OBO request and at most one managed-identity request; K users
// cost K OBO requests.
func TestOBOEfficiency(t *testing.T) {
	h := newHandler(t, nil, nil)
	obo0, mi0 := st.entra.Counts().OBO, st.msi.Count()
	tok := userToken(t, adele, nil)
	tools := []string{"get_graph_user_details", "list_upcoming_events", "list_recent_mail", "list_recent_files"}
	for i := range 12 {
		if tr := h.callTool(t, tok, tools[i%len(tools)], nil); tr.IsError {
			t.Fatalf("call %d: %s", i, tr.text())
		}
	}
	if got := st.entra.Counts().OBO - obo0; got != 1 {
		t.Fatalf("12 calls by one user made %d OBO requests, want 1", got)
	}
	if got := st.msi.Count() - mi0; got > 1 {
		t.Fatalf("managed-identity requests = %d, want ≤ 1", got)
	}
	const k = 5
	for i := range k {
		tok := userToken(t, burstUser(i), nil)
		for range 3 {
			if tr := h.callTool(t, tok, "get_graph_user_details", nil); tr.IsError {
				t.Fatal(tr.text())
			}
		}
	}
	if got := st.entra.Counts().OBO - obo0; got != 1+k {
		t.Fatalf("%d more users made %d OBO requests in total, want %d", k, got, 1+k)
	}
}

// A cold process hit by 20 users × 3 concurrent calls makes 20 OBO requests and 1
// managed-identity request (singleflight on both).
func TestColdBurst(t *testing.T) {
	// Counted from before the start: the warm-up's managed-identity request is the one allowed.
	obo0, mi0 := st.entra.Counts().OBO, st.msi.Count()
	h := newHandler(t, map[string]string{"AZURE_CLIENT_ID": miBurst.ClientID}, nil)
	tokens := make([]string, burstUsers)
	for i := range tokens {
		tokens[i] = userToken(t, burstUser(i), nil)
	}
	start := make(chan struct{})
	errs := make(chan string, burstUsers*3)
	var wg sync.WaitGroup
	for i := range burstUsers * 3 {
		tok := tokens[i%burstUsers]
		wg.Go(func() {
			<-start
			if tr := h.callTool(t, tok, "get_graph_user_details", nil); tr.IsError {
				errs <- tr.text()
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("call failed: %s", e)
	}
	if got := st.entra.Counts().OBO - obo0; got != burstUsers {
		t.Errorf("OBO requests = %d, want %d", got, burstUsers)
	}
	if got := st.msi.Count() - mi0; got != 1 {
		t.Errorf("managed-identity requests = %d, want 1", got)
	}
}

// The warm-up at start fetches the client assertion (the one managed-identity request of its
// lifetime) and MSAL's endpoint metadata, but sends no OBO request; the first tool call then
// costs one OBO request and no further managed-identity request.
func TestWarmUpPrefetchesTheAssertionNotTokens(t *testing.T) {
	c0, mi0 := st.entra.Counts(), st.msi.Count()
	h := newHandler(t, map[string]string{"AZURE_CLIENT_ID": miWarm.ClientID}, nil)
	<-h.Warmed()
	c1 := st.entra.Counts()
	if got := st.msi.Count() - mi0; got != 1 {
		t.Fatalf("managed-identity requests during warm-up = %d, want 1", got)
	}
	if c1.OBO != c0.OBO || c1.Discovery == c0.Discovery {
		t.Fatalf("warm-up: OBO requests %d (want 0), discovery requests %d (want ≥ 1)", c1.OBO-c0.OBO, c1.Discovery-c0.Discovery)
	}
	if tr := h.callTool(t, userToken(t, burstUser(3), nil), "get_graph_user_details", nil); tr.IsError {
		t.Fatal(tr.text())
	}
	if got := st.entra.Counts().OBO - c0.OBO; got != 1 {
		t.Errorf("OBO requests after the first call = %d, want 1", got)
	}
	if got := st.msi.Count() - mi0; got != 1 {
		t.Errorf("managed-identity requests after the first call = %d, want still 1", got)
	}
}

func TestConsentMissingIsAClearToolError(t *testing.T) {
	h := newHandler(t, nil, nil)
	tr := h.callTool(t, userToken(t, alex, nil), "get_graph_user_details", nil)
	// The link is Entra's consent prompt for the app and User.Read, returning to the gateway
	// named by MCP_RESOURCE_METADATA_URL (its PKCE challenge is random).
	re := regexp.MustCompile(`^Consent required: get_graph_user_details needs the Microsoft Graph permission User\.Read, which has not been granted for your account \(AADSTS65001\)\. Open (https://\S+) to grant it, then call the tool again$`)
	m := re.FindStringSubmatch(tr.text())
	if !tr.IsError || m == nil {
		t.Fatalf("result: isError=%v text=%q", tr.IsError, tr.text())
	}
	u, err := url.Parse(m[1])
	if err != nil || !strings.HasPrefix(m[1], st.entra.AuthorizeURL()+"?") || u.Query().Get("redirect_uri") != "https://gateway.example/oauth-callback" ||
		u.Query().Get("scope") != "api://"+st.entra.APIClientID()+"/access_as_user https://graph.microsoft.com/User.Read" {
		t.Fatalf("consent link %s", m[1])
	}
}

func TestGraphThrottling(t *testing.T) {
	h := newHandler(t, nil, &Options{GraphMaxRetries: 1})
	<-h.Warmed() // the warm-up's Graph request must not take the 429 injected below
	tok := userToken(t, adele, nil)
	h.callTool(t, tok, "get_graph_user_details", nil) // warm OBO so only Graph requests count below

	// One 429 with Retry-After: 1 is waited out and the call succeeds.
	st.graph.Throttle(1, time.Second)
	start := time.Now()
	if tr := h.callTool(t, tok, "get_graph_user_details", nil); tr.IsError {
		t.Fatalf("throttled once: %s", tr.text())
	}
	if waited := time.Since(start); waited < time.Second {
		t.Fatalf("retried after %v, before Retry-After", waited)
	}

	// Persistent throttling (more 429s than retries) ends in a clear tool error.
	st.graph.Throttle(2, time.Second)
	if tr := h.callTool(t, tok, "get_graph_user_details", nil); !tr.IsError || tr.text() != "Microsoft Graph is throttling requests; try again in 1 s" {
		t.Fatalf("persistent 429: isError=%v %q", tr.IsError, tr.text())
	}
	// A Retry-After beyond GRAPH_MAX_RETRY_WAIT (30 s) is not waited out.
	st.graph.Throttle(1, 90*time.Second)
	if tr := h.callTool(t, tok, "get_graph_user_details", nil); !tr.IsError || tr.text() != "Microsoft Graph is throttling requests; try again in 90 s" {
		t.Fatalf("long Retry-After: isError=%v %q", tr.IsError, tr.text())
	}
	st.graph.Fail(2, 503)
	if tr := h.callTool(t, tok, "get_graph_user_details", nil); !tr.IsError || !strings.HasPrefix(tr.text(), "Microsoft Graph is temporarily unavailable (503") {
		t.Fatalf("persistent 503: isError=%v %q", tr.IsError, tr.text())
	}
	if tr := h.callTool(t, tok, "get_graph_user_details", nil); tr.IsError {
		t.Fatalf("after faults: %s", tr.text())
	}
}

// A key rollover at Entra costs one JWKS refresh on the first request with the new kid and no
// failed request.
func TestKeyRolloverAbsorbed(t *testing.T) {
	h := newHandler(t, nil, nil)
	if r := h.post(t, userToken(t, adele, nil), "tools/list", map[string]any{}, nil); r.Status != 200 {
		t.Fatalf("before rollover: %d", r.Status)
	}
	jwks0 := st.entra.Counts().JWKS
	st.entra.RolloverKeys()
	for i := range 10 {
		tok := userToken(t, adele, &entra.TokenOptions{Claims: jwt.MapClaims{"uti": "r" + string(rune('a'+i))}})
		if r := h.post(t, tok, "tools/list", map[string]any{}, nil); r.Status != 200 {
			t.Fatalf("request %d after rollover: %d %s", i, r.Status, r.Body)
		}
	}
	if got := st.entra.Counts().JWKS - jwks0; got != 1 {
		t.Fatalf("JWKS fetches after rollover = %d, want 1", got)
	}
	if tr := h.callTool(t, userToken(t, adele, nil), "get_graph_user_details", nil); tr.IsError {
		t.Fatalf("tool call after rollover: %s", tr.text())
	}
}

// A managed identity that is not a federated credential of the app: the user gets a clear
// server-side error, the operator the Entra detail in the log.
func TestFederatedCredentialMismatch(t *testing.T) {
	h := newHandler(t, map[string]string{"AZURE_CLIENT_ID": miNoFIC.ClientID}, nil)
	tr := h.callTool(t, userToken(t, adele, nil), "get_graph_user_details", nil)
	if !tr.IsError || !strings.HasPrefix(tr.text(), "Could not obtain a Microsoft Graph token on your behalf (invalid_client (AADSTS") ||
		!strings.Contains(tr.text(), "ask the administrator to check the handler logs (request id ") {
		t.Fatalf("result: isError=%v %q", tr.IsError, tr.text())
	}
	if !strings.Contains(h.logs.String(), `"entra_detail"`) {
		t.Fatal("Entra's error detail was not logged for the operator")
	}
}

// A panicking tool neither crashes the process nor shows the client a stack trace.
func TestToolPanicIsContained(t *testing.T) {
	type in struct{}
	boom := graphtools.New("boom", "panics", []string{"User.Read"}, "", func(context.Context, *graphtools.Call, in) (any, error) {
		panic("boom: secret detail")
	})
	h := newHandler(t, nil, &Options{Tools: append(graphtools.Tools(), boom)})
	tok := userToken(t, adele, nil)
	tr := h.callTool(t, tok, "boom", nil)
	if !tr.IsError || !strings.HasPrefix(tr.text(), "internal error in tool boom; the server logged it (request id ") ||
		strings.Contains(tr.text(), "goroutine") || strings.Contains(tr.text(), "secret detail") {
		t.Fatalf("result: %+v", tr)
	}
	if strings.HasSuffix(tr.text(), "(request id )") {
		t.Fatalf("no request id in %q", tr.text())
	}
	if !strings.Contains(h.logs.String(), `"msg":"tool panicked"`) {
		t.Fatal("panic not logged")
	}
	if tr := h.callTool(t, tok, "get_graph_user_details", nil); tr.IsError {
		t.Fatalf("after panic: %s", tr.text())
	}
}
