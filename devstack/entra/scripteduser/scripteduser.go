// Package scripteduser plays the person in front of the browser for the Entra stand-in's
// sign-in pages, with a plain HTTP client: it opens the sign-in URL an app printed, fills in
// the form (user name, password, accept or decline), and carries the answer back to the app —
// including the form_post page MSAL Go's loopback listener expects — or approves a device
// code on the verification page. Tests of local (stdio) mode use it to finish interactive
// sign-ins without a real browser.
//
//	u := scripteduser.User{Client: ca.HTTPClient(), UPN: "adele@contoso.test", Password: "adele-dev-password"}
//	err := u.Authorize(ctx, signInURL)              // what the app opened in "the browser"
//	err = u.ApproveDevice(ctx, idp.DeviceLoginURL(), scripteduser.UserCode(message))
package scripteduser

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// User is the person signing in.
type User struct {
	// Client trusts the stand-in's CA and must not follow redirects blindly: Authorize
	// follows them itself. Its CheckRedirect is ignored.
	Client        *http.Client
	UPN, Password string
	// Deny declines the requested permissions (decision=deny) instead of accepting them.
	Deny bool
}

var (
	formRE   = regexp.MustCompile(`(?s)<form method="(get|post)" action="([^"]*)">(.*?)</form>`)
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
	codeRE   = regexp.MustCompile(`enter the code ([A-Z0-9]+)`)
)

// UserCode finds the code in a device-code message ("… and enter the code ABCD2345 …").
func UserCode(message string) string {
	if m := codeRE.FindStringSubmatch(message); m != nil {
		return m[1]
	}
	return ""
}

// Authorize opens authURL, signs in on the page and delivers the authorization response to
// the app's redirect URI (a redirect, or the form_post page's form).
func (u User) Authorize(ctx context.Context, authURL string) error {
	c := u.noRedirect()
	resp, body, err := do(ctx, c, http.MethodGet, authURL, nil)
	if err != nil {
		return err
	}
	for range 5 {
		switch {
		case resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther:
			resp, body, err = do(ctx, c, http.MethodGet, resp.Header.Get("Location"), nil)
		case resp.StatusCode != http.StatusOK:
			return fmt.Errorf("scripteduser: %s answered %d: %s", resp.Request.URL.Redacted(), resp.StatusCode, snippet(body))
		case strings.Contains(body, `name="password"`):
			resp, body, err = u.submit(ctx, c, body, true)
		case strings.Contains(body, "document.forms[0].submit()"): // form_post to the app
			resp, body, err = u.submit(ctx, c, body, false)
		default:
			return nil // the app's own "you may close this window" page
		}
		if err != nil {
			return err
		}
	}
	return errors.New("scripteduser: too many steps before reaching the app")
}

// ApproveDevice enters userCode on the verification page and signs in (or declines).
func (u User) ApproveDevice(ctx context.Context, verificationURL, userCode string) error {
	if userCode == "" {
		return errors.New("scripteduser: no user code")
	}
	c := u.noRedirect()
	resp, body, err := do(ctx, c, http.MethodGet, verificationURL+"?"+url.Values{"user_code": {userCode}}.Encode(), nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="password"`) {
		return fmt.Errorf("scripteduser: the verification page answered %d without a sign-in form: %s", resp.StatusCode, snippet(body))
	}
	resp, body, err = u.submit(ctx, c, body, true)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "You have") {
		return fmt.Errorf("scripteduser: approving the device answered %d: %s", resp.StatusCode, snippet(body))
	}
	return nil
}

// submit sends the page's form: with credentials and the decision for a sign-in form, as is
// for a form_post page.
func (u User) submit(ctx context.Context, c *http.Client, page string, signIn bool) (*http.Response, string, error) {
	m := formRE.FindStringSubmatch(page)
	if m == nil {
		return nil, "", fmt.Errorf("scripteduser: no form on the page: %s", snippet(page))
	}
	form := url.Values{}
	for _, h := range hiddenRE.FindAllStringSubmatch(m[3], -1) {
		form.Set(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	if signIn {
		form.Set("username", u.UPN)
		form.Set("password", u.Password)
		if u.Deny {
			form.Set("decision", "deny")
		}
	}
	return do(ctx, c, strings.ToUpper(m[1]), html.UnescapeString(m[2]), form)
}

func (u User) noRedirect() *http.Client {
	c := *u.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func do(ctx context.Context, c *http.Client, method, target string, form url.Values) (*http.Response, string, error) {
	var body io.Reader
	if form != nil && method == http.MethodPost {
		body = strings.NewReader(form.Encode())
	} else if form != nil {
		target += "?" + form.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, "", fmt.Errorf("scripteduser: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("scripteduser: %s %s: %w", method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, string(b), err
}

// snippet bounds page text quoted in errors.
func snippet(s string) string {
	if len(s) > 400 {
		return s[:400] + "…"
	}
	return s
}
