package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

var errNoClient = errors.New("not run: needs the client the registration check creates")

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// checkAuthorizeRefusals: problems with the client or its redirect URI are shown to the user and
// never redirected (no open redirect); other request errors go back to the registered redirect URI
// with an OAuth error and never with a code.
func (c *Checker) checkAuthorizeRefusals(ctx context.Context) (string, error) {
	if c.clientID == "" {
		return "", errNoClient
	}
	verifier := randomToken()
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	query := func(mod func(url.Values)) string {
		q := url.Values{
			"client_id":             {c.clientID},
			"redirect_uri":          {loopbackRedirect},
			"response_type":         {"code"},
			"code_challenge":        {challenge},
			"code_challenge_method": {"S256"},
			"state":                 {"selfcheck"},
			"resource":              {c.url("/mcp")},
		}
		mod(q)
		return "/authorize?" + q.Encode()
	}
	shown := []struct{ name, path string }{
		{"an unknown client", query(func(q url.Values) { q.Set("client_id", "selfcheck-unknown-"+randomToken()[:12]) })},
		{"a redirect URI the client did not register", query(func(q url.Values) { q.Set("redirect_uri", "https://selfcheck.example/cb") })},
	}
	for _, tc := range shown {
		resp, _, err := c.do(ctx, http.MethodGet, tc.path, nil, "")
		if err != nil {
			return "", err
		}
		if loc := resp.Header.Get("Location"); loc != "" || resp.StatusCode < 400 || resp.StatusCode > 499 {
			return "", fmt.Errorf("GET /authorize with %s answered %d (Location %q), want a 4xx page and no redirect: redirecting here is an open redirect", tc.name, resp.StatusCode, loc)
		}
	}
	redirected := []struct {
		name, path string
		want       []string
	}{
		{"PKCE method plain", query(func(q url.Values) { q.Set("code_challenge_method", "plain"); q.Set("code_challenge", verifier) }), []string{"invalid_request"}},
		{"no PKCE challenge", query(func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }), []string{"invalid_request"}},
		{"response_type token", query(func(q url.Values) { q.Set("response_type", "token") }), []string{"unsupported_response_type", "invalid_request"}},
		{"another resource", query(func(q url.Values) { q.Set("resource", "https://selfcheck.example/mcp") }), []string{"invalid_target", "invalid_request"}},
	}
	for _, tc := range redirected {
		resp, raw, err := c.do(ctx, http.MethodGet, tc.path, nil, "")
		if err != nil {
			return "", err
		}
		if resp.StatusCode == http.StatusBadRequest {
			continue // shown to the user instead of redirected: also safe
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
			return "", fmt.Errorf("GET /authorize with %s answered %d (%s), want 400 or a redirect carrying error %q", tc.name, resp.StatusCode, oauthError(raw), tc.want)
		}
		u, err := url.Parse(loc)
		if err != nil || !strings.HasPrefix(loc, loopbackRedirect) {
			return "", fmt.Errorf("GET /authorize with %s redirected to %q, want the registered redirect URI %s", tc.name, loc, loopbackRedirect)
		}
		q := u.Query()
		if q.Get("code") != "" {
			return "", fmt.Errorf("GET /authorize with %s issued an authorization code", tc.name)
		}
		if !slices.Contains(tc.want, q.Get("error")) {
			return "", fmt.Errorf("GET /authorize with %s redirected with error %q, want %q", tc.name, q.Get("error"), tc.want)
		}
		if q.Get("state") != "selfcheck" {
			return "", fmt.Errorf("GET /authorize with %s redirected without the client's state", tc.name)
		}
	}
	return "client and redirect errors shown, never redirected; PKCE, response_type and resource errors redirected without a code", nil
}

// checkTokenRefusals: RFC 6749 §5.2 errors, JSON, Cache-Control: no-store.
func (c *Checker) checkTokenRefusals(ctx context.Context) (string, error) {
	if c.clientID == "" {
		return "", errNoClient
	}
	cases := []struct {
		name string
		form url.Values
		want []string
	}{
		{"an unknown code", url.Values{"grant_type": {"authorization_code"}, "code": {randomToken()}, "code_verifier": {randomToken()},
			"client_id": {c.clientID}, "redirect_uri": {loopbackRedirect}}, []string{"invalid_grant"}},
		{"an unknown refresh token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {randomToken()}, "client_id": {c.clientID}}, []string{"invalid_grant"}},
		{"the password grant", url.Values{"grant_type": {"password"}, "username": {"selfcheck"}, "password": {"selfcheck"}, "client_id": {c.clientID}}, []string{"unsupported_grant_type"}},
		{"no grant_type", url.Values{"client_id": {c.clientID}}, []string{"invalid_request", "unsupported_grant_type"}},
	}
	for _, tc := range cases {
		resp, raw, err := c.do(ctx, http.MethodPost, "/token", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, tc.form.Encode())
		if err != nil {
			return "", err
		}
		code := errorCode(raw)
		if resp.StatusCode != http.StatusBadRequest || !slices.Contains(tc.want, code) {
			return "", fmt.Errorf("POST /token with %s answered %d %q, want 400 with error %q", tc.name, resp.StatusCode, code, tc.want)
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			return "", fmt.Errorf("POST /token with %s: Cache-Control is %q, want no-store", tc.name, cc)
		}
	}
	return "invalid_grant, unsupported_grant_type and invalid_request with no-store", nil
}
