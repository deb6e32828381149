package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

const initializeRequest = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"selfcheck","version":"1"}}}`

// checkChallenge: /mcp without a token, and with a forged one, answers 401 with a Bearer challenge
// that points at the protected-resource metadata (RFC 9728 §5.1), so clients can discover the gateway.
func (c *Checker) checkChallenge(ctx context.Context) (string, error) {
	wantMeta := c.url("/.well-known/oauth-protected-resource/mcp")
	cases := []struct {
		name, auth string
		wantError  bool
	}{
		{"no token", "", false},
		{"a forged token", "Bearer selfcheck.not-a-token.AAAA", true},
	}
	for _, tc := range cases {
		h := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json, text/event-stream"}}
		if tc.auth != "" {
			h.Set("Authorization", tc.auth)
		}
		resp, _, err := c.do(ctx, http.MethodPost, "/mcp", h, initializeRequest)
		if err != nil {
			return "", err
		}
		if resp.StatusCode != http.StatusUnauthorized {
			return "", fmt.Errorf("POST /mcp with %s answered %d, want 401", tc.name, resp.StatusCode)
		}
		www := resp.Header.Get("WWW-Authenticate")
		params, ok := parseBearer(www)
		if !ok {
			return "", fmt.Errorf("POST /mcp with %s: WWW-Authenticate %q is not a Bearer challenge", tc.name, www)
		}
		if params["resource_metadata"] != wantMeta {
			return "", fmt.Errorf("POST /mcp with %s: resource_metadata is %q, want %q", tc.name, params["resource_metadata"], wantMeta)
		}
		if tc.wantError && params["error"] != "invalid_token" {
			return "", fmt.Errorf("POST /mcp with %s: error is %q, want invalid_token", tc.name, params["error"])
		}
	}
	return "401 with resource_metadata " + wantMeta, nil
}

// parseBearer parses `Bearer k="v", k2="v2"` (quoted or token values).
func parseBearer(h string) (map[string]string, bool) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return nil, false
	}
	params := map[string]string{}
	for rest = strings.TrimSpace(rest); rest != ""; {
		k, after, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		after = strings.TrimSpace(after)
		var v string
		if strings.HasPrefix(after, `"`) {
			end := 1
			for end < len(after) && after[end] != '"' {
				if after[end] == '\\' {
					end++
				}
				end++
			}
			v = strings.ReplaceAll(after[1:min(end, len(after))], `\"`, `"`)
			after = after[min(end+1, len(after)):]
		} else {
			v, after, _ = strings.Cut(after, ",")
			v = strings.TrimSpace(v)
			after = "," + after
		}
		params[k] = v
		after = strings.TrimSpace(after)
		rest = strings.TrimSpace(strings.TrimPrefix(after, ","))
	}
	return params, true
}
