package entra_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/graphmcp/devstack/entra"
	"example.com/graphmcp/devstack/entra/scripteduser"
)

// clock is a movable time source for the stand-in.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// postPublic posts a form as the public client (no client authentication).
func (s *stack) postPublic(t *testing.T, endpoint string, form url.Values) tokenReply {
	t.Helper()
	form.Set("client_id", s.idp.PublicClientID())
	resp, err := s.ca.HTTPClient().PostForm(endpoint, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("%s answered non-JSON (status %d): %v", endpoint, resp.StatusCode, err)
	}
	return tokenReply{resp.StatusCode, body}
}

func (s *stack) deviceCode(t *testing.T, scope string) tokenReply {
	t.Helper()
	r := s.postPublic(t, strings.Replace(s.idp.TokenURL(), "/token", "/devicecode", 1), url.Values{"scope": {scope}})
	if r.status != http.StatusOK || r.str("device_code") == "" || r.str("user_code") == "" ||
		r.str("verification_uri") != s.idp.DeviceLoginURL() || !strings.Contains(r.str("message"), r.str("user_code")) {
		t.Fatalf("devicecode: %d %v", r.status, r.body)
	}
	return r
}

func (s *stack) poll(t *testing.T, deviceCode string) tokenReply {
	t.Helper()
	return s.postPublic(t, s.idp.TokenURL(), url.Values{"grant_type": {"device_code"}, "device_code": {deviceCode},
		"scope": {"https://graph.microsoft.com/User.Read openid offline_access profile"}, "client_info": {"1"}})
}

// TestPublicDeviceCodeProtocol: RFC 8628 polling errors in Entra's shape, one redemption per
// code, a Graph token for the public client, expiry.
func TestPublicDeviceCodeProtocol(t *testing.T) {
	clk := &clock{now: time.Now()}
	s := newStack(t, func(o *entra.Options) { o.Now = clk.Now; o.DeviceCodeInterval = 5 * time.Second })
	dc := s.deviceCode(t, "https://graph.microsoft.com/User.Read openid offline_access profile")
	if dc.body["interval"] != float64(5) {
		t.Fatalf("interval = %v, want 5", dc.body["interval"])
	}
	requireAADError(t, s.poll(t, dc.str("device_code")), http.StatusBadRequest, "slow_down", 70016)
	clk.Add(6 * time.Second)
	requireAADError(t, s.poll(t, dc.str("device_code")), http.StatusBadRequest, "authorization_pending", 70016)

	u := scripteduser.User{Client: s.ca.HTTPClient(), UPN: "alex@contoso.test", Password: "alex-dev-password"}
	if err := u.ApproveDevice(context.Background(), s.idp.DeviceLoginURL(), dc.str("user_code")); err != nil {
		t.Fatal(err)
	}
	r := s.poll(t, dc.str("device_code"))
	if r.status != http.StatusOK || r.str("refresh_token") == "" || r.str("id_token") == "" || r.str("client_info") == "" {
		t.Fatalf("approved poll: %d %v", r.status, r.body)
	}
	c := claimsOf(t, r.str("access_token"))
	if c["aud"] != "https://graph.microsoft.com" || c["appid"] != s.idp.PublicClientID() || c["scp"] != "User.Read" {
		t.Fatalf("access token claims %v", c)
	}
	requireAADError(t, s.poll(t, dc.str("device_code")), http.StatusBadRequest, "invalid_grant", 70000)

	// Refresh for a permission Alex has not consented to: AADSTS65001, consent_required.
	rr := s.postPublic(t, s.idp.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.str("refresh_token")},
		"scope": {"https://graph.microsoft.com/Calendars.Read openid offline_access profile"}})
	requireAADError(t, rr, http.StatusBadRequest, "invalid_grant", 65001)
	if rr.str("suberror") != "consent_required" {
		t.Fatalf("suberror %q", rr.str("suberror"))
	}
	// The refused refresh token still works for what was consented.
	rr = s.postPublic(t, s.idp.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.str("refresh_token")},
		"scope": {"https://graph.microsoft.com/User.Read openid offline_access profile"}})
	if rr.status != http.StatusOK {
		t.Fatalf("refresh: %d %v", rr.status, rr.body)
	}

	dc2 := s.deviceCode(t, "User.Read")
	clk.Add(16 * time.Minute)
	requireAADError(t, s.poll(t, dc2.str("device_code")), http.StatusBadRequest, "expired_token", 70020)
	if n := s.idp.PublicCounts(); n.SlowDown != 1 || n.Pending != 1 || n.Expired != 1 || n.DeviceCodes != 2 {
		t.Fatalf("public counts %+v", n)
	}
}

// TestPublicAuthorizeRedirects: loopback http redirect URIs on any port are accepted for the
// public client (RFC 8252 §7.3); anything else gets Entra's error page, not a redirect.
func TestPublicAuthorizeRedirects(t *testing.T) {
	s := newStack(t, nil)
	params := func(redirect, scope string) url.Values {
		return url.Values{"client_id": {s.idp.PublicClientID()}, "redirect_uri": {redirect}, "response_type": {"code"},
			"response_mode": {"form_post"}, "scope": {scope}, "state": {"st"},
			"code_challenge": {pkce(verifier)}, "code_challenge_method": {"S256"}}
	}
	for _, ok := range []string{"http://localhost", "http://localhost:5555", "http://127.0.0.1:6666/", "http://[::1]:7777"} {
		resp, body := s.authorize(t, params(ok, "https://graph.microsoft.com/User.Read openid"))
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="password"`) {
			t.Errorf("%s: %d, want the sign-in page", ok, resp.StatusCode)
		}
	}
	for _, bad := range []string{"https://evil.example/cb", "http://localhost.evil.example:80", "http://127.0.0.1:80/cb?x=1", "http://user@localhost:1"} {
		resp, body := s.authorize(t, params(bad, "User.Read"))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "AADSTS50011") {
			t.Errorf("%s: %d, want the AADSTS50011 error page", bad, resp.StatusCode)
		}
	}
	// Our API's scope is not the local app's to ask for: an error posted back to the app.
	resp, body := s.authorize(t, params("http://localhost:5555", "api://"+s.idp.APIClientID()+"/access_as_user"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="error" value="invalid_scope"`) || !strings.Contains(body, `action="http://localhost:5555"`) {
		t.Fatalf("API scope: %d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Content-Security-Policy"); !strings.Contains(got, "script-src 'sha256-") {
		t.Fatalf("form_post page CSP %q", got)
	}
}

// TestPublicClientRefusesCredentials: a public client presents no secret or assertion.
func TestPublicClientRefusesCredentials(t *testing.T) {
	s := newStack(t, nil)
	r := s.postPublic(t, s.idp.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_secret": {"s"}})
	requireAADError(t, r, http.StatusUnauthorized, "invalid_client", 700025)
	r = s.postPublic(t, s.idp.TokenURL(), url.Values{"grant_type": {"password"}})
	requireAADError(t, r, http.StatusBadRequest, "unsupported_grant_type", 70003)
}
