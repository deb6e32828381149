package internalapi

import (
	"strings"
	"testing"
	"time"

	"example.com/graphmcp/handler/store"
)

func TestRefresh(t *testing.T) {
	h, clock, _ := newAPI(t)
	r := call(t, h, "refresh/create", map[string]any{"client_id": "c1", "payload": "enc:rt1", "resource": "https://apim.example.net/mcp", "scope": "openid"})
	expect(t, "create", r, "OK")
	rt0 := r.str("refresh_token")
	if r.body["expires_in"] != float64(30*24*3600) {
		t.Fatalf("expires_in %v", r.body["expires_in"])
	}

	r = call(t, h, "refresh/rotate", map[string]any{"refresh_token": rt0, "client_id": "c1"})
	expect(t, "rotate", r, "OK")
	rt1 := r.str("refresh_token")
	if rt1 == rt0 || r.str("payload") != "enc:rt1" || r.str("resource") != "https://apim.example.net/mcp" {
		t.Fatalf("rotate: new token differs %v, %v", rt1 != rt0, r.body["payload"])
	}
	expect(t, "update", call(t, h, "refresh/update", map[string]any{"refresh_token": rt1, "client_id": "c1", "payload": "enc:rt2"}), "OK")
	expect(t, "update spent", call(t, h, "refresh/update", map[string]any{"refresh_token": rt0, "client_id": "c1", "payload": "x"}), "Bad Request invalid_grant/refresh_token_invalid")
	expect(t, "rotate other client", call(t, h, "refresh/rotate", map[string]any{"refresh_token": rt1, "client_id": "c2"}), "Bad Request invalid_grant/client_mismatch")
	// Bound to the resource it was created for: another gateway over this state is refused and
	// spends nothing (rt1 stays current); a guessed token learns nothing about the binding.
	expect(t, "rotate for another resource", call(t, h, "refresh/rotate", map[string]any{"refresh_token": rt1, "client_id": "c1", "resource": "https://other.example.net/mcp"}),
		"Bad Request invalid_grant/resource_mismatch")
	expect(t, "guessed token for another resource", call(t, h, "refresh/rotate", map[string]any{"refresh_token": strings.Split(rt1, ".")[0] + "." + store.NewSecret(), "client_id": "c1", "resource": "https://other.example.net/mcp"}),
		"Bad Request invalid_grant/refresh_token_invalid")
	expect(t, "update with a resource", call(t, h, "refresh/update", map[string]any{"refresh_token": rt1, "client_id": "c1", "payload": "x", "resource": "https://apim.example.net/mcp"}),
		"Bad Request invalid_request")
	expect(t, "create without a resource", call(t, h, "refresh/create", map[string]any{"client_id": "c1", "payload": "p"}), "Bad Request invalid_request")

	clock.Advance(24 * time.Hour)
	r = call(t, h, "refresh/rotate", map[string]any{"refresh_token": rt1, "client_id": "c1", "resource": "https://apim.example.net/mcp", "payload": "enc:rt3"})
	expect(t, "rotate with payload", r, "OK")
	rt2 := r.str("refresh_token")
	if r.str("payload") != "enc:rt3" || r.body["expires_in"] != float64(30*24*3600) {
		t.Fatalf("rotate with payload: %v %v", r.body["payload"], r.body["expires_in"])
	}

	expect(t, "reuse", call(t, h, "refresh/rotate", map[string]any{"refresh_token": rt0, "client_id": "c1"}), "Bad Request invalid_grant/refresh_token_reused")
	expect(t, "after reuse", call(t, h, "refresh/rotate", map[string]any{"refresh_token": rt2, "client_id": "c1"}), "Bad Request invalid_grant/grant_revoked")
	expect(t, "malformed", call(t, h, "refresh/rotate", map[string]any{"refresh_token": "nope", "client_id": "c1"}), "Bad Request invalid_grant/refresh_token_invalid")
	expect(t, "unknown family", call(t, h, "refresh/rotate", map[string]any{"refresh_token": store.NewID() + "." + store.NewSecret(), "client_id": "c1"}),
		"Bad Request invalid_grant/refresh_token_invalid")

	// RFC 7009 revocation.
	r = call(t, h, "refresh/create", map[string]any{"client_id": "c1", "payload": "p", "resource": "https://apim.example.net/mcp"})
	rt := r.str("refresh_token")
	famID, _, _ := strings.Cut(rt, ".")
	for what, req := range map[string]map[string]any{
		"unknown token":  {"refresh_token": "nope"},
		"guessed secret": {"refresh_token": famID + "." + store.NewSecret()},
		"other client's": {"refresh_token": rt, "client_id": "c2"},
		"other resource": {"refresh_token": rt, "client_id": "c1", "resource": "https://other-gateway.example.net/mcp"},
		"unknown family": {"refresh_token": store.NewID() + "." + store.NewSecret()},
	} {
		r := call(t, h, "refresh/revoke", req)
		if expect(t, "revoke "+what, r, "OK"); r.body["revoked"] != false {
			t.Fatalf("revoke %s: %v", what, r.body)
		}
	}
	if r := call(t, h, "refresh/revoke", map[string]any{"refresh_token": rt, "client_id": "c1", "resource": "https://apim.example.net/mcp"}); r.body["revoked"] != true {
		t.Fatalf("revoke: %v", r.body)
	}
	expect(t, "rotate revoked", call(t, h, "refresh/rotate", map[string]any{"refresh_token": rt, "client_id": "c1"}), "Bad Request invalid_grant/grant_revoked")
	expect(t, "revoke missing token", call(t, h, "refresh/revoke", map[string]any{}), "Bad Request invalid_request")

	// Idle expiry.
	rt = call(t, h, "refresh/create", map[string]any{"client_id": "c1", "payload": "p", "resource": "https://apim.example.net/mcp"}).str("refresh_token")
	clock.Advance(30 * 24 * time.Hour)
	expect(t, "idle-expired", call(t, h, "refresh/rotate", map[string]any{"refresh_token": rt, "client_id": "c1"}), "Bad Request invalid_grant/refresh_token_invalid")
}
