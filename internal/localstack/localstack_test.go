package localstack

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
)

// TestStartServesMetadata starts the whole stack and reads the gateway's protected-resource
// metadata through TLS from the local CA: the emulator runs the real policy files with the
// generated named values, and the metadata names this gateway.
func TestStartServesMetadata(t *testing.T) {
	st, err := Start(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	resp, err := st.CA.HTTPClient().Get(st.GatewayURL() + "/.well-known/oauth-protected-resource/mcp")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var prm struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&prm); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("PRM: status %d, %v", resp.StatusCode, err)
	}
	if prm.Resource != st.MCPURL() || len(prm.AuthorizationServers) != 1 || prm.AuthorizationServers[0] != st.GatewayURL() {
		t.Fatalf("PRM = %+v, want resource %s", prm, st.MCPURL())
	}
}
