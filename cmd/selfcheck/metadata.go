package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
)

// checkPRM: RFC 9728 protected-resource metadata at the path-suffixed and the root well-known URL
// (2025-06-18 and 2025-03-26 clients look at different ones), naming the exact MCP URL as resource
// and this gateway as its authorization server.
func (c *Checker) checkPRM(ctx context.Context) (string, error) {
	wantResource := c.url("/mcp")
	for _, path := range []string{"/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"} {
		doc, err := c.getJSON(ctx, path)
		if err != nil {
			return "", err
		}
		if got := str(doc, "resource"); got != wantResource {
			return "", fmt.Errorf("GET %s: resource is %q, want %q (the exact MCP URL clients connect to; fix the mcp-resource-url named value)", path, got, wantResource)
		}
		if as := strs(doc, "authorization_servers"); !slices.Contains(as, c.Gateway()) {
			return "", fmt.Errorf("GET %s: authorization_servers %q does not name the gateway %q (fix the gateway-url named value)", path, as, c.Gateway())
		}
	}
	return "resource " + wantResource + ", authorization server " + c.Gateway(), nil
}

// checkASMetadata: RFC 8414 metadata (and the OpenID configuration fallback) advertising this
// gateway's endpoints, S256 only, public clients and the authorization_code grant.
func (c *Checker) checkASMetadata(ctx context.Context) (string, error) {
	for _, path := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		doc, err := c.getJSON(ctx, path)
		if err != nil {
			return "", err
		}
		if got := str(doc, "issuer"); got != c.Gateway() {
			return "", fmt.Errorf("GET %s: issuer is %q, want %q", path, got, c.Gateway())
		}
		for key, want := range map[string]string{
			"authorization_endpoint": c.url("/authorize"),
			"token_endpoint":         c.url("/token"),
			"registration_endpoint":  c.url("/register"),
		} {
			if got := str(doc, key); got != want {
				return "", fmt.Errorf("GET %s: %s is %q, want %q", path, key, got, want)
			}
		}
		if rev := str(doc, "revocation_endpoint"); rev != "" && rev != c.url("/revoke") {
			return "", fmt.Errorf("GET %s: revocation_endpoint is %q, want %q", path, rev, c.url("/revoke"))
		}
		methods := strs(doc, "code_challenge_methods_supported")
		if !slices.Contains(methods, "S256") || slices.Contains(methods, "plain") {
			return "", fmt.Errorf("GET %s: code_challenge_methods_supported is %q, want S256 and never plain", path, methods)
		}
		if rt := strs(doc, "response_types_supported"); !slices.Contains(rt, "code") {
			return "", fmt.Errorf("GET %s: response_types_supported %q lacks code", path, rt)
		}
		if gt := strs(doc, "grant_types_supported"); !slices.Contains(gt, "authorization_code") {
			return "", fmt.Errorf("GET %s: grant_types_supported %q lacks authorization_code", path, gt)
		}
		if am := strs(doc, "token_endpoint_auth_methods_supported"); !slices.Contains(am, "none") {
			return "", fmt.Errorf("GET %s: token_endpoint_auth_methods_supported %q lacks none (MCP clients are public clients)", path, am)
		}
	}
	return "issuer and endpoints on " + c.Gateway() + ", PKCE S256 only", nil
}

// checkCORS: browser-based clients (MCP Inspector's web UI) read the metadata cross-origin, so
// the preflight and the GET must carry Access-Control-Allow-Origin.
func (c *Checker) checkCORS(ctx context.Context) (string, error) {
	const origin = "https://selfcheck.example"
	for _, path := range []string{"/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-authorization-server"} {
		resp, _, err := c.do(ctx, http.MethodOptions, path, http.Header{
			"Origin":                         {origin},
			"Access-Control-Request-Method":  {"GET"},
			"Access-Control-Request-Headers": {"mcp-protocol-version"},
		}, "")
		if err != nil {
			return "", err
		}
		if resp.StatusCode >= 300 {
			return "", fmt.Errorf("OPTIONS %s (CORS preflight) answered %d, want 2xx", path, resp.StatusCode)
		}
		if acao := resp.Header.Get("Access-Control-Allow-Origin"); acao != "*" && acao != origin {
			return "", fmt.Errorf("OPTIONS %s: Access-Control-Allow-Origin is %q, want * or the request origin", path, acao)
		}
		resp, _, err = c.do(ctx, http.MethodGet, path, http.Header{"Origin": {origin}}, "")
		if err != nil {
			return "", err
		}
		if acao := resp.Header.Get("Access-Control-Allow-Origin"); acao != "*" && acao != origin {
			return "", fmt.Errorf("GET %s with Origin: Access-Control-Allow-Origin is %q, want * or the request origin", path, acao)
		}
	}
	return "preflight and GET allow cross-origin reads", nil
}
