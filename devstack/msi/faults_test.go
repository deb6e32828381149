package msi_test

import (
	"net/http"
	"testing"

	"example.com/graphmcp/devstack/msi"
)

// TestDown: while down, requests get no answer at all; afterwards the endpoint serves again.
func TestDown(t *testing.T) {
	id := newIdentity()
	_, mi := start(t, id)
	get := func() (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodGet, mi.Endpoint()+"?api-version="+msi.APIVersion+"&resource=https://vault.azure.net", nil)
		req.Header.Set("X-IDENTITY-HEADER", mi.Header())
		return http.DefaultClient.Do(req)
	}
	mi.SetDown(true)
	if resp, err := get(); err == nil {
		resp.Body.Close()
		t.Fatalf("down: answered %d, want no answer", resp.StatusCode)
	}
	mi.SetDown(false)
	resp, err := get()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("back up: %v %v", resp, err)
	}
	resp.Body.Close()
	if mi.DownHits() < 1 {
		t.Fatalf("DownHits = %d", mi.DownHits())
	}
}
