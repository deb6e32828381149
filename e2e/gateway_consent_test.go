package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestGatewayConsentPageInChromium drives the consent page in headless Chromium (Debian's
// chromium through playwright-core): approve (then the Entra stand-in's sign-in page) and deny
// complete the flow back to the client's redirect URI; a forged or missing CSRF token and a form posted from another origin are
// refused; the cookies are __Host-, Secure, HttpOnly, SameSite=Lax (consent) / Strict (CSRF);
// the page refuses to be framed and carries a strict CSP.
func TestGatewayConsentPageInChromium(t *testing.T) {
	g := getGatewayStack(t)
	base := g.GatewayURL()

	// The client's redirect URI: a loopback page the browser can land on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<!doctype html><title>client</title><p>back at the client</p>")
	})}
	go srv.Serve(ln)
	defer srv.Close()
	redirect := "http://" + ln.Addr().String() + "/callback"
	clientID := g.register(t, base, map[string]any{
		"client_name": "Chromium <Consent> Test", "redirect_uris": []string{redirect},
		"grant_types": []string{"authorization_code", "refresh_token"}, "token_endpoint_auth_method": "none",
	})

	type scenario struct {
		Name           string `json:"name"`
		Kind           string `json:"kind"`
		AuthorizeURL   string `json:"authorizeUrl"`
		ConsentURL     string `json:"consentUrl"`
		RedirectPrefix string `json:"redirectPrefix"`
	}
	states := map[string]string{}
	var scs []scenario
	for _, kind := range []string{"approve", "deny", "forged-csrf", "missing-csrf", "cross-origin", "frame"} {
		st := randomString(12)
		states[kind] = st
		u := authorizeURL(base, clientID, redirect, st, newPKCE(), nil)
		scs = append(scs, scenario{Name: kind, Kind: kind, AuthorizeURL: u, ConsentURL: u, RedirectPrefix: redirect})
	}
	results := runChromiumScript(t, "gateway-consent.mjs", scs, "SIGNIN_USER="+gatewayUser, "SIGNIN_PASSWORD="+gatewayPassword)
	get := func(m map[string]any, path ...string) any {
		var v any = m
		for _, p := range path {
			mm, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = mm[p]
		}
		return v
	}

	// The page: names the client (HTML-escaped), shows the redirect host, forbids framing.
	ap := results["approve"]
	if get(ap, "info", "clientName") != "Chromium <Consent> Test" || get(ap, "info", "redirectHost") != "127.0.0.1" {
		t.Errorf("consent page: client %v, host %v", get(ap, "info", "clientName"), get(ap, "info", "redirectHost"))
	}
	csp, _ := get(ap, "info", "csp").(string)
	for _, want := range []string{"frame-ancestors 'none'", "default-src 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("consent CSP lacks %q: %q", want, csp)
		}
	}
	if get(ap, "info", "xfo") != "DENY" || get(ap, "info", "cacheControl") != "no-store" {
		t.Errorf("consent headers: X-Frame-Options %v, Cache-Control %v", get(ap, "info", "xfo"), get(ap, "info", "cacheControl"))
	}
	if !strings.Contains(fmt.Sprint(get(ap, "info", "scopes")), "User.Read") {
		t.Errorf("consent page does not list the Graph scopes: %v", get(ap, "info", "scopes"))
	}

	// Cookies.
	findCookie := func(list any, name string) map[string]any {
		arr, _ := list.([]any)
		for _, c := range arr {
			if m, _ := c.(map[string]any); m["name"] == name {
				return m
			}
		}
		return nil
	}
	csrf := findCookie(ap["cookiesAtConsent"], "__Host-mcp-csrf")
	if csrf == nil || csrf["secure"] != true || csrf["httpOnly"] != true || csrf["sameSite"] != "Strict" || csrf["path"] != "/" {
		t.Errorf("CSRF cookie attributes: %v", csrf)
	}
	consent := findCookie(ap["cookiesAfter"], "__Host-mcp-consent")
	if consent == nil || consent["secure"] != true || consent["httpOnly"] != true || consent["sameSite"] != "Lax" ||
		consent["path"] != "/" || consent["domain"] != "127.0.0.1" || consent["hasExpiry"] != true {
		t.Errorf("consent cookie attributes: %v", consent)
	}

	// After the flow the one-time cookies are gone: CSRF cleared on approval, state at the callback.
	for _, name := range []string{"__Host-mcp-csrf", "__Host-mcp-tx"} {
		if c := findCookie(ap["cookiesAfter"], name); c != nil {
			t.Errorf("%s still set after the flow: %v", name, c)
		}
	}

	// Approve: back at the client with a code, the state and iss.
	if get(ap, "out", "signedIn") != true {
		t.Errorf("approve did not pass through the Entra stand-in's sign-in page: %v", ap["out"])
	}
	if r, _ := get(ap, "out", "redirect").(string); r == "" {
		t.Errorf("approve did not reach the client: %v", ap["out"])
	} else {
		u, _ := url.Parse(r)
		if q := u.Query(); len(q.Get("code")) != 43 || q.Get("state") != states["approve"] || q.Get("iss") != base {
			t.Errorf("approve redirect: code length %d, state ok %v, iss %q", len(q.Get("code")), q.Get("state") == states["approve"], q.Get("iss"))
		}
		remember(u.Query().Get("code"))
	}
	// Deny: back at the client with access_denied and the state, no code.
	if r, _ := get(results["deny"], "out", "redirect").(string); r == "" {
		t.Errorf("deny did not reach the client: %v", results["deny"]["out"])
	} else {
		u, _ := url.Parse(r)
		if q := u.Query(); q.Get("error") != "access_denied" || q.Get("state") != states["deny"] || q.Get("code") != "" {
			t.Errorf("deny redirect: %v", q)
		}
	}
	// Forged CSRF, missing CSRF, cross-origin post: a 403 page, no redirect.
	for _, name := range []string{"forged-csrf", "missing-csrf", "cross-origin"} {
		r := results[name]
		if get(r, "out", "redirect") != nil || get(r, "out", "status") != float64(403) {
			t.Errorf("%s: want a 403 page, got %v", name, r["out"])
		}
	}
	// Framing: Chromium refuses to render the page in a frame of another origin.
	fr := results["frame"]
	if fr["framedHasConsent"] != false {
		t.Errorf("the consent page rendered inside a frame: %v", fr)
	}
}
