package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"example.com/graphmcp/internal/tokenformat"
)

// TestGatewayKeyRotation: a gateway whose current key is new and whose previous key is the old
// one (the documented rotation: old → prev, new → current) mints tokens under the new key id and
// still admits tokens sealed with the old key until they expire; a key that is neither is
// refused. The tokens here are sealed by the Go reference implementation, so the test also shows
// that internal/tokenformat and the C# policy code agree on every byte. Refresh: a family sealed
// under the old key still refreshes, while another gateway's refresh token is refused (each
// family is bound to the resource of the gateway that issued it).
func TestGatewayKeyRotation(t *testing.T) {
	g := getGatewayStack(t)
	base := g.rotated.URL()
	gr := g.authorize(t, base)
	at, err := tokenformat.OpenAccessToken([]tokenformat.Key{g.rotatedKey}, gr.access, base+"/mcp", time.Now())
	if err != nil {
		t.Fatalf("the rotated gateway did not mint under its new key: %v", err)
	}
	remember(at.Entra)

	oldKeyToken, err := tokenformat.SealAccessToken(g.Keys[0], *at)
	if err != nil {
		t.Fatal(err)
	}
	retired, _ := tokenformat.NewKey("k-retired")
	retiredToken, _ := tokenformat.SealAccessToken(retired, *at)
	remember(oldKeyToken, retiredToken)
	for name, c := range map[string]struct {
		token string
		want  int
	}{
		"current key":  {gr.access, http.StatusOK},
		"previous key": {oldKeyToken, http.StatusOK},
		"retired key":  {retiredToken, http.StatusUnauthorized},
	} {
		t.Run(name, func(t *testing.T) {
			st, _, body := g.mcpCall(t, base+"/mcp", "Bearer "+c.token, nil)
			if st != c.want {
				t.Fatalf("status %d, want %d: %.200s", st, c.want, body)
			}
		})
	}
	// Refresh tokens are bound to the gateway (RFC 8707 resource) that issued them: the main
	// gateway's token, presented at the rotated one (another resource over the same state
	// service), is refused and spends nothing — it still refreshes where it was issued.
	before := g.authorize(t, g.GatewayURL())
	st, body := g.postForm(t, base+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {before.refresh}, "client_id": {before.clientID}})
	wantOAuthError(t, st, body, http.StatusBadRequest, "invalid_grant")
	st, body = g.postForm(t, g.GatewayURL()+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {before.refresh}, "client_id": {before.clientID}})
	if st != http.StatusOK {
		t.Fatalf("the refused token no longer refreshes at its own gateway: %d %v", st, body["error"])
	}
	remember(body["access_token"].(string), body["refresh_token"].(string))

	// A family whose payload was sealed under the old key (here: the main gateway's payload,
	// re-homed to the rotated gateway's resource through the state service, as a family created
	// there before the rotation would be) still refreshes after the rotation.
	rotated := internalCall(t, g, "refresh/rotate", map[string]any{"refresh_token": body["refresh_token"], "client_id": before.clientID, "resource": g.MCPURL()})
	payload, _ := rotated["payload"].(string)
	remember(payload, fmt.Sprint(rotated["refresh_token"]))
	if _, err := tokenformat.Open(g.Keys, tokenformat.PurposeRefresh, payload); err != nil {
		t.Fatalf("the main gateway's family payload is not sealed under the old key: %v", err)
	}
	created := internalCall(t, g, "refresh/create", map[string]any{"client_id": before.clientID, "payload": payload, "resource": base + "/mcp", "scope": "mcp:tools"})
	oldKeyRefresh, _ := created["refresh_token"].(string)
	remember(oldKeyRefresh)
	st, body = g.postForm(t, base+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {oldKeyRefresh}, "client_id": {before.clientID}})
	if st != http.StatusOK {
		t.Fatalf("refresh after rotation: %d %v", st, body["error"])
	}
	remember(body["access_token"].(string), body["refresh_token"].(string))
	if _, err := tokenformat.OpenAccessToken([]tokenformat.Key{g.rotatedKey}, body["access_token"].(string), base+"/mcp", time.Now()); err != nil {
		t.Fatalf("the refreshed token is not sealed under the new key: %v", err)
	}
}

// internalCall posts one operation to the state service's internal API through the Functions
// host (with the function key) and fails the test unless it answers 200.
func internalCall(t *testing.T, g *gatewayStack, op string, body map[string]any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, g.Host.URL()+"/internal/v1/"+op, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-functions-key", g.FunctionKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	st, out := decodeJSON(t, resp)
	if st != http.StatusOK {
		t.Fatalf("internal %s: %d %v/%v", op, st, out["error"], out["error_reason"])
	}
	return out
}
