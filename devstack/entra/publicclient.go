package entra

// The public client: the app registration of the handler's local (stdio) mode, which signs a
// developer in with MSAL Go's public.Client and calls Graph directly. What MSAL needs, in
// Entra's shapes:
//
//	GET/POST {tid}/oauth2/v2.0/authorize     code + PKCE (S256), redirect http://localhost:<any port>
//	                                         (also 127.0.0.1 and [::1], RFC 8252 §7.3), response_mode
//	                                         form_post (what MSAL Go asks for) or query
//	POST     {tid}/oauth2/v2.0/devicecode    device authorization (RFC 8628)
//	GET/POST {tid}/oauth2/v2.0/devicelogin   where the user enters the code and signs in
//	POST     {tid}/oauth2/v2.0/token         authorization_code, refresh_token, device_code; no
//	                                         client authentication (a secret or assertion is refused)
//
// Tokens are Graph tokens (aud = GraphResource, appid = the public client). Consent is per user
// for this app, separate from the API app's: a user starts with none, grants scopes on the
// sign-in page (the form's decision=deny declines: AADSTS65004), and a refresh or device-code
// redemption for a scope not consented fails with AADSTS65001 (suberror consent_required), the
// answer MSAL turns into "sign in interactively".

import (
	"html/template"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultPublicClientID is the public client used when Options.PublicClientID is empty.
const DefaultPublicClientID = "b7e4d2a1-6c3f-4e8b-9a5d-2f1e0c7b3a94"

// grantDeviceCode is RFC 8628's grant type; Entra also takes the short "device_code", which
// MSAL Go sends.
const grantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"

// publicState is the public client's part of the server.
type publicState struct {
	mu      sync.Mutex
	consent map[string][]string    // lower-case UPN → consented Graph scope names
	devices map[string]*deviceAuth // by device_code
	byUser  map[string]string      // user_code → device_code

	deviceCodes, polls, pending, slowDown, expired, signIns atomic.Int64
}

// deviceAuth is one device authorization request.
type deviceAuth struct {
	userCode string
	scopes   scopeRequest
	expires  time.Time
	lastPoll time.Time
	upn      string // set once the user approved
	declined bool
}

// PublicCounts is what the public client asked, for tests proving silence (a second run costs
// no prompt) and the device-code polling protocol.
type PublicCounts struct {
	DeviceCodes int64 // device authorization requests (each one an interactive prompt)
	Polls       int64 // device_code token requests
	Pending     int64 // polls answered authorization_pending
	SlowDown    int64 // polls answered slow_down
	Expired     int64 // polls answered expired_token
	SignIns     int64 // sign-ins (browser or device login) that issued a code or approved a device
}

// PublicCounts returns a snapshot of the public client's counters. Browser prompts also count
// in Counts().Authorize, token requests in Counts().TokenRequests.
func (s *Server) PublicCounts() PublicCounts {
	p := &s.pub
	return PublicCounts{DeviceCodes: p.deviceCodes.Load(), Polls: p.polls.Load(), Pending: p.pending.Load(),
		SlowDown: p.slowDown.Load(), Expired: p.expired.Load(), SignIns: p.signIns.Load()}
}

// PublicClientID is the public client's app id.
func (s *Server) PublicClientID() string { return s.opts.PublicClientID }

// DeviceLoginURL is the verification_uri of device codes.
func (s *Server) DeviceLoginURL() string { return s.Authority() + "/oauth2/v2.0/devicelogin" }

// PublicConsent returns the Graph scopes the user has consented to for the public client.
func (s *Server) PublicConsent(upn string) []string {
	s.pub.mu.Lock()
	defer s.pub.mu.Unlock()
	return slices.Clone(s.pub.consent[lower(upn)])
}

// SetPublicConsent replaces the user's consent for the public client (nil revokes all).
func (s *Server) SetPublicConsent(upn string, scopes []string) {
	s.pub.mu.Lock()
	defer s.pub.mu.Unlock()
	s.pub.consent[lower(upn)] = slices.Clone(scopes)
}

func publicDefaults(o *Options) {
	if o.PublicClientID == "" {
		o.PublicClientID = DefaultPublicClientID
	}
	if o.DeviceCodeLifetime <= 0 {
		o.DeviceCodeLifetime = 15 * time.Minute
	}
	if o.DeviceCodeInterval <= 0 {
		o.DeviceCodeInterval = time.Second
	}
}

func (s *Server) publicRoutes(mux *http.ServeMux, prefix string) {
	s.pub.consent = map[string][]string{}
	s.pub.devices = map[string]*deviceAuth{}
	s.pub.byUser = map[string]string{}
	mux.HandleFunc("POST "+prefix+"/oauth2/v2.0/devicecode", s.handleDeviceCode)
	mux.HandleFunc("GET "+prefix+"/oauth2/v2.0/devicelogin", s.handleDeviceLogin)
	mux.HandleFunc("POST "+prefix+"/oauth2/v2.0/devicelogin", s.handleDeviceLogin)
}

func (s *Server) isPublicClient(clientID string) bool {
	return clientID != "" && clientID == s.opts.PublicClientID
}

// loopbackRedirect reports whether u is an http loopback redirect URI, which Entra matches
// for public clients on any port (RFC 8252 §7.3): http://localhost, 127.0.0.1 or [::1].
func loopbackRedirect(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "http" || p.User != nil || p.Fragment != "" || p.RawQuery != "" {
		return false
	}
	if p.Path != "" && p.Path != "/" {
		return false
	}
	h := p.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// publicAuthorizeClient is /authorize for the public client: any loopback redirect, form_post
// (what MSAL Go asks for), Graph scopes only, consent granted (or declined) on the form.
func (s *Server) publicAuthorizeClient() authorizeClient {
	return authorizeClient{
		clientID:     s.opts.PublicClientID,
		redirectOK:   loopbackRedirect,
		redirectHelp: " '" + s.opts.PublicClientID + "' (http://localhost, any port).",
		formPost:     true,
		scopes:       s.publicScopes,
		mayDecline:   true,
		signedIn: func(upn string, graphScopes []string) {
			s.grantPublicConsent(upn, graphScopes)
			s.pub.signIns.Add(1)
		},
	}
}

// authorizeError sends an authorization error response to the client, as Entra does once it
// knows where the client is: error, "AADSTSnnnn: …" description and the state.
func (s *Server) authorizeError(w http.ResponseWriter, redirect string, formPost bool, state string, e *aadError) {
	s.counts.addError("AADSTS" + strconv.Itoa(e.code))
	s.answer(w, redirect, formPost, url.Values{"error": {e.err},
		"error_description": {"AADSTS" + strconv.Itoa(e.code) + ": " + e.msg}, "state": {state}})
}

// publicScopes parses a scope parameter of the public client: OIDC and Graph scopes only.
func (s *Server) publicScopes(raw string) (scopeRequest, *aadError) {
	sr, e := s.parseScopes(raw)
	if e == nil && sr.api {
		e = badRequest("invalid_scope", 65005, "The application '%s' asks for access to the API app '%s', which it is not configured to use; the local app requests Microsoft Graph scopes only.",
			s.opts.PublicClientID, s.opts.APIClientID)
	}
	return sr, e
}

func (s *Server) grantPublicConsent(upn string, scopes []string) {
	s.pub.mu.Lock()
	defer s.pub.mu.Unlock()
	k := lower(upn)
	for _, sc := range scopes {
		if !containsFold(s.pub.consent[k], sc) {
			s.pub.consent[k] = append(s.pub.consent[k], sc)
		}
	}
}

// answer returns an authorization response to the client: a redirect (query) or, for
// response_mode=form_post, a page whose script posts the parameters to the redirect URI.
func (s *Server) answer(w http.ResponseWriter, redirect string, formPost bool, params url.Values) {
	if !formPost {
		s.redirect(w, redirect, params)
		return
	}
	var fields []kv
	for _, k := range []string{"code", "state", "error", "error_description"} {
		if v := params.Get(k); v != "" {
			fields = append(fields, kv{k, v})
		}
	}
	setPageHeaders(w, formPostScriptSrc)
	w.WriteHeader(http.StatusOK)
	_ = formPostTmpl.Execute(w, struct {
		Action string
		Fields []kv
	}{redirect, fields})
}

const formPostScript = `document.forms[0].submit()`

var formPostScriptSrc = cspHash(formPostScript)

var formPostTmpl = template.Must(template.New("formpost").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Working...</title></head>
<body><form method="post" action="{{.Action}}">{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">{{end}}
<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit"></noscript></form>
<script>` + formPostScript + `</script></body></html>
`))

// publicToken is /token for the public client. handleToken has counted the request.
func (s *Server) publicToken(w http.ResponseWriter, form url.Values) {
	if form.Get("client_secret") != "" || form.Get("client_assertion") != "" {
		s.writeError(w, invalidClient(700025, "Client is public so neither 'client_assertion' nor 'client_secret' should be presented."))
		return
	}
	var resp map[string]any
	var e *aadError
	switch gt := form.Get("grant_type"); gt {
	case grantAuthCode:
		s.counts.authCode.Add(1)
		resp, e = s.publicRedeemCode(form)
	case grantRefresh:
		s.counts.refresh.Add(1)
		resp, e = s.publicRedeemRefresh(form)
	case grantDeviceCode, "device_code":
		s.pub.polls.Add(1)
		resp, e = s.publicRedeemDevice(form)
	default:
		e = badRequest("unsupported_grant_type", 70003,
			"The app requested an unsupported grant type '%s'. Supported for this public client: authorization_code, refresh_token, %s.", gt, grantDeviceCode)
	}
	s.reply(w, resp, e)
}

func (s *Server) publicRedeemCode(form url.Values) (map[string]any, *aadError) {
	ac, u, e := s.takeCode(form)
	if e != nil {
		return nil, e
	}
	return s.publicTokenResponse(u, ac.scopes, ac.nonce, form.Get("client_info") == "1")
}

func (s *Server) publicRedeemRefresh(form url.Values) (map[string]any, *aadError) {
	rt, g, u, e := s.findRefresh(form)
	if e != nil {
		return nil, e
	}
	sr, e := s.publicScopes(form.Get("scope"))
	if e != nil {
		return nil, e
	}
	if len(sr.graph) == 0 {
		sr.graph = g.graph
	}
	if e := s.checkPublicConsent(u, sr.graph); e != nil {
		return nil, e // the refresh token stays usable, as in Entra
	}
	if e := s.claimRefresh(rt, g); e != nil {
		return nil, e
	}
	sr.oidc = append(sr.oidc, "openid") // the grant came from a sign-in
	return s.publicTokenResponse(u, sr, "", form.Get("client_info") == "1")
}

// checkPublicConsent fails with AADSTS65001 unless the user consented to every requested
// Graph scope for the public client.
func (s *Server) checkPublicConsent(u User, requested []string) *aadError {
	have := s.PublicConsent(u.UserPrincipalName)
	for _, sc := range requested {
		if sc == ".default" && len(have) > 0 {
			continue
		}
		if !containsFold(have, sc) {
			e := badRequest("invalid_grant", 65001,
				"The user or administrator has not consented to use the application with ID '%s' named 'graphmcp local (devstack)'. Send an interactive authorization request for this user and resource.",
				s.opts.PublicClientID)
			e.suberror = "consent_required"
			return e
		}
	}
	return nil
}

// publicTokenResponse issues a Graph token for the public client carrying every scope the user
// consented to (Entra returns all of them, so MSAL can serve later requests from its cache).
func (s *Server) publicTokenResponse(u User, sr scopeRequest, nonce string, clientInfo bool) (map[string]any, *aadError) {
	if e := s.checkPublicConsent(u, sr.graph); e != nil {
		return nil, e
	}
	consent := s.PublicConsent(u.UserPrincipalName)
	claims := s.graphClaims(u, consent)
	claims["appid"] = s.opts.PublicClientID
	claims["app_displayname"] = "graphmcp local (devstack)"
	claims["appidacr"] = "0" // public client: no client authentication
	prefix := strings.TrimSuffix(s.opts.GraphResource, "/") + "/"
	granted := make([]string, 0, len(consent))
	for _, sc := range consent {
		granted = append(granted, prefix+sc)
	}
	g := &grant{clientID: s.opts.PublicClientID, upn: u.UserPrincipalName, graph: sr.graphScopeNames(), openid: slices.Contains(sr.oidc, "openid")}
	return s.tokenResponse(s.Sign(claims), strings.Join(granted, " "), u, g, nonce, clientInfo), nil
}

// handleDeviceCode is the device authorization endpoint.
func (s *Server) handleDeviceCode(w http.ResponseWriter, r *http.Request) {
	s.pub.deviceCodes.Add(1)
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.writeError(w, badRequest("invalid_request", 900144, "The request body must be application/x-www-form-urlencoded."))
		return
	}
	if !s.isPublicClient(r.PostForm.Get("client_id")) {
		s.writeError(w, badRequest("invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret': application '%s' is not a public client here; only '%s' may use the device code flow.",
			r.PostForm.Get("client_id"), s.opts.PublicClientID))
		return
	}
	sr, e := s.publicScopes(r.PostForm.Get("scope"))
	if e != nil {
		s.writeError(w, e)
		return
	}
	device, user := randomToken(32), userCode()
	now := s.now()
	s.pub.mu.Lock()
	for dc, d := range s.pub.devices { // drop expired codes so a long session does not grow
		if now.After(d.expires) {
			delete(s.pub.byUser, d.userCode)
			delete(s.pub.devices, dc)
		}
	}
	s.pub.devices[device] = &deviceAuth{userCode: user, scopes: sr, expires: now.Add(s.opts.DeviceCodeLifetime), lastPoll: now}
	s.pub.byUser[user] = device
	s.pub.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"user_code":        user,
		"device_code":      device,
		"verification_uri": s.DeviceLoginURL(),
		"expires_in":       int64(s.opts.DeviceCodeLifetime / time.Second),
		"interval":         max(int64(s.opts.DeviceCodeInterval/time.Second), 1),
		"message":          "To sign in, use a web browser to open the page " + s.DeviceLoginURL() + " and enter the code " + user + " to authenticate.",
	})
}

// userCode is 9 characters without look-alikes, as Entra's.
func userCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := []byte(randomToken(9))
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// publicRedeemDevice answers a device_code poll.
func (s *Server) publicRedeemDevice(form url.Values) (map[string]any, *aadError) {
	dc := form.Get("device_code")
	now := s.now()
	s.pub.mu.Lock()
	d := s.pub.devices[dc]
	var upn string
	var sr scopeRequest
	var tooSoon, declined bool
	if d != nil {
		tooSoon = now.Sub(d.lastPoll) < s.opts.DeviceCodeInterval
		d.lastPoll = now
		upn, sr, declined = d.upn, d.scopes, d.declined
		if (upn != "" || declined) && !now.After(d.expires) {
			delete(s.pub.devices, dc) // one redemption
			delete(s.pub.byUser, d.userCode)
		}
	}
	s.pub.mu.Unlock()
	switch {
	case d == nil:
		return nil, badRequest("invalid_grant", 70000, "The provided value for the input parameter 'device_code' is not valid.")
	case now.After(d.expires):
		s.pub.expired.Add(1)
		return nil, badRequest("expired_token", 70020, "The provided value for the input parameter 'device_code' is not valid. This device code has expired.")
	case declined:
		return nil, badRequest("authorization_declined", 70000, "The end user denied the authorization request.")
	case upn != "":
		u, ok := s.User(upn)
		if !ok {
			return nil, badRequest("invalid_grant", 50034, "The user account does not exist in the '%s' directory.", s.opts.TenantID)
		}
		return s.publicTokenResponse(u, sr, "", form.Get("client_info") == "1")
	case tooSoon:
		s.pub.slowDown.Add(1)
		return nil, badRequest("slow_down", 70016, "OAuth 2.0 device flow error. Authorization is pending; poll less often.")
	default:
		s.pub.pending.Add(1)
		return nil, badRequest("authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
	}
}

// handleDeviceLogin is the verification page: enter the code (GET without user_code), then
// the usual sign-in form (GET with user_code), whose POST approves the device — or, with
// decision=deny, declines it.
func (s *Server) handleDeviceLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, http.StatusBadRequest, 900144, "The request could not be parsed.")
		return
	}
	code := strings.ToUpper(strings.TrimSpace(r.Form.Get("user_code")))
	if code == "" {
		setPageHeaders(w, "")
		w.WriteHeader(http.StatusOK)
		_ = deviceTmpl.Execute(w, pageData{Title: "Enter code", Action: s.DeviceLoginURL(), Tenant: s.opts.TenantID})
		return
	}
	s.pub.mu.Lock()
	d := s.pub.devices[s.pub.byUser[code]]
	var scope string
	if d != nil {
		scope = strings.Join(append(slices.Clone(d.scopes.oidc), d.scopes.graph...), " ")
	}
	live := d != nil && !s.now().After(d.expires) && d.upn == "" && !d.declined
	s.pub.mu.Unlock()
	if !live {
		s.errorPage(w, http.StatusBadRequest, 70019, "The code you entered is not valid or has expired. Request a new code from the application.")
		return
	}
	signIn := pageData{Title: "Sign in", Action: s.DeviceLoginURL(), Tenant: s.opts.TenantID, Users: s.Users(),
		Scopes: s.describeScopes(scope), Hidden: []kv{{"user_code", code}}}
	if r.Method != http.MethodPost {
		s.renderPage(w, http.StatusOK, signIn)
		return
	}
	u, ok := s.checkPassword(r.PostForm)
	if !ok {
		signIn.Error = badPassword
		s.renderPage(w, http.StatusOK, signIn)
		return
	}
	deny := r.PostForm.Get("decision") == "deny"
	s.pub.mu.Lock()
	if d := s.pub.devices[s.pub.byUser[code]]; d != nil {
		d.declined = deny
		if !deny {
			d.upn = u.UserPrincipalName
		}
	}
	s.pub.mu.Unlock()
	title := "You have signed in to graphmcp local on your device. You may now close this window."
	if deny {
		title = "You have declined to sign in to graphmcp local on your device. You may now close this window."
	} else {
		s.grantPublicConsent(u.UserPrincipalName, d.scopes.graphScopeNames())
		s.pub.signIns.Add(1)
	}
	setPageHeaders(w, "")
	w.WriteHeader(http.StatusOK)
	_ = deviceTmpl.Execute(w, pageData{Title: title, Tenant: s.opts.TenantID, Code: 1})
}

// deviceTmpl is the code-entry page (Code == 0) and the done page (Code != 0).
var deviceTmpl = withBody("device", `{{if not .Code}}<p class="lead">Enter the code displayed on your app or device.</p>
<form method="get" action="{{.Action}}"><label for="user_code">Code</label>
<input id="user_code" name="user_code" autocomplete="one-time-code" required>
<button id="submit" type="submit">Next</button></form>{{end}}`)
