package entra

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
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
	if s.isPublicClient(p.Get("client_id")) {
		s.publicAuthorize(w, r, p) // publicclient.go
		return
	}
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
		s.authorizeError(w, redirect, false, p.Get("state"), &aadError{err: errCode, code: aadsts, msg: msg})
	}
	if p.Get("response_type") != "code" {
		fail("unsupported_response_type", 700054, "response_type '"+p.Get("response_type")+"' is not enabled for the application; use 'code'.")
		return
	}
	if rm := p.Get("response_mode"); rm != "" && rm != "query" {
		fail("invalid_request", 900144, "response_mode '"+rm+"' is not supported here; use 'query'.")
		return
	}
	if e := pkceProblem(p); e != nil {
		fail(e.err, e.code, e.msg)
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
		u, ok := s.credentials(w, p)
		if !ok {
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

// credentials checks the sign-in form's user name and password; on a mismatch it shows the
// sign-in page again with Entra's message and reports false.
func (s *Server) credentials(w http.ResponseWriter, p url.Values) (User, bool) {
	u, ok := s.checkPassword(p)
	if !ok {
		s.signInPage(w, p, badPassword)
	}
	return u, ok
}

// badPassword is the sign-in pages' message for a wrong user name or password.
const badPassword = "Your account or password is incorrect. (AADSTS50126)"

// checkPassword reports whether the form's user name and password match a user (counting
// AADSTS50126 when they do not).
func (s *Server) checkPassword(p url.Values) (User, bool) {
	u, ok := s.User(p.Get("username"))
	if !ok || u.Password == "" || u.Password != p.Get("password") {
		s.counts.addError("AADSTS50126")
		return User{}, false
	}
	return u, true
}

// pkceProblem checks the PKCE parameters of an authorization request (S256 only).
func pkceProblem(p url.Values) *aadError {
	switch {
	case p.Get("code_challenge") == "":
		return badRequest("invalid_request", 9002325, "Proof Key for Code Exchange is required: send code_challenge and code_challenge_method=S256.")
	case p.Get("code_challenge_method") != "S256":
		return badRequest("invalid_request", 5000310, "code_challenge_method must be 'S256'; 'plain' and others are refused.")
	case !s256Challenge.MatchString(p.Get("code_challenge")):
		return badRequest("invalid_request", 501491, "Invalid size of Code_Challenge parameter: an S256 challenge is 43 base64url characters.")
	}
	return nil
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
