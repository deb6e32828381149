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

// handleAuthorize implements the authorization endpoint for both applications that sign users
// in here (authorizeClient says how they differ). Parameters that identify where to send the
// browser (client_id, redirect_uri) are checked first and fail on an HTML page; everything
// after that fails with an answer to the redirect URI carrying error=, as Entra does.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	s.counts.authorize.Add(1)
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, http.StatusBadRequest, 900144, "The request could not be parsed.")
		return
	}
	p := r.Form
	c, known := s.authorizeClientFor(p.Get("client_id"))
	if !known {
		s.errorPage(w, http.StatusBadRequest, 700016, "Application with identifier '"+p.Get("client_id")+
			"' was not found in the directory. Only the API app '"+s.opts.APIClientID+"' may sign users in here.")
		return
	}
	redirect := p.Get("redirect_uri")
	if !c.redirectOK(redirect) {
		s.errorPage(w, http.StatusBadRequest, 50011, "The redirect URI '"+redirect+
			"' specified in the request does not match the redirect URIs configured for the application"+c.redirectHelp)
		return
	}
	formPost := c.formPost && p.Get("response_mode") == "form_post"
	fail := func(e *aadError) { s.authorizeError(w, redirect, formPost, p.Get("state"), e) }
	if p.Get("response_type") != "code" {
		fail(badRequest("unsupported_response_type", 700054, "response_type '%s' is not enabled for the application; use 'code'.", p.Get("response_type")))
		return
	}
	if rm := p.Get("response_mode"); rm != "" && rm != "query" && !(c.formPost && rm == "form_post") {
		modes := "'query'"
		if c.formPost {
			modes += " or 'form_post'"
		}
		fail(badRequest("invalid_request", 900144, "response_mode '%s' is not supported here; use %s.", rm, modes))
		return
	}
	if e := pkceProblem(p); e != nil {
		fail(e)
		return
	}
	sr, e := c.scopes(p.Get("scope"))
	if e != nil {
		fail(e)
		return
	}

	var upn string
	switch {
	case c.autoApprove && s.opts.AutoApproveUser != "":
		upn = s.opts.AutoApproveUser
	case p.Get("prompt") == "none":
		fail(badRequest("login_required", 50058, "A silent sign-in request was sent but no user is signed in (the stand-in keeps no sessions)."))
		return
	case r.Method == http.MethodPost:
		u, ok := s.credentials(w, p)
		if !ok {
			return
		}
		if c.mayDecline && p.Get("decision") == "deny" {
			fail(&aadError{err: "access_denied", code: 65004, msg: "User declined to consent to access the app."})
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
		clientID: c.clientID, redirectURI: redirect, challenge: p.Get("code_challenge"),
		upn: upn, nonce: p.Get("nonce"), scopes: sr, expires: s.now().Add(codeLifetime),
	}
	s.sweepLocked()
	s.mu.Unlock()
	c.signedIn(upn, sr.graphScopeNames())
	s.counts.signIns.Add(1)
	s.answer(w, redirect, formPost, url.Values{"code": {code}, "state": {p.Get("state")}})
}

// authorizeClient is what differs between the applications at /authorize: the API app (the
// gateway's, a confidential client with registered redirect URIs) and the public client of
// local mode (publicclient.go).
type authorizeClient struct {
	clientID     string
	redirectOK   func(redirect string) bool
	redirectHelp string // ends the AADSTS50011 message: which redirect URIs the app has
	formPost     bool   // response_mode=form_post is answered with a posting page
	scopes       func(raw string) (scopeRequest, *aadError)
	autoApprove  bool                                   // Options.AutoApproveUser signs in without the form
	mayDecline   bool                                   // the form's decision=deny answers access_denied (AADSTS65004)
	signedIn     func(upn string, graphScopes []string) // records consent once a code is issued
}

// authorizeClientFor returns the /authorize rules of clientID, or false for an unknown app.
func (s *Server) authorizeClientFor(clientID string) (authorizeClient, bool) {
	switch {
	case s.isPublicClient(clientID):
		return s.publicAuthorizeClient(), true // publicclient.go
	case clientID == s.opts.APIClientID:
		return authorizeClient{
			clientID:     clientID,
			redirectOK:   func(u string) bool { return slices.Contains(s.opts.RedirectURIs, u) },
			redirectHelp: ". Add it to entra.Options.RedirectURIs.",
			scopes:       s.apiScopes,
			autoApprove:  true,
			// Combined consent: Graph scopes requested at sign-in are granted for later OBO.
			signedIn: s.addGraphConsent,
		}, true
	}
	return authorizeClient{}, false
}

// apiScopes parses a scope parameter of the API app, which must include the API's scope.
func (s *Server) apiScopes(raw string) (scopeRequest, *aadError) {
	sr, e := s.parseScopes(raw)
	if e == nil && !sr.api {
		e = badRequest("invalid_scope", 70011, "The scope must include 'api://%s/%s' (or the app's /.default).", s.opts.APIClientID, s.opts.APIScope)
	}
	return sr, e
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
