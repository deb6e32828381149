package localstack

import (
	"context"
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
	if err := CheckMetadata(st.CA.HTTPClient(), st.GatewayURL()); err != nil {
		t.Fatal(err)
	}
	if st.MCPURL() != st.GatewayURL()+"/mcp" {
		t.Fatalf("MCPURL %s is not the resource the metadata names", st.MCPURL())
	}
}
