package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
)

// checkRegistration: RFC 7591 round trip with a throwaway public client. The registration is
// harmless — its only redirect URI is on loopback — and the state service expires unused ones.
func (c *Checker) checkRegistration(ctx context.Context) (string, error) {
	body := `{"client_name":"azd selfcheck (throwaway, expires unused)","redirect_uris":["` + loopbackRedirect + `"],` +
		`"grant_types":["authorization_code","refresh_token"],"response_types":["code"],"token_endpoint_auth_method":"none"}`
	resp, raw, err := c.do(ctx, http.MethodPost, "/register", http.Header{"Content-Type": {"application/json"}}, body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("POST /register answered %d, want 201 (%s)", resp.StatusCode, oauthError(raw))
	}
	var reg struct {
		ClientID     string   `json:"client_id"`
		ClientSecret string   `json:"client_secret"`
		RedirectURIs []string `json:"redirect_uris"`
	}
	if err := json.Unmarshal(raw, &reg); err != nil {
		return "", fmt.Errorf("POST /register: body is not the RFC 7591 JSON response: %v", err)
	}
	if reg.ClientID == "" {
		return "", fmt.Errorf("POST /register: no client_id in the response")
	}
	if reg.ClientSecret != "" {
		return "", fmt.Errorf("POST /register issued a client_secret to a public client (token_endpoint_auth_method none)")
	}
	if !slices.Contains(reg.RedirectURIs, loopbackRedirect) {
		return "", fmt.Errorf("POST /register: redirect_uris %q do not echo %q", reg.RedirectURIs, loopbackRedirect)
	}
	c.clientID = reg.ClientID
	return "registered a throwaway public client", nil
}

// checkRegistrationRefusals: metadata the gateway must refuse with RFC 7591 errors.
func (c *Checker) checkRegistrationRefusals(ctx context.Context) (string, error) {
	cases := []struct {
		name, body string
		want       []string
	}{
		{"a redirect URI with a fragment", `{"client_name":"selfcheck","redirect_uris":["https://selfcheck.example/cb#frag"]}`, []string{"invalid_redirect_uri"}},
		{"a plain-http non-loopback redirect URI", `{"client_name":"selfcheck","redirect_uris":["http://selfcheck.example/cb"]}`, []string{"invalid_redirect_uri"}},
		{"a body that is not JSON", `client_name=selfcheck`, []string{"invalid_client_metadata", "invalid_request"}},
	}
	for _, tc := range cases {
		resp, raw, err := c.do(ctx, http.MethodPost, "/register", http.Header{"Content-Type": {"application/json"}}, tc.body)
		if err != nil {
			return "", err
		}
		code := errorCode(raw)
		if resp.StatusCode != http.StatusBadRequest || !slices.Contains(tc.want, code) {
			return "", fmt.Errorf("POST /register with %s answered %d %q, want 400 with error %q", tc.name, resp.StatusCode, code, tc.want)
		}
	}
	return "refused bad redirect URIs and non-JSON metadata", nil
}

// errorCode extracts the OAuth "error" member of a JSON error body.
func errorCode(raw []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	json.Unmarshal(raw, &e)
	return e.Error
}

// oauthError summarises an OAuth error body for a message (error code only: descriptions could
// echo input).
func oauthError(raw []byte) string {
	if code := errorCode(raw); code != "" {
		return "error " + code
	}
	return fmt.Sprintf("%d-byte body", len(raw))
}
