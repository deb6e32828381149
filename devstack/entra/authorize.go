package entra

import (
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// oauthParams are the /authorize parameters the sign-in form carries through
// as hidden fields, so the POST is validated exactly like the GET.
var oauthParams = []string{"client_id", "redirect_uri", "response_type", "response_mode", "scope", "state",
	"code_challenge", "code_challenge_method", "nonce", "prompt", "login_hint"}

// s256Challenge is base64url(SHA-256(verifier)): exactly 43 characters.
var s256Challenge = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// handleAuthorize implements the authorization endpoint. Parameters that
// identify where to send the browser (client_id, redirect_uri) are checked
// first and fail on an HTML page; everything after that fails with a redirect
// carrying error=, as Entra does.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	s.counts.authorize.Add(1)
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, http.StatusBadRequest, 900144, "The request could not be parsed.")
		return
	}
	p := r.Form
	if p.Get("client_id") != s.opts.APIClientID {
		s.errorPage(w, http.StatusBadRequest, 700016, "Application with identifier '"+p.Get("client_id")+
			"' was not found in the directory. Only the API app '"+s.opts.APIClientID+"' may sign users in here.")
		return
	}
	redirect := p.Get("redirect_uri")
	if !slices.Contains(s.opts.RedirectURIs, redirect) {
		s.errorPage(w, http.StatusBadRequest, 50011, "The redirect URI '"+redirect+
			"' specified in the request does not match the redirect URIs configured for the application. Add it to entra.Options.RedirectURIs.")
		return
	}
	fail := func(errCode string, aadsts int, msg string) {
		s.counts.addError("AADSTS" + strconv.Itoa(aadsts))
		s.redirect(w, redirect, url.Values{"error": {errCode},
			"error_description": {"AADSTS" + strconv.Itoa(aadsts) + ": " + msg}, "state": {p.Get("state")}})
	}
	if p.Get("response_type") != "code" {
		fail("unsupported_response_type", 700054, "response_type '"+p.Get("response_type")+"' is not enabled for the application; use 'code'.")
		return
	}
	if rm := p.Get("response_mode"); rm != "" && rm != "query" {
		fail("invalid_request", 900144, "response_mode '"+rm+"' is not supported here; use 'query'.")
		return
	}
	if p.Get("code_challenge") == "" {
		fail("invalid_request", 9002325, "Proof Key for Code Exchange is required: send code_challenge and code_challenge_method=S256.")
		return
	}
	if p.Get("code_challenge_method") != "S256" {
		fail("invalid_request", 5000310, "code_challenge_method must be 'S256'; 'plain' and others are refused.")
		return
	}
	if !s256Challenge.MatchString(p.Get("code_challenge")) {
		fail("invalid_request", 501491, "Invalid size of Code_Challenge parameter: an S256 challenge is 43 base64url characters.")
		return
	}
	sr, e := s.parseScopes(p.Get("scope"))
	if e != nil {
		fail(e.err, e.code, e.msg)
		return
	}
	if !sr.api {
		fail("invalid_scope", 70011, "The scope must include 'api://"+s.opts.APIClientID+"/"+s.opts.APIScope+"' (or the app's /.default).")
		return
	}

	var upn string
	switch {
	case s.opts.AutoApproveUser != "":
		upn = s.opts.AutoApproveUser
	case p.Get("prompt") == "none":
		fail("login_required", 50058, "A silent sign-in request was sent but no user is signed in (the stand-in keeps no sessions).")
		return
	case r.Method == http.MethodPost:
		u, ok := s.User(p.Get("username"))
		if !ok || u.Password == "" || u.Password != p.Get("password") {
			s.counts.addError("AADSTS50126")
			s.signInPage(w, p, "Your account or password is incorrect. (AADSTS50126)")
			return
		}
		upn = u.UserPrincipalName
	default:
		s.signInPage(w, p, "")
		return
	}

	code := randomToken(32)
	s.mu.Lock()
	s.codes[code] = &authCode{
		clientID: p.Get("client_id"), redirectURI: redirect, challenge: p.Get("code_challenge"),
		upn: upn, nonce: p.Get("nonce"), scopes: sr, expires: s.now().Add(codeLifetime),
	}
	s.sweepLocked()
	s.mu.Unlock()
	// Combined consent: Graph scopes requested at sign-in are granted for later OBO.
	s.addGraphConsent(upn, sr.graphScopeNames())
	s.counts.signIns.Add(1)
	s.redirect(w, redirect, url.Values{"code": {code}, "state": {p.Get("state")}})
}

// redirect sends the browser to target with params added to its query.
func (s *Server) redirect(w http.ResponseWriter, target string, params url.Values) {
	u, _ := url.Parse(target) // validated against the allow-list already
	q := u.Query()
	for k, v := range params {
		if len(v) > 0 && v[0] != "" {
			q.Set(k, v[0])
		}
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", u.String())
	w.WriteHeader(http.StatusFound)
}

type pageData struct {
	Title, Error, Action, LoginHint, Tenant string
	Hidden                                  []kv
	Users                                   []User
	Code                                    int
	Scopes                                  []string
}

type kv struct{ Name, Value string }

func (s *Server) signInPage(w http.ResponseWriter, p url.Values, errMsg string) {
	d := pageData{Title: "Sign in", Error: errMsg, Action: s.AuthorizeURL(), LoginHint: p.Get("login_hint"),
		Tenant: s.opts.TenantID, Users: s.Users(), Scopes: strings.Fields(p.Get("scope"))}
	for _, name := range oauthParams {
		if v := p.Get(name); v != "" {
			d.Hidden = append(d.Hidden, kv{name, v})
		}
	}
	s.renderPage(w, http.StatusOK, d)
}

func (s *Server) errorPage(w http.ResponseWriter, status, code int, msg string) {
	s.counts.addError("AADSTS" + strconv.Itoa(code))
	s.renderPage(w, status, pageData{Title: "Sorry, but we're having trouble signing you in.",
		Error: "AADSTS" + strconv.Itoa(code) + ": " + msg, Code: code, Tenant: s.opts.TenantID})
}

func (s *Server) renderPage(w http.ResponseWriter, status int, d pageData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// No form-action: browsers apply it to the redirect after the POST, which
	// goes to the client's origin. No scripts at all.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, d)
}

// pageTmpl is html/template, so every value (UPNs, scopes, state, the error
// text that may echo request input) is escaped.
var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} – devstack Entra</title>
<style>body{font-family:sans-serif;max-width:28em;margin:3em auto}label,input,button{display:block;margin:.4em 0}
.err{color:#a00}.users{font-size:.9em;color:#444}</style></head>
<body><h1>{{.Title}}</h1>
<p class="users">Local Entra ID stand-in, tenant {{.Tenant}}.</p>
{{if .Error}}<p class="err" id="error" role="alert">{{.Error}}</p>{{end}}
{{if not .Code}}
<p>The application asks for: {{range .Scopes}}<code>{{.}}</code> {{end}}</p>
<form method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<label for="username">Email or username</label>
<input id="username" name="username" type="email" autocomplete="username" value="{{.LoginHint}}" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button id="submit" type="submit">Sign in and accept</button>
</form>
<div class="users"><p>Dev users:</p><ul>{{range .Users}}<li>{{.DisplayName}} &lt;{{.UserPrincipalName}}&gt;</li>{{end}}</ul></div>
{{end}}
</body></html>
`))
