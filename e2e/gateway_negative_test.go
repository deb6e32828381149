package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/graphmcp/internal/tokenformat"
)

// The negative catalogue: every way the issue lists of misusing the gateway, each a subtest
// that checks the status and error the specs prescribe and that the response does not echo the
// secret presented. The stack's cleanup checks that no log line or audit event holds a secret.

const negRedirect = "http://127.0.0.1:7777/cb"

// newClient registers a public client with the given redirect URIs.
func (g *gatewayStack) newClient(t *testing.T, base string, redirects ...string) string {
	t.Helper()
	return g.register(t, base, map[string]any{"client_name": "negative catalogue", "redirect_uris": redirects,
		"grant_types": []string{"authorization_code", "refresh_token"}, "token_endpoint_auth_method": "none"})
}

// codeFor runs the browser flow for a fresh state and returns the code.
func (g *gatewayStack) codeFor(t *testing.T, base, clientID, redirect string, p pkce) string {
	t.Helper()
	state := randomString(12)
	f := newUserAgent(g, base).run(t, authorizeURL(base, clientID, redirect, state, p, nil), "approve", nil)
	return codeFrom(t, f, state, base)
}

func tokenForm(clientID, code, redirect, verifier string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
		"client_id": {clientID}, "code_verifier": {verifier}}
}

// wantOAuthError checks an RFC 6749 §5.2 error response (status, error, no-store).
func wantOAuthError(t *testing.T, status int, body map[string]any, wantStatus int, wantError string, secrets ...string) {
	t.Helper()
	if status != wantStatus || body["error"] != wantError {
		t.Fatalf("got %d %v (%v), want %d %s", status, body["error"], body["error_description"], wantStatus, wantError)
	}
	if body["_cache_control"] != "no-store" {
		t.Errorf("error response Cache-Control = %v, want no-store", body["_cache_control"])
	}
	b, _ := json.Marshal(body)
	noEcho(t, string(b), secrets...)
}

func noEcho(t *testing.T, body string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if len(s) >= 16 && strings.Contains(body, s) {
			t.Errorf("the response echoes a secret (%d bytes)", len(s))
		}
	}
}

// wantPage checks an error page shown to the user (never a redirect).
func wantPage(t *testing.T, f flow, status int, code string) {
	t.Helper()
	if f.Redirect != nil {
		t.Fatalf("redirected instead of showing an error page: %v", f)
	}
	if f.Status != status || !strings.Contains(f.Body, `<code id="code">`+code+`</code>`) {
		t.Fatalf("want page %d %s, got %v", status, code, f)
	}
}

// wantRedirectError checks an error redirect back to the client (RFC 6749 §4.1.2.1, RFC 9207).
func wantRedirectError(t *testing.T, f flow, base, redirect, state, code string) {
	t.Helper()
	if f.Redirect == nil {
		t.Fatalf("want an error redirect, got %v", f)
	}
	q := f.Redirect.Query()
	if !strings.HasPrefix(f.Redirect.String(), redirect+"?") || q.Get("error") != code || q.Get("state") != state || q.Get("iss") != base || q.Get("code") != "" {
		t.Fatalf("want redirect with error=%s, got %v (state ok %v, iss %q)", code, f, q.Get("state") == state, q.Get("iss"))
	}
}

// mcpCall posts an initialize request to an MCP URL with the given Authorization header.
func (g *gatewayStack) mcpCall(t *testing.T, mcpURL, authorization string, extra http.Header) (int, http.Header, string) {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"neg","version":"0"}}}`
	req, _ := http.NewRequest(http.MethodPost, mcpURL, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	resp, err := g.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func wantInvalidToken(t *testing.T, g *gatewayStack, status int, h http.Header, body string, secrets ...string) {
	t.Helper()
	want := `Bearer error="invalid_token"`
	meta := `resource_metadata="` + g.GatewayURL() + `/.well-known/oauth-protected-resource/mcp", scope="mcp:tools"`
	w := h.Get("WWW-Authenticate")
	if status != http.StatusUnauthorized || !strings.HasPrefix(w, want) || !strings.HasSuffix(w, meta) {
		t.Fatalf("want 401 invalid_token with resource_metadata and scope, got %d %q", status, w)
	}
	noEcho(t, body+w, secrets...)
}

func flipChar(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestGatewayNegativeCatalogue(t *testing.T) {
	g := getGatewayStack(t)
	base := g.GatewayURL()
	clientID := g.newClient(t, base, negRedirect)
	otherClient := g.newClient(t, base, "http://127.0.0.1:7778/other")

	// --- /authorize: problems with the client or redirect URI are shown, never redirected.
	pageCases := []struct{ name, client, redirect, code string }{
		{"unregistered client", "NOSUCHCLIENTAAAAAAAAAAAAAA", negRedirect, "invalid_client"},
		{"redirect loopback host swap", clientID, "http://localhost:7777/cb", "invalid_redirect_uri"},
		{"redirect path change", clientID, "http://127.0.0.1:7777/cb2", "invalid_redirect_uri"},
		{"redirect added query", clientID, negRedirect + "?x=1", "invalid_redirect_uri"},
		{"redirect fragment", clientID, negRedirect + "#f", "invalid_redirect_uri"},
		{"redirect scheme change", clientID, "https://127.0.0.1:7777/cb", "invalid_redirect_uri"},
		{"redirect of another client", clientID, "http://127.0.0.1:7778/other", "invalid_redirect_uri"},
		{"missing redirect_uri", clientID, "", "invalid_request"},
		{"missing client_id", "", negRedirect, "invalid_request"},
		// A Client ID Metadata Document URL is resolved by the state service, whose SSRF guard
		// refuses loopback and private addresses (so the gateway cannot be made to fetch them).
		{"CIMD document on a loopback address", "https://127.0.0.1:1/client.json", negRedirect, "invalid_client"},
	}
	for _, c := range pageCases {
		t.Run("authorize/"+c.name, func(t *testing.T) {
			f := newUserAgent(g, base).run(t, authorizeURL(base, c.client, c.redirect, "s1", newPKCE(), nil), "", nil)
			wantPage(t, f, http.StatusBadRequest, c.code)
		})
	}
	t.Run("authorize/repeated parameter", func(t *testing.T) {
		u := authorizeURL(base, clientID, negRedirect, "s1", newPKCE(), nil) + "&client_id=" + otherClient
		wantPage(t, newUserAgent(g, base).run(t, u, "", nil), http.StatusBadRequest, "invalid_request")
	})
	t.Run("authorize/loopback port is free (RFC 8252)", func(t *testing.T) {
		f := newUserAgent(g, base).run(t, authorizeURL(base, clientID, "http://127.0.0.1:5555/cb", "s1", newPKCE(), nil), "", nil)
		if f.Redirect != nil || f.Status != http.StatusOK || !strings.Contains(f.Page, "/consent?") {
			t.Fatalf("a loopback redirect on another port should reach consent: %v", f)
		}
	})

	// --- /authorize: protocol errors go back to the validated redirect URI.
	redirectCases := []struct {
		name  string
		extra url.Values
		code  string
	}{
		{"missing PKCE", url.Values{"code_challenge": nil, "code_challenge_method": nil}, "invalid_request"},
		{"plain PKCE", url.Values{"code_challenge_method": {"plain"}}, "invalid_request"},
		{"PKCE method missing", url.Values{"code_challenge_method": nil}, "invalid_request"},
		{"malformed challenge", url.Values{"code_challenge": {"short"}}, "invalid_request"},
		{"response_type token", url.Values{"response_type": {"token"}}, "unsupported_response_type"},
		{"wrong resource", url.Values{"resource": {"https://evil.example/mcp"}}, "invalid_target"},
		{"unknown scope", url.Values{"scope": {"mcp:tools admin"}}, "invalid_scope"},
	}
	for _, c := range redirectCases {
		t.Run("authorize/"+c.name, func(t *testing.T) {
			f := newUserAgent(g, base).run(t, authorizeURL(base, clientID, negRedirect, "st-"+c.code, newPKCE(), c.extra), "", nil)
			wantRedirectError(t, f, base, negRedirect, "st-"+c.code, c.code)
		})
	}

	// --- /token: the code is single-use and bound to client, redirect URI, verifier, resource.
	t.Run("token/wrong verifier", func(t *testing.T) {
		p := newPKCE()
		code := g.codeFor(t, base, clientID, negRedirect, p)
		st, body := g.postForm(t, base+"/token", tokenForm(clientID, code, negRedirect, newPKCE().verifier))
		wantOAuthError(t, st, body, http.StatusBadRequest, "invalid_grant", code)
	})
	t.Run("token/code replay", func(t *testing.T) {
		p := newPKCE()
		code := g.codeFor(t, base, clientID, negRedirect, p)
		st, body := g.postForm(t, base+"/token", tokenForm(clientID, code, negRedirect, p.verifier))
		if st != http.StatusOK {
			t.Fatalf("first redemption: %d %v", st, body["error"])
		}
		remember(body["access_token"].(string), body["refresh_token"].(string))
		st, body = g.postForm(t, base+"/token", tokenForm(clientID, code, negRedirect, p.verifier))
		wantOAuthError(t, st, body, http.StatusBadRequest, "invalid_grant", code)
	})
	t.Run("token/concurrent redemption: exactly one wins", func(t *testing.T) {
		p := newPKCE()
		code := g.codeFor(t, base, clientID, negRedirect, p)
		const n = 8
		statuses := make(chan int, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := g.client().PostForm(base+"/token", tokenForm(clientID, code, negRedirect, p.verifier))
				if err != nil {
					statuses <- 0
					return
				}
				var body map[string]any
				json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				if at, _ := body["access_token"].(string); at != "" {
					remember(at, body["refresh_token"].(string))
				}
				statuses <- resp.StatusCode
			}()
		}
		wg.Wait()
		close(statuses)
		ok, refused := 0, 0
		for st := range statuses {
			switch st {
			case http.StatusOK:
				ok++
			case http.StatusBadRequest:
				refused++
			}
		}
		if ok != 1 || refused != n-1 {
			t.Fatalf("%d concurrent redemptions: %d succeeded, %d refused; want 1 and %d", n, ok, refused, n-1)
		}
	})
	t.Run("token/code from another client", func(t *testing.T) {
		p := newPKCE()
		code := g.codeFor(t, base, clientID, negRedirect, p)
		st, body := g.postForm(t, base+"/token", tokenForm(otherClient, code, negRedirect, p.verifier))
		wantOAuthError(t, st, body, http.StatusBadRequest, "invalid_grant", code)
	})
	t.Run("token/code with another redirect URI", func(t *testing.T) {
		p := newPKCE()
		code := g.codeFor(t, base, clientID, negRedirect, p)
		st, body := g.postForm(t, base+"/token", tokenForm(clientID, code, "http://127.0.0.1:7777/other", p.verifier))
		wantOAuthError(t, st, body, http.StatusBadRequest, "invalid_grant", code)
	})
	t.Run("token/wrong resource", func(t *testing.T) {
		p := newPKCE()
		code := g.codeFor(t, base, clientID, negRedirect, p)
		f := tokenForm(clientID, code, negRedirect, p.verifier)
		f.Set("resource", "https://evil.example/mcp")
		st, body := g.postForm(t, base+"/token", f)
		wantOAuthError(t, st, body, http.StatusBadRequest, "invalid_target", code)
	})
	t.Run("token/resource only at the token request (control)", func(t *testing.T) {
		p := newPKCE()
		state := randomString(12)
		f := newUserAgent(g, base).run(t, authorizeURL(base, clientID, negRedirect, state, p, url.Values{"resource": nil}), "approve", nil)
		code := codeFrom(t, f, state, base)
		form := tokenForm(clientID, code, negRedirect, p.verifier)
		form.Set("resource", g.MCPURL())
		st, body := g.postForm(t, base+"/token", form)
		if st != http.StatusOK {
			t.Fatalf("resource omitted at /authorize, sent at /token: %d %v", st, body["error"])
		}
		remember(body["access_token"].(string), body["refresh_token"].(string))
	})
	t.Run("token/missing verifier", func(t *testing.T) {
		st, body := g.postForm(t, base+"/token", tokenForm(clientID, randomString(32), negRedirect, ""))
		wantOAuthError(t, st, body, http.StatusBadRequest, "invalid_request")
	})
	t.Run("token/unknown code", func(t *testing.T) {
		st, body := g.postForm(t, base+"/token", tokenForm(clientID, randomString(32), negRedirect, newPKCE().verifier))
		wantOAuthError(t, st, body, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("token/unsupported grant type", func(t *testing.T) {
		st, body := g.postForm(t, base+"/token", url.Values{"grant_type": {"password"}, "client_id": {clientID}})
		wantOAuthError(t, st, body, http.StatusBadRequest, "unsupported_grant_type")
	})
	t.Run("token/client secret refused", func(t *testing.T) {
		f := tokenForm(clientID, randomString(32), negRedirect, newPKCE().verifier)
		f.Set("client_secret", "s3cr3t-s3cr3t-s3cr3t")
		st, body := g.postForm(t, base+"/token", f)
		wantOAuthError(t, st, body, http.StatusUnauthorized, "invalid_client", "s3cr3t-s3cr3t-s3cr3t")
		resp, err := g.client().PostForm(base+"/token", f)
		if _, h, _ := readAll(t, resp, err); h.Get("WWW-Authenticate") != `Basic realm="`+base+`"` {
			t.Errorf("a 401 needs WWW-Authenticate (RFC 9110 §15.5.2), got %q", h.Get("WWW-Authenticate"))
		}
	})
	t.Run("token/not a form", func(t *testing.T) {
		st, body := g.postJSON(t, base+"/token", map[string]any{"grant_type": "authorization_code"})
		wantOAuthError(t, st, body, http.StatusBadRequest, "invalid_request")
	})

	// --- /oauth-callback: state is single-use and bound to the browser that started the flow.
	callbackURL := func(t *testing.T, ua *userAgent) *url.URL {
		t.Helper()
		ua.stop = func(u *url.URL) bool { return u.Path == "/oauth-callback" }
		f := ua.run(t, authorizeURL(base, clientID, negRedirect, "cb", newPKCE(), nil), "approve", nil)
		ua.stop = nil
		if f.Redirect == nil || f.Redirect.Path != "/oauth-callback" {
			t.Fatalf("did not reach the callback: %v", f)
		}
		remember(f.Redirect.Query().Get("code"), f.Redirect.Query().Get("state"))
		return f.Redirect
	}
	t.Run("callback/state replay", func(t *testing.T) {
		ua := newUserAgent(g, base)
		cb := callbackURL(t, ua)
		first := ua.run(t, cb.String(), "", nil)
		codeFrom(t, first, "cb", base)
		wantPage(t, ua.run(t, cb.String(), "", nil), http.StatusBadRequest, "invalid_request")
	})
	t.Run("callback without the browser cookie", func(t *testing.T) {
		cb := callbackURL(t, newUserAgent(g, base))
		wantPage(t, newUserAgent(g, base).run(t, cb.String(), "", nil), http.StatusBadRequest, "invalid_request")
	})
	t.Run("callback with another flow's cookie", func(t *testing.T) {
		ua := newUserAgent(g, base)
		cb1 := callbackURL(t, ua)
		_ = callbackURL(t, ua) // a second flow in the same browser replaces the state cookie
		wantPage(t, ua.run(t, cb1.String(), "", nil), http.StatusBadRequest, "invalid_request")
	})
	t.Run("callback with a code Entra refuses", func(t *testing.T) {
		ua := newUserAgent(g, base)
		cb := callbackURL(t, ua)
		q := cb.Query()
		q.Set("code", randomString(32))
		cb.RawQuery = q.Encode()
		wantRedirectError(t, ua.run(t, cb.String(), "", nil), base, negRedirect, "cb", "server_error")
	})
	t.Run("callback after sign-in cancelled at Entra", func(t *testing.T) {
		ua := newUserAgent(g, base)
		cb := callbackURL(t, ua)
		q := cb.Query()
		q.Del("code")
		q.Set("error", "access_denied")
		cb.RawQuery = q.Encode()
		wantRedirectError(t, ua.run(t, cb.String(), "", nil), base, negRedirect, "cb", "access_denied")
	})
	t.Run("callback unknown state", func(t *testing.T) {
		f := newUserAgent(g, base).run(t, base+"/oauth-callback?code=x&state="+randomString(32), "", nil)
		wantPage(t, f, http.StatusBadRequest, "invalid_request")
	})

	// --- /consent: CSRF, origin checks, signed consent cookie.
	consentCases := []struct {
		name   string
		tamper func(url.Values, http.Header)
	}{
		{"consent POST from another origin", func(_ url.Values, h http.Header) { h.Set("Origin", "https://evil.example") }},
		{"consent POST cross-site", func(_ url.Values, h http.Header) { h.Set("Sec-Fetch-Site", "cross-site") }},
		{"consent POST with null origin", func(_ url.Values, h http.Header) { h.Set("Origin", "null") }},
		{"consent POST without origin or referer", func(_ url.Values, h http.Header) { h.Del("Origin") }},
		{"consent POST with forged CSRF token", func(v url.Values, _ http.Header) { v.Set("csrf", flipChar(v.Get("csrf"), 3)) }},
		{"consent POST without CSRF token", func(v url.Values, _ http.Header) { v.Del("csrf") }},
		{"consent POST for another redirect URI", func(v url.Values, _ http.Header) { v.Set("redirect_uri", "http://127.0.0.1:9999/cb") }},
	}
	for _, c := range consentCases {
		t.Run(c.name, func(t *testing.T) {
			f := newUserAgent(g, base).run(t, authorizeURL(base, clientID, negRedirect, "c", newPKCE(), nil), "approve", c.tamper)
			wantPage(t, f, http.StatusForbidden, "access_denied")
		})
	}
	t.Run("consent POST without the CSRF cookie", func(t *testing.T) {
		ua := newUserAgent(g, base)
		f := ua.run(t, authorizeURL(base, clientID, negRedirect, "c", newPKCE(), nil), "", nil)
		form := consentForm(f.Body)
		form.Set("action", "approve")
		req, _ := http.NewRequest(http.MethodPost, base+"/consent", strings.NewReader(form.Encode()))
		req.Header = http.Header{"Origin": {base}, "Sec-Fetch-Site": {"same-origin"}, "Content-Type": {"application/x-www-form-urlencoded"}}
		resp, err := g.client().Do(req) // no cookie jar
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantPage(t, flow{Status: resp.StatusCode, Body: string(b)}, http.StatusForbidden, "access_denied")
	})
	// A consent cookie lets /authorize skip the page only when its signature verifies.
	consentCookie := func(key []byte, payload string) string {
		return tokenformat.SignCookie(key, tokenformat.PurposeConsent, []byte(payload))
	}
	grantPayload := `{"v":1,"g":[["` + tokenformat.Grant(clientID, negRedirect) + `",` + strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10) + `]]}`
	authorizeWithCookie := func(t *testing.T, cookie string) *url.URL {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, authorizeURL(base, clientID, negRedirect, "k", newPKCE(), nil), nil)
		req.Header.Set("Cookie", tokenformat.ConsentCookie+"="+cookie)
		resp, err := g.client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		return loc
	}
	t.Run("consent cookie signed with the key skips the page (control)", func(t *testing.T) {
		if loc := authorizeWithCookie(t, consentCookie(g.CookieKey, grantPayload)); !strings.HasPrefix(loc.String(), g.Entra.URL()) {
			t.Fatalf("a valid consent cookie should lead to Entra, got %s%s", loc.Host, loc.Path)
		}
	})
	for name, cookie := range map[string]string{
		"consent cookie unsigned":                tokenformat.B64([]byte(grantPayload)),
		"consent cookie signed with another key": consentCookie([]byte("another key, another key, 32 by"), grantPayload),
		"consent cookie tampered":                tokenformat.B64([]byte(grantPayload)) + "." + strings.SplitN(consentCookie(g.CookieKey, `{"v":1,"g":[]}`), ".", 2)[1],
		"consent cookie of another client":       consentCookie(g.CookieKey, strings.Replace(grantPayload, tokenformat.Grant(clientID, negRedirect), tokenformat.Grant(otherClient, negRedirect), 1)),
		"consent cookie expired grant":           consentCookie(g.CookieKey, `{"v":1,"g":[["`+tokenformat.Grant(clientID, negRedirect)+`",1000]]}`),
	} {
		t.Run(name, func(t *testing.T) {
			if loc := authorizeWithCookie(t, cookie); loc.Path != "/consent" {
				t.Fatalf("a bad consent cookie must lead to the consent page, got %s%s", loc.Host, loc.Path)
			}
		})
	}

	// --- /mcp: the access token is checked in the gateway.
	gr := g.authorize(t, base)
	parts := strings.Split(gr.access, ".")
	now := time.Now()
	at, err := tokenformat.OpenAccessToken(g.Keys, gr.access, g.MCPURL(), now)
	if err != nil {
		t.Fatal(err)
	}
	forged := func(mut func(*tokenformat.AccessToken)) string {
		c := *at
		mut(&c)
		s, err := tokenformat.SealAccessToken(g.Keys[0], c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	otherKey, _ := tokenformat.NewKey(g.Keys[0].ID)
	codeSealed, _ := tokenformat.Seal(g.Keys[0], tokenformat.PurposeCode, []byte(`{"v":1,"cid":"`+gr.clientID+`","res":"`+g.MCPURL()+`","exp":9999999999,"eat":"x"}`))
	otherSealed, _ := tokenformat.SealAccessToken(otherKey, *at)
	tamper := map[string]string{
		"token bit flip in ciphertext":  parts[0] + "." + flipChar(parts[1], 30) + "." + parts[2],
		"token bit flip in tag":         parts[0] + "." + parts[1] + "." + flipChar(parts[2], 5),
		"token truncated":               gr.access[:len(gr.access)-10],
		"token without tag":             parts[0] + "." + parts[1],
		"token with another key id":     "kother." + parts[1] + "." + parts[2],
		"token sealed with another key": otherSealed,
		"token expired":                 forged(func(a *tokenformat.AccessToken) { a.Expiry = now.Add(-time.Second).Unix() }),
		"token for another resource":    forged(func(a *tokenformat.AccessToken) { a.Resource = "https://other.example/mcp" }),
		"token without client":          forged(func(a *tokenformat.AccessToken) { a.ClientID = "" }),
		"code payload as token":         codeSealed,
		"token oversized":               strings.Repeat("A", 9000),
	}
	for name, tok := range tamper {
		t.Run("mcp/"+name, func(t *testing.T) {
			st, h, body := g.mcpCall(t, g.MCPURL(), "Bearer "+tok, nil)
			wantInvalidToken(t, g, st, h, body, tok, at.Entra)
		})
	}
	t.Run("mcp/no token", func(t *testing.T) {
		st, h, _ := g.mcpCall(t, g.MCPURL(), "", nil)
		want := `Bearer resource_metadata="` + base + `/.well-known/oauth-protected-resource/mcp", scope="mcp:tools"`
		if st != http.StatusUnauthorized || h.Get("WWW-Authenticate") != want {
			t.Fatalf("got %d %q", st, h.Get("WWW-Authenticate"))
		}
	})
	t.Run("mcp/basic scheme", func(t *testing.T) {
		st, h, body := g.mcpCall(t, g.MCPURL(), "Basic "+gr.access, nil)
		wantInvalidToken(t, g, st, h, body, gr.access)
	})
	t.Run("mcp/valid token with spoofed identity headers (control)", func(t *testing.T) {
		st, _, body := g.mcpCall(t, g.MCPURL(), "Bearer "+gr.access, http.Header{
			"X-Functions-Key": {"attacker-key"}, "X-Ms-Client-Principal-Id": {"00000000-0000-0000-0000-000000000000"}})
		if st != http.StatusOK || !strings.Contains(body, `"result"`) {
			t.Fatalf("valid token: %d %.200s", st, body)
		}
		noEcho(t, body, gr.access, at.Entra)
	})
	t.Run("mcp/token minted by another gateway", func(t *testing.T) {
		// The short gateway shares keys but not the resource: its tokens name its own /mcp.
		other := g.authorize(t, g.short.URL())
		st, h, body := g.mcpCall(t, g.MCPURL(), "Bearer "+other.access, nil)
		wantInvalidToken(t, g, st, h, body, other.access)
	})

	// --- refresh tokens: rotation, reuse detection, revocation, client binding.
	refresh := func(rt, client string) (int, map[string]any) {
		return g.postForm(t, base+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {client}})
	}
	t.Run("refresh reuse revokes the family", func(t *testing.T) {
		gr := g.authorize(t, base)
		st, body := refresh(gr.refresh, gr.clientID)
		if st != http.StatusOK {
			t.Fatalf("first refresh: %d %v", st, body["error"])
		}
		next := body["refresh_token"].(string)
		remember(next, body["access_token"].(string))
		st, body = refresh(gr.refresh, gr.clientID)
		wantOAuthError(t, st, body, http.StatusBadRequest, "invalid_grant", gr.refresh)
		st, body = refresh(next, gr.clientID)
		wantOAuthError(t, st, body, http.StatusBadRequest, "invalid_grant", next)
		found := false
		for _, e := range auditEvents(t, g.Gateway) {
			found = found || (e["event"] == "refresh.reuse_detected" && e["client_id"] == gr.clientID)
		}
		if !found {
			t.Error("no refresh.reuse_detected audit event")
		}
	})
	t.Run("revoked refresh token", func(t *testing.T) {
		gr := g.authorize(t, base)
		resp, err := g.client().PostForm(base+"/revoke", url.Values{"token": {gr.refresh}, "client_id": {gr.clientID}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("revoke: %d", resp.StatusCode)
		}
		st, body := refresh(gr.refresh, gr.clientID)
		wantOAuthError(t, st, body, http.StatusBadRequest, "invalid_grant", gr.refresh)
	})
	t.Run("revoke unknown token answers 200", func(t *testing.T) {
		resp, err := g.client().PostForm(base+"/revoke", url.Values{"token": {"NOSUCHFAMILYAAAAAAAAAAAAAA." + randomString(32)}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("revoke of an unknown token: %d, want 200 (RFC 7009 §2.2)", resp.StatusCode)
		}
	})
	t.Run("refresh by another client", func(t *testing.T) {
		st, body := refresh(gr.refresh, otherClient)
		wantOAuthError(t, st, body, http.StatusBadRequest, "invalid_grant", gr.refresh)
	})
	t.Run("refresh with a forged handle", func(t *testing.T) {
		st, body := refresh(strings.Split(gr.refresh, ".")[0]+"."+randomString(32), gr.clientID)
		wantOAuthError(t, st, body, http.StatusBadRequest, "invalid_grant")
	})

	// --- /register (RFC 7591).
	regCases := []struct {
		name, contentType, body, code string
	}{
		{"register oversized", "application/json", `{"client_name":"` + strings.Repeat("x", 20000) + `","redirect_uris":["http://127.0.0.1/cb"]}`, "invalid_client_metadata"},
		{"register malformed JSON", "application/json", `{"redirect_uris":[`, "invalid_client_metadata"},
		{"register not JSON", "text/plain", `redirect_uris=http://127.0.0.1/cb`, "invalid_client_metadata"},
		{"register without redirect URIs", "application/json", `{"client_name":"x"}`, "invalid_redirect_uri"},
		{"register http non-loopback redirect", "application/json", `{"redirect_uris":["http://evil.example/cb"]}`, "invalid_redirect_uri"},
		{"register redirect with fragment", "application/json", `{"redirect_uris":["https://app.example/cb#x"]}`, "invalid_redirect_uri"},
		{"register wildcard redirect", "application/json", `{"redirect_uris":["https://*.example/cb"]}`, "invalid_redirect_uri"},
		// hosts and ports that System.Uri (the policies) and Go parse differently
		{"register redirect port above 65535", "application/json", `{"redirect_uris":["http://127.0.0.1:65536/cb"]}`, "invalid_redirect_uri"},
		{"register redirect host with a semicolon", "application/json", `{"redirect_uris":["https://app;evil.example/cb"]}`, "invalid_redirect_uri"},
		{"register redirect host with a quote", "application/json", `{"redirect_uris":["https://app\"x.example/cb"]}`, "invalid_redirect_uri"},
		{"register redirect host with an encoded bracket", "application/json", `{"redirect_uris":["https://app%3Cx%3E.example/cb"]}`, "invalid_redirect_uri"},
		{"register redirect IPv6 literal with a zone", "application/json", `{"redirect_uris":["http://[::1%25lo]/cb"]}`, "invalid_redirect_uri"},
		{"register redirect malformed IPv6 literal", "application/json", `{"redirect_uris":["https://[1:2]/cb"]}`, "invalid_redirect_uri"},
	}
	for _, c := range regCases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := g.client().Post(base+"/register", c.contentType, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			st, body := decodeJSON(t, resp)
			wantOAuthError(t, st, body, http.StatusBadRequest, c.code)
		})
	}

	// --- rate limits (the limited gateway).
	t.Run("register rate limit per IP", func(t *testing.T) {
		// From 127.0.0.2, so that this test's counter is its own.
		c := g.client()
		c.Transport = g.CA.HTTPClient().Transport.(*http.Transport).Clone()
		c.Transport.(*http.Transport).DialContext = (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext
		meta := `{"client_name":"rate","redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none"}`
		var last *http.Response
		for i := 0; i <= limitedRegisterRate; i++ {
			resp, err := c.Post(g.limited.URL()+"/register", "application/json", strings.NewReader(meta))
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if i < limitedRegisterRate && resp.StatusCode != http.StatusCreated {
				t.Fatalf("registration %d: %d", i+1, resp.StatusCode)
			}
			last = resp
		}
		if last.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("registration %d: %d; want 429", limitedRegisterRate+1, last.StatusCode)
		}
		wantRetryAfter(t, "/register", last.Header, nil)
	})
	t.Run("mcp rate limit per user", func(t *testing.T) {
		gr := g.authorize(t, g.limited.URL())
		var st int
		var h http.Header
		for i := 0; i <= limitedMCPRate; i++ {
			st, h, _ = g.mcpCall(t, g.limited.URL()+"/mcp", "Bearer "+gr.access, nil)
			if i < limitedMCPRate && st != http.StatusOK {
				t.Fatalf("MCP request %d: %d", i+1, st)
			}
		}
		if st != http.StatusTooManyRequests {
			t.Fatalf("MCP request %d: %d; want 429", limitedMCPRate+1, st)
		}
		wantRetryAfter(t, "/mcp (per user)", h, nil)
	})
	_ = context.Background
}
