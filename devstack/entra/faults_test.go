package entra_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"example.com/graphmcp/devstack/entra"
)

// TestTokenFaults: an injected 5xx carries Entra's transient-error shape and redeems nothing,
// an injected 400 is a revoked grant;
// a hang drops the request without an answer; only the chosen grants fail; clearing restores.
func TestTokenFaults(t *testing.T) {
	s := newStack(t, nil)
	user, _ := s.idp.UserToken("adele@contoso.test", nil)
	obo := url.Values{
		"grant_type": {entra.GrantOBO}, "requested_token_use": {"on_behalf_of"},
		"assertion": {user}, "scope": {graphUserRead},
	}
	s.idp.SetTokenFault(&entra.TokenFault{Grants: []string{entra.GrantOBO}, Status: 503})
	requireAADError(t, s.postToken(t, obo), 503, "temporarily_unavailable", 90033)
	// Another grant is unaffected: a refresh token grant still reaches its own checks.
	if r := s.postToken(t, url.Values{"grant_type": {entra.GrantRefreshToken}, "refresh_token": {"nope"}}); r.status != 400 {
		t.Fatalf("refresh during an OBO fault: %d %v", r.status, r.body)
	}

	s.idp.SetTokenFault(&entra.TokenFault{Grants: []string{entra.GrantOBO}, Status: 400})
	requireAADError(t, s.postToken(t, obo), 400, "invalid_grant", 50173)

	s.idp.SetTokenFault(&entra.TokenFault{Hang: time.Millisecond})
	resp, err := s.ca.HTTPClient().PostForm(s.idp.TokenURL(), obo)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("hang: got an answer %d, want the request dropped", resp.StatusCode)
	}
	if got := s.idp.TokenFaultHits(); got != 3 {
		t.Fatalf("fault hits = %d, want 3", got)
	}

	// MSAL sees the 5xx as an error, and works again once the fault is cleared.
	c := s.oboClient(t, nil)
	s.idp.SetTokenFault(&entra.TokenFault{Status: 500})
	if _, err := c.AcquireTokenOnBehalfOf(context.Background(), user, []string{graphUserRead}); err == nil || !strings.Contains(err.Error(), "90033") {
		t.Fatalf("OBO during a 500 fault: %v", err)
	}
	s.idp.SetTokenFault(nil)
	if _, err := c.AcquireTokenOnBehalfOf(context.Background(), user, []string{graphUserRead}); err != nil {
		t.Fatalf("OBO after the fault: %v", err)
	}
}
