package localstack

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// CheckMetadata reads the protected-resource metadata (RFC 9728) of the gateway at gatewayURL
// through c and checks that it names that gateway: resource gatewayURL+"/mcp" and
// gatewayURL as the only authorization server. A gateway that passes runs the real policies
// with its own named values; tests of a stack (and of `make dev`) use it as their first proof.
func CheckMetadata(c *http.Client, gatewayURL string) error {
	resp, err := c.Get(gatewayURL + "/.well-known/oauth-protected-resource/mcp")
	if err != nil {
		return fmt.Errorf("protected-resource metadata: %w", err)
	}
	defer resp.Body.Close()
	var prm struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&prm); err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("protected-resource metadata: status %d, %v", resp.StatusCode, err)
	}
	if prm.Resource != gatewayURL+"/mcp" || len(prm.AuthorizationServers) != 1 || prm.AuthorizationServers[0] != gatewayURL {
		return fmt.Errorf("protected-resource metadata = %+v, want resource %s/mcp and authorization server %s", prm, gatewayURL, gatewayURL)
	}
	return nil
}
