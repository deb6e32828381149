package entra_test

import (
	"html"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"example.com/graphmcp/devstack/entra"
)

const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-devstack"

func (s *stack) authorizeParams(mod ...string) url.Values {
	v := url.Values{
		"client_id":             {s.idp.APIClientID()},
		"redirect_uri":          {redirectURI},
		"response_type":         {"code"},
		"scope":                 {"api://" + s.idp.APIClientID() + "/access_as_user openid offline_access https://graph.microsoft.com/Mail.ReadBasic"},
		"state":                 {"st-123"},
		"code_challenge":        {pkce(verifier)},
		"code_challenge_method": {"S256"},
	}
	for i := 0; i < len(mod); i += 2 {
		if mod[i+1] == "" {
			v.Del(mod[i])
		} else {
			v.Set(mod[i], mod[i+1])
		}
	}
	return v
}

// authorize GETs /authorize and returns the response (redirects not followed).
func (s *stack) authorize(t *testing.T, params url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := s.noRedirect().Get(s.idp.AuthorizeURL() + "?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// callback parses the redirect to the client and checks state.
func callback(t *testing.T, resp *http.Response) url.Values {
	t.Helper()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d, want 302 to the redirect URI", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirectURI {
		t.Fatalf("redirected to %q, want %q", got, redirectURI)
	}
	q := loc.Query()
	if q.Get("state") != "st-123" {
		t.Fatalf("state = %q, want echoed", q.Get("state"))
	}
	return q
}

func (s *stack) redeem(t *testing.T, code, verifier string) tokenReply {
	t.Helper()
	return s.postToken(t, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {redirectURI}, "code_verifier": {verifier}, "client_info": {"1"}})
}

func TestAuthCodeAutoApproveAndRefreshRotation(t *testing.T) {
	s := newStack(t, func(o *entra.Options) { o.AutoApproveUser = "alex@contoso.test" })
	resp, _ := s.authorize(t, s.authorizeParams())
	code := callback(t, resp).Get("code")
	r := s.redeem(t, code, verifier)
	if r.status != 200 {
		t.Fatalf("redeem: %d %s", r.status, r.str("error_description"))
	}
	at := claimsOf(t, r.str("access_token"))
	if at["aud"] != s.idp.APIClientID() || at["scp"] != "access_as_user" || at["preferred_username"] != "alex@contoso.test" ||
		at["iss"] != s.idp.IssuerV2() || at["azp"] != s.idp.APIClientID() || at["ver"] != "2.0" {
		t.Fatalf("access token claims: %v", at)
	}
	if id := claimsOf(t, r.str("id_token")); id["aud"] != s.idp.APIClientID() {
		t.Fatalf("id_token aud = %v", id["aud"])
	}
	if r.str("client_info") == "" || r.str("refresh_token") == "" || r.body["expires_in"] != float64(3600) {
		t.Fatalf("token response lacks client_info/refresh_token/expires_in: keys %v", slices.Sorted(maps.Keys(r.body)))
	}
	// Combined consent: Mail.ReadBasic was requested at sign-in, so OBO for it works now.
	if u, _ := s.idp.User("alex@contoso.test"); len(u.GraphConsent) != 1 || u.GraphConsent[0] != "Mail.ReadBasic" {
		t.Fatalf("consent after sign-in = %v", u.GraphConsent)
	}

	// Replay of the same code.
	requireAADError(t, s.redeem(t, code, verifier), 400, "invalid_grant", 54005)

	// Refresh rotates: the new token works once, the old one never again.
	rt1 := r.str("refresh_token")
	r2 := s.postToken(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1},
		"scope": {"api://" + s.idp.APIClientID() + "/access_as_user offline_access"}})
	if r2.status != 200 || r2.str("refresh_token") == "" || r2.str("refresh_token") == rt1 {
		t.Fatalf("refresh: %d %s (rotated: %v)", r2.status, r2.str("error_description"), r2.str("refresh_token") != rt1)
	}
	requireAADError(t, s.postToken(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}}), 400, "invalid_grant", 70008)
	r3 := s.postToken(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r2.str("refresh_token")}})
	if r3.status != 200 {
		t.Fatalf("second rotation: %d %s", r3.status, r3.str("error_description"))
	}
	c := s.idp.Counts()
	if c.AuthCode != 2 || c.Refresh != 3 || c.SignIns != 1 {
		t.Fatalf("counts %+v", c)
	}
}

func TestAuthCodeErrors(t *testing.T) {
	s := newStack(t, func(o *entra.Options) { o.AutoApproveUser = "adele@contoso.test" })
	code := func() string {
		resp, _ := s.authorize(t, s.authorizeParams())
		return callback(t, resp).Get("code")
	}
	requireAADError(t, s.redeem(t, code(), "wrong-verifier-wrong-verifier-wrong-verifier"), 400, "invalid_grant", 501481)
	requireAADError(t, s.redeem(t, code(), ""), 400, "invalid_grant", 9002325)
	requireAADError(t, s.postToken(t, url.Values{"grant_type": {"authorization_code"}, "code": {code()},
		"redirect_uri": {"https://gateway.test/other"}, "code_verifier": {verifier}}), 400, "invalid_grant", 500112)
	requireAADError(t, s.redeem(t, "made-up-code", verifier), 400, "invalid_grant", 9002313)
	requireAADError(t, s.postToken(t, url.Values{"grant_type": {"password"}}), 400, "unsupported_grant_type", 70003)

	// /authorize errors after a valid redirect_uri go back to the client with error= and state.
	for name, tc := range map[string]struct {
		mod  []string
		want string
	}{
		"plain PKCE":      {[]string{"code_challenge_method", "plain", "code_challenge", verifier}, "invalid_request"},
		"no PKCE":         {[]string{"code_challenge", "", "code_challenge_method", ""}, "invalid_request"},
		"token flow":      {[]string{"response_type", "token"}, "unsupported_response_type"},
		"no API scope":    {[]string{"scope", "openid https://graph.microsoft.com/User.Read"}, "invalid_scope"},
		"unknown scope":   {[]string{"scope", "api://" + s.idp.APIClientID() + "/admin"}, "invalid_scope"},
		"foreign scope":   {[]string{"scope", "https://vault.azure.net/.default"}, "invalid_resource"},
		"form_post":       {[]string{"response_mode", "form_post"}, "invalid_request"},
		"short challenge": {[]string{"code_challenge", "abc"}, "invalid_request"},
	} {
		t.Run(name, func(t *testing.T) {
			resp, _ := s.authorize(t, s.authorizeParams(tc.mod...))
			q := callback(t, resp)
			if q.Get("error") != tc.want || !strings.HasPrefix(q.Get("error_description"), "AADSTS") || q.Get("code") != "" {
				t.Fatalf("error=%q description=%q", q.Get("error"), q.Get("error_description"))
			}
		})
	}
	// Unknown client or unregistered redirect_uri: an error page, never a redirect.
	for _, mod := range [][]string{{"redirect_uri", "https://evil.test/cb"}, {"client_id", "11111111-1111-1111-1111-111111111111"}} {
		resp, body := s.authorize(t, s.authorizeParams(mod...))
		if resp.StatusCode != 400 || resp.Header.Get("Location") != "" || !strings.Contains(body, "AADSTS") {
			t.Fatalf("%v: status %d location %q", mod, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// TestSignInPage walks the HTML form as a browser without JavaScript would.
func TestSignInPage(t *testing.T) {
	s := newStack(t, nil)
	params := s.authorizeParams("state", `st-123`, "login_hint", `"><script>alert(1)</script>`)
	resp, page := s.authorize(t, params)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("sign-in page: status %d", resp.StatusCode)
	}
	if strings.Contains(page, "<script>") {
		t.Fatal("sign-in page echoes markup unescaped")
	}
	if !strings.Contains(page, "adele@contoso.test") || !strings.Contains(page, "alex@contoso.test") {
		t.Fatal("sign-in page does not list the users")
	}
	form := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	if form.Get("code_challenge") != pkce(verifier) || form.Get("login_hint") != params.Get("login_hint") {
		t.Fatalf("hidden fields did not carry the request: %v", slices.Sorted(maps.Keys(form)))
	}
	post := func(user, pw string) (*http.Response, string) {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set("username", user)
		f.Set("password", pw)
		resp, err := s.noRedirect().PostForm(s.idp.AuthorizeURL(), f)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, page = post("adele@contoso.test", "wrong")
	if resp.StatusCode != 200 || !strings.Contains(page, "AADSTS50126") {
		t.Fatalf("wrong password: status %d", resp.StatusCode)
	}
	resp, _ = post("ADELE@contoso.test", "adele-dev-password")
	r := s.redeem(t, callback(t, resp).Get("code"), verifier)
	if r.status != 200 || claimsOf(t, r.str("access_token"))["oid"] != "4f6c7a2e-1b3d-4c5e-8f90-a1b2c3d4e5f6" {
		t.Fatalf("redeem after form sign-in: %d %s", r.status, r.str("error_description"))
	}
	// prompt=none cannot succeed without a session.
	resp, _ = s.authorize(t, s.authorizeParams("prompt", "none"))
	if q := callback(t, resp); q.Get("error") != "login_required" {
		t.Fatalf("prompt=none: error=%q", q.Get("error"))
	}
}
