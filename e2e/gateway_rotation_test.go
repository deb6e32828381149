package e2e

import (
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
// that internal/tokenformat and the C# policy code agree on every byte.
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
	// A refresh token issued before the rotation (its family payload sealed under the old key by
	// the main gateway, which shares the state service) still refreshes after it.
	before := g.authorize(t, g.GatewayURL())
	st, body := g.postForm(t, base+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {before.refresh}, "client_id": {before.clientID}})
	if st != http.StatusOK {
		t.Fatalf("refresh after rotation: %d %v", st, body["error"])
	}
	remember(body["access_token"].(string), body["refresh_token"].(string))
	if _, err := tokenformat.OpenAccessToken([]tokenformat.Key{g.rotatedKey}, body["access_token"].(string), base+"/mcp", time.Now()); err != nil {
		t.Fatalf("the refreshed token is not sealed under the new key: %v", err)
	}
}
