package internalapi

import (
	"testing"
	"time"
)

func TestClients(t *testing.T) {
	h, clock, _ := newAPI(t)
	r := call(t, h, "clients/register", []byte(inspectorDCR))
	expect(t, "register", r, "Created")
	id := r.str("client_id")
	if id == "" || r.body["client_id_issued_at"] == nil || r.str("token_endpoint_auth_method") != "none" || r.str("client_name") != "MCP Inspector" {
		t.Fatalf("registration response %v", r.body)
	}

	r = call(t, h, "clients/get", map[string]string{"client_id": id})
	expect(t, "get", r, "OK")
	if r.str("client_kind") != "dcr" || r.str("display_name") != "MCP Inspector" || r.body["loopback_only"] != true {
		t.Fatalf("get: %v", r.body)
	}

	r = call(t, h, "clients/check-redirect", map[string]string{"client_id": id, "redirect_uri": "http://127.0.0.1:51234/oauth/callback"})
	expect(t, "loopback redirect on another port", r, "OK")
	if r.str("redirect_host") != "127.0.0.1" || r.str("redirect_kind") != "loopback" || r.str("redirect_uri") != "http://127.0.0.1:51234/oauth/callback" {
		t.Fatalf("check-redirect: %v", r.body)
	}
	for _, bad := range []string{"http://127.0.0.1:6276/other", "http://localhost:6276/oauth/callback", "https://evil.example/cb", "http://127.0.0.1:6276/oauth/callback#x"} {
		expect(t, "redirect "+bad, call(t, h, "clients/check-redirect", map[string]string{"client_id": id, "redirect_uri": bad}),
			"Bad Request invalid_redirect_uri/not_registered")
	}
	expect(t, "redirect missing", call(t, h, "clients/check-redirect", map[string]string{"client_id": id}), "Bad Request invalid_request")
	expect(t, "unknown client", call(t, h, "clients/get", map[string]string{"client_id": "NOPE"}), "Bad Request invalid_client/unknown_client")
	expect(t, "missing client_id", call(t, h, "clients/get", map[string]string{}), "Bad Request invalid_request")
	expect(t, "CIMD without fetcher", call(t, h, "clients/get", map[string]string{"client_id": "https://c.example/meta.json"}),
		"Bad Request invalid_client/cimd_disabled")

	expect(t, "invalid metadata", call(t, h, "clients/register", []byte(`{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"client_secret_post"}`)),
		"Bad Request invalid_client_metadata")
	expect(t, "invalid redirect", call(t, h, "clients/register", []byte(`{"redirect_uris":["http://a.example/cb"]}`)),
		"Bad Request invalid_redirect_uri")
	expect(t, "no redirect", call(t, h, "clients/register", []byte(`{"client_name":"x"}`)), "Bad Request invalid_redirect_uri")
	for _, bad := range []string{"http://127.0.0.1:65536/cb", "https://a;b.example/cb", `https://a"b.example/cb`, "https://a b.example/cb",
		"https://a%3Cb%3E.example/cb", "https://a,b.example/cb", "http://[::1%25lo]/cb", "https://[1:2]/cb"} {
		expect(t, "redirect host or port "+bad, call(t, h, "clients/register", map[string]any{"redirect_uris": []string{bad}}), "Bad Request invalid_redirect_uri")
	}

	// Unused registrations expire after ClientTTL (90 days by default).
	clock.Advance(91 * 24 * time.Hour)
	expect(t, "expired client", call(t, h, "clients/get", map[string]string{"client_id": id}), "Bad Request invalid_client/unknown_client")
}
