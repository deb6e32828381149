package localstack

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestCheckMetadataRefuses: metadata that names another resource or server, several servers,
// or is not 200 JSON fails the check.
func TestCheckMetadataRefuses(t *testing.T) {
	var body string
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/oauth-protected-resource/mcp" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	defer srv.Close()
	base := srv.URL
	ok := fmt.Sprintf(`{"resource":%q,"authorization_servers":[%q]}`, base+"/mcp", base)
	body = ok
	if err := CheckMetadata(srv.Client(), base); err != nil {
		t.Fatalf("valid metadata refused: %v", err)
	}
	for name, b := range map[string]string{
		"other resource": fmt.Sprintf(`{"resource":%q,"authorization_servers":[%q]}`, base+"/wrong", base),
		"other server":   fmt.Sprintf(`{"resource":%q,"authorization_servers":["https://evil.example"]}`, base+"/mcp"),
		"two servers":    fmt.Sprintf(`{"resource":%q,"authorization_servers":[%q,%q]}`, base+"/mcp", base, base),
		"no servers":     fmt.Sprintf(`{"resource":%q}`, base+"/mcp"),
		"not JSON":       "<html>",
	} {
		body = b
		if err := CheckMetadata(srv.Client(), base); err == nil || !strings.Contains(err.Error(), "protected-resource metadata") {
			t.Errorf("%s: err = %v, want a metadata failure", name, err)
		}
	}
	body, status = ok, http.StatusInternalServerError
	if err := CheckMetadata(srv.Client(), base); err == nil {
		t.Error("a 500 with valid JSON passed")
	}
}
