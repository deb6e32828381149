package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"example.com/graphmcp/devstack/entra"
)

// entraFaults are the transient failures of Entra's /token the gateway must ride out: a 5xx
// answer and no answer at all (the stand-in holds the request, then resets it).
var entraFaults = []struct {
	name  string
	fault entra.TokenFault
}{
	{"503", entra.TokenFault{Status: http.StatusServiceUnavailable}},
	{"no answer", entra.TokenFault{Hang: time.Millisecond}},
}

// withEntraFault runs fn while Entra's /token fails for grant as f says, and checks that the
// fault was what answered.
func withEntraFault(t *testing.T, g *gatewayStack, grant string, f entra.TokenFault, fn func()) {
	t.Helper()
	f.Grants = []string{grant}
	hits := g.Entra.TokenFaultHits()
	g.Entra.SetTokenFault(&f)
	defer g.Entra.SetTokenFault(nil)
	fn()
	if g.Entra.TokenFaultHits() == hits {
		t.Fatal("the injected Entra fault was never hit")
	}
}

// TestGatewayRefreshRetryAfterEntraFailure: a refresh whose redemption at Entra ID fails
// transiently answers 503 temporarily_unavailable, and the client's retry with the SAME refresh
// token then succeeds (the policy released the rotation instead of revoking the family). The
// rest of the rotation rules hold: the retried token is spent once it succeeded, and presenting
// it again is reuse, which revokes the family.
func TestGatewayRefreshRetryAfterEntraFailure(t *testing.T) {
	g := getGatewayStack(t)
	base := g.GatewayURL()
	gr := g.authorize(t, base)
	refresh := func(rt string) (int, map[string]any) {
		return g.postForm(t, base+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {gr.clientID}})
	}
	rt := gr.refresh
	for i, ef := range entraFaults {
		name := ef.name
		withEntraFault(t, g, entra.GrantRefreshToken, ef.fault, func() {
			for range 2 { // a client retrying at once, while Entra still fails, keeps its token too
				st, body := refresh(rt)
				wantOAuthError(t, st, body, http.StatusServiceUnavailable, "temporarily_unavailable")
				if body["_cache_control"] != "no-store" {
					t.Errorf("%s: 503 without Cache-Control: no-store", name)
				}
			}
		})
		st, body := refresh(rt)
		next, _ := body["refresh_token"].(string)
		if st != http.StatusOK || next == "" || next == rt {
			t.Fatalf("retry with the same refresh token after Entra %s: %d %v %v", name, st, body["error"], body["error_description"])
		}
		at, _ := body["access_token"].(string)
		remember(next, at)
		if _, err := g.connectGateway(t, g.MCPURL(), at); err != nil {
			t.Fatalf("access token from the retried refresh: %v", err)
		}
		if !auditHas(t, g, gr.clientID, "release 200") {
			t.Errorf("%s: no audit event records the released rotation", name)
		}
		// The retried token was used now: presenting it again is reuse and revokes the family.
		if i == len(entraFaults)-1 {
			st, body = refresh(rt)
			wantOAuthError(t, st, body, http.StatusBadRequest, "invalid_grant")
			st, body = refresh(next)
			wantOAuthError(t, st, body, http.StatusBadRequest, "invalid_grant")
			return
		}
		rt = next
	}
}

// TestGatewayRefreshEntraRefusal: when Entra ID refuses the upstream refresh token (400
// invalid_grant: the user's sign-in there has ended), the family is revoked as before: the
// client is told to sign in again, and retrying the same refresh token is refused too.
func TestGatewayRefreshEntraRefusal(t *testing.T) {
	g := getGatewayStack(t)
	base := g.GatewayURL()
	gr := g.authorize(t, base)
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {gr.refresh}, "client_id": {gr.clientID}}
	withEntraFault(t, g, entra.GrantRefreshToken, entra.TokenFault{Status: http.StatusBadRequest}, func() {
		st, body := g.postForm(t, base+"/token", form)
		wantOAuthError(t, st, body, http.StatusBadRequest, "invalid_grant")
	})
	st, body := g.postForm(t, base+"/token", form)
	wantOAuthError(t, st, body, http.StatusBadRequest, "invalid_grant")
	if !auditHas(t, g, gr.clientID, "grant_revoked") {
		t.Error("the retry was not refused because the family is revoked")
	}
}

// auditHas reports whether an audit event of the client has a reason containing s.
func auditHas(t *testing.T, g *gatewayStack, clientID, s string) bool {
	t.Helper()
	for _, e := range auditEvents(t, g.Gateway) {
		if r, _ := e["reason"].(string); e["client_id"] == clientID && strings.Contains(r, s) {
			return true
		}
	}
	return false
}

// TestGatewayCallbackEntraUnavailable: when Entra ID does not redeem the code because it is
// failing transiently, the client's redirect URI gets temporarily_unavailable (RFC 6749
// §4.1.2.1), not server_error, which stays for real failures (TestGatewayCallbackHidesEntraError).
func TestGatewayCallbackEntraUnavailable(t *testing.T) {
	g := getGatewayStack(t)
	base := g.GatewayURL()
	clientID := g.newClient(t, base, negRedirect)
	for _, ef := range entraFaults {
		name := ef.name
		ua := newUserAgent(g, base)
		ua.stop = func(u *url.URL) bool { return u.Path == "/oauth-callback" }
		cb := ua.run(t, authorizeURL(base, clientID, negRedirect, "s", newPKCE(), nil), "approve", nil)
		ua.stop = nil
		if cb.Redirect == nil || cb.Redirect.Path != "/oauth-callback" {
			t.Fatalf("%s: did not reach the callback: %v", name, cb)
		}
		remember(cb.Redirect.Query().Get("code"), cb.Redirect.Query().Get("state"))
		withEntraFault(t, g, entra.GrantAuthorizationCode, ef.fault, func() {
			wantRedirectError(t, ua.run(t, cb.Redirect.String(), "", nil), base, negRedirect, "s", "temporarily_unavailable")
		})
	}
}
