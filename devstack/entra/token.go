package entra

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	grantAuthCode = "authorization_code"
	grantRefresh  = "refresh_token"
	grantJWT      = "urn:ietf:params:oauth:grant-type:jwt-bearer"

	codeLifetime    = 10 * time.Minute
	refreshLifetime = 24 * time.Hour
)

// authCode is an issued, not yet redeemed authorization code.
type authCode struct {
	clientID, redirectURI, challenge, upn, nonce string
	scopes                                       scopeRequest
	expires                                      time.Time
	used                                         bool
}

// grant is what a refresh token stands for. Redeeming it deletes it (rotation).
type grant struct {
	clientID, upn string
	graph         []string // Graph scopes of an OBO-derived grant; nil ⇒ our API
	openid        bool
	expires       time.Time
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.counts.token.Add(1)
	if r.Method != http.MethodPost {
		s.writeError(w, &aadError{status: http.StatusMethodNotAllowed, err: "invalid_request", code: 900561,
			msg: "The endpoint only accepts POST requests. Received a " + r.Method + " request."})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
	if err := r.ParseForm(); err != nil {
		s.writeError(w, badRequest("invalid_request", 900144, "The request body must be application/x-www-form-urlencoded."))
		return
	}
	form := r.PostForm
	if s.isPublicClient(form.Get("client_id")) {
		s.publicToken(w, form) // publicclient.go
		return
	}
	gt := form.Get("grant_type")
	switch gt {
	case grantAuthCode:
		s.counts.authCode.Add(1)
	case grantRefresh:
		s.counts.refresh.Add(1)
	case grantJWT:
		s.counts.obo.Add(1)
	case "":
		s.writeError(w, badRequest("invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."))
		return
	default:
		s.writeError(w, badRequest("unsupported_grant_type", 70003,
			"The app requested an unsupported grant type '%s'. Supported: authorization_code, refresh_token, %s (on_behalf_of).", gt, grantJWT))
		return
	}
	if s.injectTokenFault(w, gt) {
		return
	}
	if e := s.authenticateClient(form); e != nil {
		s.writeError(w, e)
		return
	}
	var resp map[string]any
	var e *aadError
	switch gt {
	case grantAuthCode:
		resp, e = s.redeemCode(form)
	case grantRefresh:
		resp, e = s.redeemRefresh(form)
	case grantJWT:
		resp, e = s.onBehalfOf(form)
	}
	s.reply(w, resp, e)
}

// reply sends a token response, or the error.
func (s *Server) reply(w http.ResponseWriter, resp map[string]any, e *aadError) {
	if e != nil {
		s.writeError(w, e)
		return
	}
	s.counts.issued.Add(1)
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) redeemCode(form url.Values) (map[string]any, *aadError) {
	ac, u, e := s.takeCode(form)
	if e != nil {
		return nil, e
	}
	g := &grant{clientID: ac.clientID, upn: ac.upn, openid: slices.Contains(ac.scopes.oidc, "openid")}
	return s.apiTokenResponse(u, g, ac.nonce, form.Get("client_info") == "1"), nil
}

// takeCode consumes the authorization code of a token request and checks it against the
// request: client, redirect URI, PKCE verifier, user.
func (s *Server) takeCode(form url.Values) (*authCode, User, *aadError) {
	code := form.Get("code")
	if code == "" {
		return nil, User{}, badRequest("invalid_request", 900144, "The request body must contain the following parameter: 'code'.")
	}
	s.mu.Lock()
	ac := s.codes[code]
	var replay bool
	if ac != nil {
		replay = ac.used
		ac.used = true // one attempt per code, successful or not, as Entra does
	}
	s.mu.Unlock()
	switch {
	case ac == nil:
		return nil, User{}, badRequest("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid: the authorization code is unknown.")
	case replay:
		return nil, User{}, badRequest("invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
	case s.now().After(ac.expires):
		return nil, User{}, badRequest("invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
	case ac.clientID != form.Get("client_id"):
		return nil, User{}, badRequest("invalid_grant", 70000, "Provided grant is invalid or malformed: the code was issued to another client.")
	case ac.redirectURI != form.Get("redirect_uri"):
		return nil, User{}, badRequest("invalid_grant", 500112, "The reply address '%s' does not match the reply address '%s' provided when requesting Authorization code.",
			form.Get("redirect_uri"), ac.redirectURI)
	}
	verifier := form.Get("code_verifier")
	if verifier == "" {
		return nil, User{}, badRequest("invalid_grant", 9002325, "Proof Key for Code Exchange is required for this authorization code redemption: send code_verifier.")
	}
	sum := sha256.Sum256([]byte(verifier))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(ac.challenge)) != 1 {
		return nil, User{}, badRequest("invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
	}
	u, ok := s.User(ac.upn)
	if !ok {
		return nil, User{}, badRequest("invalid_grant", 50034, "The user account does not exist in the '%s' directory.", s.opts.TenantID)
	}
	return ac, u, nil
}

func (s *Server) redeemRefresh(form url.Values) (map[string]any, *aadError) {
	rt, g, u, e := s.findRefresh(form)
	if e != nil {
		return nil, e
	}
	sr, e := s.parseScopes(form.Get("scope"))
	if e != nil {
		return nil, e
	}
	clientInfo := form.Get("client_info") == "1"
	// Entra refresh tokens are multi-resource: the scope picks the resource.
	graphScopes := sr.graph
	if len(graphScopes) == 0 && !sr.api {
		graphScopes = g.graph
	}
	if len(graphScopes) > 0 {
		if e := s.checkConsent(u, graphScopes); e != nil {
			return nil, e // a failed redemption leaves the refresh token usable, as in Entra
		}
	}
	if e := s.claimRefresh(rt, g); e != nil {
		return nil, e
	}
	if len(graphScopes) > 0 {
		return s.graphTokenResponse(u, graphScopes, g, clientInfo)
	}
	next := &grant{clientID: g.clientID, upn: g.upn, openid: g.openid || slices.Contains(sr.oidc, "openid")}
	return s.apiTokenResponse(u, next, "", clientInfo), nil
}

// findRefresh looks up the refresh token of a token request and checks that it is live, was
// issued to the requesting client and names a known user.
func (s *Server) findRefresh(form url.Values) (string, *grant, User, *aadError) {
	rt := form.Get("refresh_token")
	if rt == "" {
		return "", nil, User{}, badRequest("invalid_request", 900144, "The request body must contain the following parameter: 'refresh_token'.")
	}
	s.mu.Lock()
	g := s.refresh[rt]
	s.mu.Unlock()
	if g == nil || s.now().After(g.expires) {
		return "", nil, User{}, badRequest("invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity or was already redeemed. Send a new interactive authorization request for this user and resource.")
	}
	if g.clientID != form.Get("client_id") {
		return "", nil, User{}, badRequest("invalid_grant", 70000, "Provided grant is invalid or malformed: the refresh token was issued to another client.")
	}
	u, ok := s.User(g.upn)
	if !ok {
		return "", nil, User{}, badRequest("invalid_grant", 50034, "The user account does not exist in the '%s' directory.", s.opts.TenantID)
	}
	return rt, g, u, nil
}

// claimRefresh rotates a refresh token: it is good for one successful redemption; of two
// concurrent redemptions only the first claims it.
func (s *Server) claimRefresh(rt string, g *grant) *aadError {
	s.mu.Lock()
	claimed := s.refresh[rt] == g
	delete(s.refresh, rt)
	s.mu.Unlock()
	if !claimed {
		return badRequest("invalid_grant", 70008, "The provided refresh token was already redeemed. Send a new interactive authorization request for this user and resource.")
	}
	return nil
}

// onBehalfOf exchanges a user's token for our API for a Graph token.
func (s *Server) onBehalfOf(form url.Values) (map[string]any, *aadError) {
	if form.Get("requested_token_use") != "on_behalf_of" {
		return nil, badRequest("invalid_request", 50027, "The jwt-bearer grant is supported only with requested_token_use=on_behalf_of.")
	}
	assertion := form.Get("assertion")
	if assertion == "" {
		return nil, badRequest("invalid_request", 900144, "The request body must contain the following parameter: 'assertion'.")
	}
	claims, err := s.verify(assertion)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return nil, badRequest("invalid_grant", 500133, "Assertion is not within its valid time range. Ensure that the access token is not expired before using it for user assertion.")
		}
		return nil, badRequest("invalid_grant", 50013, "Assertion failed signature validation or is malformed.")
	}
	iss, _ := claims["iss"].(string)
	tid, _ := claims["tid"].(string)
	if (iss != s.IssuerV1() && iss != s.IssuerV2()) || tid != s.opts.TenantID {
		return nil, badRequest("invalid_grant", 50013, "Assertion issuer '%s' is not this tenant.", iss)
	}
	auds, _ := claims.GetAudience()
	if !slices.Contains(auds, s.opts.APIClientID) && !slices.Contains(auds, "api://"+s.opts.APIClientID) {
		return nil, badRequest("invalid_grant", 50013, "Assertion audience does not match the Client app presenting the assertion. The audience in the assertion was '%s' and the expected audience is '%s' or one of the Application Id URIs of this web API.",
			strings.Join(auds, ","), s.opts.APIClientID)
	}
	if scp, _ := claims["scp"].(string); scp == "" {
		return nil, badRequest("invalid_grant", 50013, "Assertion is an application token (no scp); on-behalf-of needs a delegated user token.")
	}
	oid, _ := claims["oid"].(string)
	u, ok := s.UserByObjectID(oid)
	if !ok {
		return nil, badRequest("invalid_grant", 50034, "The user account '%s' does not exist in the '%s' directory.", oid, s.opts.TenantID)
	}
	sr, e := s.parseScopes(form.Get("scope"))
	if e != nil {
		return nil, e
	}
	if sr.api || len(sr.graph) == 0 {
		return nil, badRequest("invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid: request scopes of Microsoft Graph (%s/...).", s.opts.GraphResource)
	}
	g := &grant{clientID: form.Get("client_id"), upn: u.UserPrincipalName, openid: slices.Contains(sr.oidc, "openid")}
	return s.graphTokenResponse(u, sr.graph, g, form.Get("client_info") == "1")
}

// graphTokenResponse issues a Graph token carrying all consented scopes when
// every requested scope is consented (for .default: when anything is).
func (s *Server) graphTokenResponse(u User, requested []string, g *grant, clientInfo bool) (map[string]any, *aadError) {
	if e := s.checkConsent(u, requested); e != nil {
		return nil, e
	}
	consent := u.GraphConsent
	prefix := strings.TrimSuffix(s.opts.GraphResource, "/") + "/"
	granted := make([]string, 0, len(consent)+1)
	for _, sc := range consent {
		granted = append(granted, prefix+sc)
	}
	if slices.Contains(requested, ".default") {
		granted = append(granted, prefix+".default") // lets MSAL's cache match a .default request
	}
	next := &grant{clientID: g.clientID, upn: u.UserPrincipalName, graph: slices.Clone(requested), openid: g.openid}
	resp := s.tokenResponse(s.Sign(s.graphClaims(u, consent)), strings.Join(granted, " "), u, next, "", clientInfo)
	return resp, nil
}

// checkConsent fails with AADSTS65001 unless every requested Graph scope is
// consented (for .default: unless anything is).
func (s *Server) checkConsent(u User, requested []string) *aadError {
	missing := len(u.GraphConsent) == 0
	for _, sc := range requested {
		if sc != ".default" && !containsFold(u.GraphConsent, sc) {
			missing = true
		}
	}
	if !missing {
		return nil
	}
	e := badRequest("invalid_grant", 65001,
		"The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource.",
		s.opts.APIClientID, s.opts.APIDisplayName)
	e.suberror = "consent_required"
	return e
}

// apiTokenResponse issues a token for our API plus refresh (and id) token.
func (s *Server) apiTokenResponse(u User, g *grant, nonce string, clientInfo bool) map[string]any {
	at := s.Sign(s.apiClaims(u, 0, "", nil, 0))
	return s.tokenResponse(at, "api://"+s.opts.APIClientID+"/"+s.opts.APIScope, u, g, nonce, clientInfo)
}

func (s *Server) tokenResponse(accessToken, scope string, u User, g *grant, nonce string, clientInfo bool) map[string]any {
	g.expires = s.now().Add(refreshLifetime)
	rt := randomToken(48)
	s.mu.Lock()
	s.refresh[rt] = g
	s.sweepLocked()
	s.mu.Unlock()
	secs := int64(s.opts.AccessTokenLifetime / time.Second)
	resp := map[string]any{
		"token_type":     "Bearer",
		"scope":          scope,
		"expires_in":     secs,
		"ext_expires_in": secs,
		"access_token":   accessToken,
		"refresh_token":  rt,
	}
	if s.opts.RefreshIn > 0 {
		resp["refresh_in"] = int64(s.opts.RefreshIn / time.Second)
	}
	if g.openid {
		resp["id_token"] = s.Sign(s.idTokenClaims(u, g.clientID, nonce))
	}
	if clientInfo {
		resp["client_info"] = s.clientInfo(u)
	}
	return resp
}

// sweepLocked drops expired codes and refresh tokens once the maps grow, so a
// long `make dev` session or a benchmark does not accumulate them forever.
func (s *Server) sweepLocked() {
	if len(s.codes)+len(s.refresh) < 4096 {
		return
	}
	now := s.now()
	for k, c := range s.codes {
		if now.After(c.expires) {
			delete(s.codes, k)
		}
	}
	for k, g := range s.refresh {
		if now.After(g.expires) {
			delete(s.refresh, k)
		}
	}
}

// randomToken returns n random bytes, base64url: codes, refresh tokens, ids.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
