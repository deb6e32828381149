package e2e

import (
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"example.com/graphmcp/internal/testdeps"
)

// pagesHostileName is a client name made of markup: the pages must show it as text.
const pagesHostileName = `<script>alert(1)</script><img src=x onerror=alert(2)>"'& Helper`

// pagesHostilePath is the path of a metadata document whose URL (the client_id, which the
// consent page shows) breaks out of an attribute and opens an element, within the printable
// ASCII that client_id URLs may hold.
const pagesHostilePath = `/pages/x'"><svg/onload=alert(4)>.json`

// TestGatewayPagesDesign looks at every page a person meets during sign-in in headless Chromium:
// the consent page (an application on this computer, a website, an app behind a private-use
// scheme, a client with a hostile name and redirect URI, a client identified by its metadata
// document, plain and hostile), the error page of /authorize, the page a Graph consent link
// returns to (granted and refused), and the Entra stand-in's sign-in page (fresh and after a
// wrong password) and error page. Each page, at
// 360 px and 1,280 px wide in light and dark mode: axe-core finds no violation, nothing is wider
// than the window, the stylesheet applied (the system font stack; light and dark colours differ).
// Each page carries exactly one <style> whose SHA-256 is the CSP's only style source (no
// 'unsafe-inline', no style attribute), Chromium reports no CSP violation, and there is no script
// and no image. Hostile names and URIs render as text. The screenshots are written to
// $PAGES_SCREENSHOT_DIR (default dist/screenshots) for people to look at; they are not compared.
func TestGatewayPagesDesign(t *testing.T) {
	g := getGatewayStack(t)
	base := g.GatewayURL()
	dir := os.Getenv("PAGES_SCREENSHOT_DIR")
	if dir == "" {
		dir = filepath.Join(testdeps.RepoRoot(t), "dist", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	const hostileRedirect = `https://app.example/cb?x="><script>alert(3)</script>`
	clients := []struct{ scenario, name, redirect string }{
		{"consent-loopback", "MCP Inspector", "http://127.0.0.1:6274/oauth/callback"},
		{"consent-website", "Visual Studio Code", "https://vscode.dev/redirect"},
		{"consent-private-use", "Cursor", "cursor://anysphere.cursor-mcp/oauth/callback"},
		{"consent-hostile", pagesHostileName, hostileRedirect},
	}
	type scenario struct {
		Name string `json:"name"`
		URL  string `json:"url"`
		Then string `json:"then,omitempty"`
	}
	var scs []scenario
	consentURL := map[string]string{}
	for _, c := range clients {
		id := g.register(t, base, map[string]any{"client_name": c.name, "redirect_uris": []string{c.redirect},
			"grant_types": []string{"authorization_code", "refresh_token"}, "token_endpoint_auth_method": "none"})
		consentURL[c.scenario] = authorizeURL(base, id, c.redirect, randomString(12), newPKCE(), nil)
		scs = append(scs, scenario{Name: c.scenario, URL: consentURL[c.scenario]})
	}
	// Clients whose client_id is the URL of their metadata document (at the CIMD gateway): the
	// page names the document's host; a document that only lists loopback redirect URIs gets
	// the loopback-only caution; a hostile name and a hostile document URL stay text.
	c := getCIMDGateway(t, g)
	cimdID, _ := documentClient(c, "/pages/client.json", "Example MCP Client", `"pages"`, "http://127.0.0.1:6274/oauth/callback")
	cimdHostileID, _ := documentClient(c, pagesHostilePath, pagesHostileName, `"pages"`, hostileRedirect)
	scs = append(scs,
		scenario{Name: "consent-cimd", URL: authorizeURL(c.URL(), cimdID, "http://127.0.0.1:6274/oauth/callback", randomString(12), newPKCE(), nil)},
		scenario{Name: "consent-cimd-hostile", URL: authorizeURL(c.URL(), cimdHostileID, hostileRedirect, randomString(12), newPKCE(), nil)},
		// Where a tool's Graph consent link returns (handler/obo.ConsentPage): accepted, and
		// refused with a hostile error_description that must not be echoed.
		scenario{Name: "graph-consent", URL: base + "/oauth-callback?" + url.Values{"state": {"graph-consent"}, "code": {"never-redeemed"}}.Encode()},
		scenario{Name: "graph-consent-denied", URL: base + "/oauth-callback?" + url.Values{"state": {"graph-consent"},
			"error": {"access_denied"}, "error_description": {pagesHostileName}}.Encode()},
	)
	scs = append(scs,
		scenario{Name: "authorize-error", URL: authorizeURL(base, "no-such-client", "http://127.0.0.1:6274/cb", "s", newPKCE(), nil)},
		scenario{Name: "signin", URL: consentURL["consent-loopback"], Then: "signin"},
		scenario{Name: "signin-error", URL: consentURL["consent-loopback"], Then: "signin-error"},
		// The stand-in's error page echoes the unknown client_id: markup, shown as text.
		scenario{Name: "entra-error", URL: g.Entra.AuthorizeURL() + "?" + url.Values{"client_id": {pagesHostileName}}.Encode()},
	)
	results := runChromiumScript(t, "pages-design.mjs", scs, "SCREENSHOT_DIR="+dir, "SIGNIN_USER="+gatewayUser,
		"AXE="+filepath.Join(testdeps.NodeModules(t), "axe-core", "axe.min.js"))
	t.Logf("screenshots of %d pages at 360 and 1280 px, light and dark: %s", len(scs), dir)

	wantStatus := map[string]float64{"authorize-error": 400, "entra-error": 400}
	for _, s := range scs {
		r := results[s.Name]
		t.Run(s.Name, func(t *testing.T) {
			if want := cmp.Or(wantStatus[s.Name], 200); r["status"] != want {
				t.Errorf("status %v, want %v (page %v)", r["status"], want, r["url"])
			}
			checkPageStyle(t, r)
			for _, l := range r["looks"].([]any) {
				l := l.(map[string]any)
				at := fmt.Sprintf("%v px, %v", l["width"], l["scheme"])
				if v, _ := l["axe"].([]any); len(v) != 0 {
					t.Errorf("%s: axe-core violations: %v", at, v)
				}
				if l["scrollWidth"].(float64) > l["width"].(float64) {
					t.Errorf("%s: the page is %v px wide, wider than the window", at, l["scrollWidth"])
				}
				if f, _ := l["bodyFont"].(string); !strings.HasPrefix(f, "system-ui") {
					t.Errorf("%s: body font %q: the stylesheet did not apply", at, f)
				}
			}
			looks := r["looks"].([]any)
			light, dark := looks[0].(map[string]any), looks[len(looks)-1].(map[string]any)
			for _, prop := range []string{"bodyBackground", "primaryBackground"} {
				if light[prop] == dark[prop] && (light[prop] != nil || s.Name == "signin" || strings.HasPrefix(s.Name, "consent")) {
					t.Errorf("%s is %v in light and dark mode", prop, light[prop])
				}
			}
		})
	}

	// Where it sends you: the host large, a warning style unless a website or this computer.
	for name, want := range map[string]struct {
		host string
		warn bool
	}{"consent-loopback": {"127.0.0.1", false}, "consent-website": {"vscode.dev", false},
		"consent-private-use": {"cursor:", true}, "consent-hostile": {"app.example", false},
		"consent-cimd": {"127.0.0.1", false}, "consent-cimd-hostile": {"app.example", false}} {
		r := results[name]
		if r["redirectHost"] != want.host || r["destWarn"] != want.warn {
			t.Errorf("%s: redirect host %v, warning style %v; want %q, %v", name, r["redirectHost"], r["destWarn"], want.host, want.warn)
		}
	}
	// Hostile input is text, not markup: a registered client's name and redirect URI, and a
	// metadata document's name, redirect URI and URL (the client_id).
	for _, name := range []string{"consent-hostile", "consent-cimd-hostile"} {
		if h := results[name]; h["clientName"] != pagesHostileName || h["redirectUri"] != hostileRedirect ||
			!strings.Contains(fmt.Sprint(h["title"]), pagesHostileName) {
			t.Errorf("%s: name %q, redirect %q, title %q", name, h["clientName"], h["redirectUri"], h["title"])
		}
	}
	if h := results["consent-cimd-hostile"]; h["clientIdUrl"] != cimdHostileID || h["clientIdHost"] != c.docs.host() || h["loopbackWarning"] != false {
		t.Errorf("hostile metadata document: client_id %q, host %q, loopback caution %v", h["clientIdUrl"], h["clientIdHost"], h["loopbackWarning"])
	}
	// The metadata document's name and host, and the caution for a loopback-only document.
	if r := results["consent-cimd"]; r["clientName"] != "Example MCP Client" || r["clientIdHost"] != c.docs.host() ||
		r["clientIdUrl"] != cimdID || r["loopbackWarning"] != true {
		t.Errorf("metadata document client: name %q, document host %q, client_id %q, loopback caution %v",
			r["clientName"], r["clientIdHost"], r["clientIdUrl"], r["loopbackWarning"])
	}
	if r := results["graph-consent"]; r["result"] != "Permissions granted" {
		t.Errorf("graph consent page: %q", r["result"])
	}
	if r := results["graph-consent-denied"]; r["result"] != "Permissions not granted" || strings.Contains(fmt.Sprint(r["bodyText"]), "Helper") {
		t.Errorf("graph consent refused: %q; the page must not echo the request: %q", r["result"], r["bodyText"])
	}
	// The pages without a form (the error page of fragment refuse, the page after a Graph consent
	// link) send one policy, fragment page-style's page-csp: its stylesheet and nothing else.
	for _, name := range []string{"authorize-error", "graph-consent", "graph-consent-denied"} {
		r := results[name]
		styles, _ := r["styles"].([]any)
		if len(styles) != 1 {
			continue // checkPageStyle reported it
		}
		want := "default-src 'none'; style-src " + hashSource(styles[0].(string)) + "; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
		if r["csp"] != want {
			t.Errorf("%s: CSP %q, want the pages' shared policy %q", name, r["csp"], want)
		}
	}
	if e := results["authorize-error"]; !strings.Contains(fmt.Sprint(e["errorText"]), "not registered") {
		t.Errorf("authorize error page: %q", e["errorText"])
	}
	if e := results["entra-error"]; !strings.Contains(fmt.Sprint(e["errorText"]), "AADSTS700016") || !strings.Contains(fmt.Sprint(e["errorText"]), pagesHostileName) {
		t.Errorf("Entra error page for a client_id made of markup: %q", e["errorText"])
	}
	if e := results["signin-error"]; !strings.Contains(fmt.Sprint(e["errorText"]), "AADSTS50126") {
		t.Errorf("sign-in page after a wrong password: %q", e["errorText"])
	}
}

// checkPageStyle: the page has exactly one <style>, its SHA-256 is the CSP's only style source,
// and Chromium applied it without a CSP complaint; no script, image or style attribute.
func checkPageStyle(t *testing.T, r map[string]any) {
	t.Helper()
	styles, _ := r["styles"].([]any)
	if len(styles) != 1 {
		t.Fatalf("%d <style> elements, want 1", len(styles))
	}
	src := "style-src " + hashSource(styles[0].(string))
	csp, _ := r["csp"].(string)
	if !strings.Contains(csp, src+";") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q does not allow exactly the served style (%s)", csp, src)
	}
	if e, _ := r["cspErrors"].([]any); len(e) != 0 {
		t.Errorf("Chromium reports CSP violations: %v", e)
	}
	if r["scripts"] != float64(0) || r["images"] != float64(0) || r["styleAttributes"] != float64(0) {
		t.Errorf("scripts %v, images %v, style attributes %v: want none", r["scripts"], r["images"], r["styleAttributes"])
	}
}

var styleElement = regexp.MustCompile(`<style>([^<]*)</style>`)

// styleHashSource is the CSP source ('sha256-…') of the page's one <style> element.
func styleHashSource(page string) string {
	m := styleElement.FindAllStringSubmatch(page, -1)
	if len(m) != 1 {
		return fmt.Sprintf("(%d <style> elements)", len(m))
	}
	return hashSource(m[0][1])
}

// hashSource is the CSP hash source that allows exactly this inline style.
func hashSource(css string) string {
	sum := sha256.Sum256([]byte(css))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}
