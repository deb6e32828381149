package e2e

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// userAgent plays the user's browser in Go for the clients that print an authorization URL
// (Inspector CLI, the TypeScript SDK script, the go-sdk client's fetcher): it keeps cookies,
// follows the gateway's and Entra's redirects one by one, answers the consent page like a
// same-origin form post, signs in on the Entra stand-in's page with the user's password, and
// stops at the first redirect that leaves the gateway and Entra (the client's redirect URI),
// which it does not follow unless asked.
type userAgent struct {
	g     *gatewayStack
	c     *http.Client
	base  string // gateway origin the flow runs against
	hosts map[string]bool
	// stop, when set, ends the journey at the first redirect it accepts (not followed).
	stop func(*url.URL) bool
	// user and password sign in on the Entra stand-in's page; "" means gatewayUser.
	user, password string
}

func newUserAgent(g *gatewayStack, base string) *userAgent {
	jar, _ := cookiejar.New(nil)
	c := g.CA.HTTPClient()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	hosts := map[string]bool{}
	for _, u := range []string{base, g.Entra.URL()} {
		pu, _ := url.Parse(u)
		hosts[pu.Host] = true
	}
	return &userAgent{g: g, c: c, base: base, hosts: hosts}
}

// flow is where a browser journey ended.
type flow struct {
	Redirect *url.URL // the redirect that left the gateway and Entra (to the client)
	Status   int      // else: the status of the last page
	Body     string   // and its body
	Page     string   // and its URL
}

func (f flow) String() string {
	if f.Redirect != nil {
		q := f.Redirect.Query()
		return fmt.Sprintf("redirect to %s://%s%s (error=%q, code length %d)", f.Redirect.Scheme, f.Redirect.Host, f.Redirect.Path, q.Get("error"), len(q.Get("code")))
	}
	// the path only: a page URL can carry a code or state, which never goes into a failure message
	page := f.Page
	if u, err := url.Parse(f.Page); err == nil {
		page = u.Path
	}
	return fmt.Sprintf("page %s: status %d: %.300s", page, f.Status, f.Body)
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// consentForm extracts the consent form's hidden fields from the page.
func consentForm(body string) url.Values {
	v := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(body, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	return v
}

// run drives authURL. decision is "approve", "deny" or "" (stop at the consent page).
// tamper, when set, edits the consent form before it is posted.
func (ua *userAgent) run(t *testing.T, authURL, decision string, tamper func(url.Values, http.Header)) flow {
	t.Helper()
	next := authURL
	for hop := 0; hop < 20; hop++ {
		resp, err := ua.c.Get(next)
		if err != nil {
			t.Fatalf("user agent GET: %v", err)
		}
		f, follow := ua.step(t, resp)
		if follow == "" {
			if f.Page != "" && strings.HasSuffix(strings.Split(f.Page, "?")[0], "/consent") && f.Status == http.StatusOK && decision != "" {
				form := consentForm(f.Body)
				form.Set("action", decision)
				h := http.Header{"Origin": {ua.base}, "Sec-Fetch-Site": {"same-origin"},
					"Content-Type": {"application/x-www-form-urlencoded"}}
				if tamper != nil {
					tamper(form, h)
				}
				req, _ := http.NewRequest(http.MethodPost, ua.base+"/consent", strings.NewReader(form.Encode()))
				req.Header = h
				resp, err := ua.c.Do(req)
				if err != nil {
					t.Fatalf("user agent POST /consent: %v", err)
				}
				f, follow = ua.step(t, resp)
				decision = "" // only one consent per journey
				if follow == "" {
					return f
				}
				next = follow
				continue
			}
			if ua.isSignInPage(f) {
				resp, err := ua.c.PostForm(html.UnescapeString(signInAction.FindStringSubmatch(f.Body)[1]), ua.signInForm(f.Body))
				if err != nil {
					t.Fatalf("user agent sign-in: %v", err)
				}
				if f, follow = ua.step(t, resp); follow == "" {
					return f
				}
				next = follow
				continue
			}
			return f
		}
		next = follow
	}
	t.Fatal("user agent: more than 20 redirects")
	return flow{}
}

// step reads one response: a redirect inside the gateway/Entra returns the next URL to GET.
func (ua *userAgent) step(t *testing.T, resp *http.Response) (flow, string) {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatalf("bad Location from %s", resp.Request.URL.Path)
		}
		if ua.stop != nil && ua.stop(loc) {
			return flow{Redirect: loc}, ""
		}
		if ua.hosts[loc.Host] && (loc.Scheme == "https") {
			return flow{}, loc.String()
		}
		return flow{Redirect: loc}, ""
	}
	return flow{Status: resp.StatusCode, Body: string(b), Page: resp.Request.URL.String()}, ""
}

// codeFrom checks a successful authorization response and returns its code.
func codeFrom(t *testing.T, f flow, wantState, issuer string) string {
	t.Helper()
	if f.Redirect == nil {
		t.Fatalf("authorization did not come back to the client: %v", f)
	}
	q := f.Redirect.Query()
	if q.Get("error") != "" {
		t.Fatalf("authorization failed: %v", f)
	}
	if q.Get("state") != wantState {
		t.Fatalf("state not echoed (got %d bytes)", len(q.Get("state")))
	}
	if q.Get("iss") != issuer {
		t.Fatalf("iss = %q, want %q", q.Get("iss"), issuer)
	}
	remember(q.Get("code"))
	return q.Get("code")
}

func decodeB64JSON(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

var signInAction = regexp.MustCompile(`<form method="post" action="([^"]+)">`)

// isSignInPage reports whether f is the Entra stand-in's sign-in page.
func (ua *userAgent) isSignInPage(f flow) bool {
	u, err := url.Parse(f.Page)
	return err == nil && f.Status == http.StatusOK && strings.HasPrefix(f.Page, ua.g.Entra.URL()) &&
		strings.HasSuffix(u.Path, "/oauth2/v2.0/authorize") && strings.Contains(f.Body, `name="password"`) &&
		signInAction.MatchString(f.Body)
}

// signInForm is the sign-in page's form filled in as ua.user, by default gatewayUser.
func (ua *userAgent) signInForm(body string) url.Values {
	v := consentForm(body) // the same hidden-input shape
	v.Set("username", cmp.Or(ua.user, gatewayUser))
	v.Set("password", cmp.Or(ua.password, gatewayPassword))
	return v
}
