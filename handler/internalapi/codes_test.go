package internalapi

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func challengeOf(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

func newCodeReq(client string) map[string]any {
	return map[string]any{"client_id": client, "redirect_uri": "http://127.0.0.1:6276/oauth/callback",
		"code_challenge": challengeOf(verifier), "code_challenge_method": "S256",
		"resource": "https://apim.example.net/mcp", "scope": "openid", "payload": "enc:entra-tokens"}
}

func consumeReq(code, client string) map[string]any {
	return map[string]any{"code": code, "client_id": client, "redirect_uri": "http://127.0.0.1:6276/oauth/callback",
		"code_verifier": verifier, "resource": "https://apim.example.net/mcp"}
}

func TestCodes(t *testing.T) {
	h, clock, st := newAPI(t)
	client := register(t, h)
	before, _ := st.GetClient(t.Context(), client)
	clock.Advance(48 * time.Hour)

	r := call(t, h, "codes/create", newCodeReq(client))
	expect(t, "create", r, "OK")
	code := r.str("code")
	if len(code) != 43 || r.body["expires_in"] != float64(300) {
		t.Fatalf("create: code length %d, %v", len(code), r.body["expires_in"])
	}
	if after, _ := st.GetClient(t.Context(), client); after.ExpiresAt <= before.ExpiresAt {
		t.Fatal("issuing a code did not slide the client's expiry")
	}
	r = call(t, h, "codes/consume", consumeReq(code, client))
	expect(t, "consume", r, "OK")
	if r.str("payload") != "enc:entra-tokens" || r.str("resource") != "https://apim.example.net/mcp" || r.str("scope") != "openid" {
		t.Fatalf("consume: %v", r.body)
	}
	expect(t, "replay", call(t, h, "codes/consume", consumeReq(code, client)), "Bad Request invalid_grant/code_invalid")

	// Each binding: wrong value → its reason, and the code is burnt.
	for what, tc := range map[string]struct {
		mutate func(map[string]any)
		want   string
	}{
		"client":   {func(m map[string]any) { m["client_id"] = "other" }, "Bad Request invalid_grant/client_mismatch"},
		"redirect": {func(m map[string]any) { m["redirect_uri"] = "http://127.0.0.1:6276/other" }, "Bad Request invalid_grant/redirect_uri_mismatch"},
		"verifier": {func(m map[string]any) { m["code_verifier"] = strings.Repeat("a", 43) }, "Bad Request invalid_grant/pkce_failed"},
		"resource": {func(m map[string]any) { m["resource"] = "https://other.example/mcp" }, "Bad Request invalid_target/resource_mismatch"},
	} {
		code := call(t, h, "codes/create", newCodeReq(client)).str("code")
		req := consumeReq(code, client)
		tc.mutate(req)
		expect(t, "wrong "+what, call(t, h, "codes/consume", req), tc.want)
		expect(t, "after wrong "+what, call(t, h, "codes/consume", consumeReq(code, client)), "Bad Request invalid_grant/code_invalid")
	}
	// redirect_uri and resource may be omitted at the token endpoint.
	code = call(t, h, "codes/create", newCodeReq(client)).str("code")
	expect(t, "minimal consume", call(t, h, "codes/consume", map[string]any{"code": code, "client_id": client, "code_verifier": verifier}), "OK")

	plain := newCodeReq(client)
	plain["code_challenge_method"] = "plain"
	expect(t, "plain PKCE", call(t, h, "codes/create", plain), "Bad Request invalid_request")
	short := newCodeReq(client)
	short["code_challenge"] = "abc"
	expect(t, "bad challenge", call(t, h, "codes/create", short), "Bad Request invalid_request")
	long := newCodeReq(client)
	long["ttl_seconds"] = 301
	expect(t, "ttl too long", call(t, h, "codes/create", long), "Bad Request invalid_request")
	bad := consumeReq(code, client)
	bad["code_verifier"] = "short"
	expect(t, "malformed verifier", call(t, h, "codes/consume", bad), "Bad Request invalid_request")
	expect(t, "forged code", call(t, h, "codes/consume", consumeReq("forged", client)), "Bad Request invalid_grant/code_invalid")

	code = call(t, h, "codes/create", newCodeReq(client)).str("code")
	clock.Advance(5 * time.Minute)
	expect(t, "expired code", call(t, h, "codes/consume", consumeReq(code, client)), "Bad Request invalid_grant/code_invalid")
}
