package entra_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var styleElement = regexp.MustCompile(`<style>([^<]*)</style>`)

// TestPagesAllowTheirStyleByHash: the sign-in and error pages carry one inline stylesheet, and
// their CSP allows exactly it by its SHA-256 — no 'unsafe-inline', no script. The sign-in page
// puts the requested scopes in plain words. (e2e TestGatewayPagesDesign renders both pages in
// Chromium with axe-core.)
func TestPagesAllowTheirStyleByHash(t *testing.T) {
	s := newStack(t, nil)
	signIn, signInPage := s.authorize(t, s.authorizeParams())
	failed, errorPage := s.authorize(t, url.Values{"client_id": {"not-our-app"}})
	for name, p := range map[string]struct {
		status    int
		csp, page string
	}{"sign-in": {signIn.StatusCode, signIn.Header.Get("Content-Security-Policy"), signInPage},
		"error": {failed.StatusCode, failed.Header.Get("Content-Security-Policy"), errorPage}} {
		styles := styleElement.FindAllStringSubmatch(p.page, -1)
		if len(styles) != 1 {
			t.Fatalf("%s page (%d): %d <style> elements, want 1", name, p.status, len(styles))
		}
		sum := sha256.Sum256([]byte(styles[0][1]))
		want := "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; frame-ancestors 'none'"
		if p.csp != want {
			t.Errorf("%s page: CSP %q, want %q", name, p.csp, want)
		}
		if strings.Contains(p.page, "<script") || strings.Contains(p.page, " style=") {
			t.Errorf("%s page has a script or a style attribute", name)
		}
	}
	for _, words := range []string{"Use the MCP gateway as you", "See who wrote to you, and about what", "<code>Mail.ReadBasic</code>",
		"Keep access you have given it", "<code>access_as_user</code>"} {
		if !strings.Contains(signInPage, words) {
			t.Errorf("sign-in page lacks %q", words)
		}
	}
}
