package graph

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"example.com/graphmcp/devstack/entra"
)

// authError is a 401/403 in Graph's words.
type authError struct {
	status        int
	code, message string
}

// authenticate validates the bearer token as Graph does and returns the user
// and the delegated scopes it carries. Tokens for Graph are opaque to clients,
// so these checks are the only place their content matters.
func (s *Server) authenticate(r *http.Request) (entra.User, []string, *authError) {
	unauth := func(msg string) *authError {
		return &authError{http.StatusUnauthorized, "InvalidAuthenticationToken", msg}
	}
	h := r.Header.Get("Authorization")
	raw, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || strings.TrimSpace(raw) == "" {
		return entra.User{}, nil, unauth("Access token is empty.")
	}
	idp := s.opts.Entra
	claims, err := s.verified.check(strings.TrimSpace(raw), idp.TrustedKeyfunc,
		jwt.WithExpirationRequired(), jwt.WithLeeway(time.Minute), jwt.WithTimeFunc(idp.TokenClock))
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return entra.User{}, nil, unauth("Lifetime validation failed, the token is expired.")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return entra.User{}, nil, unauth("Lifetime validation failed, the token is not yet valid.")
	case err != nil:
		return entra.User{}, nil, unauth("Access token validation failure. Invalid signature or malformed token.")
	}
	auds, _ := claims.GetAudience()
	res := strings.TrimSuffix(idp.GraphResource(), "/")
	if !slices.ContainsFunc(auds, func(a string) bool { return strings.TrimSuffix(a, "/") == res || a == entra.GraphAppID }) {
		return entra.User{}, nil, unauth("Access token validation failure. Invalid audience.")
	}
	if iss, _ := claims["iss"].(string); iss != idp.IssuerV1() && iss != idp.IssuerV2() {
		return entra.User{}, nil, unauth("Access token validation failure. Invalid issuer.")
	}
	if tid, _ := claims["tid"].(string); tid != idp.TenantID() {
		return entra.User{}, nil, unauth("Access token validation failure. Invalid tenant.")
	}
	oid, _ := claims["oid"].(string)
	u, ok := idp.UserByObjectID(oid)
	if !ok {
		return entra.User{}, nil, unauth("Access token validation failure. The user does not exist in the tenant.")
	}
	scp, _ := claims["scp"].(string)
	return u, strings.Fields(scp), nil
}

// requireScope checks that scp holds one of the scopes an endpoint accepts.
func requireScope(have, accepted []string, code string) *authError {
	for _, a := range accepted {
		if slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, a) }) {
			return nil
		}
	}
	msg := "Access is denied. Check credentials and try again."
	if code == "Authorization_RequestDenied" {
		msg = "Insufficient privileges to complete the operation."
	}
	return &authError{http.StatusForbidden, code, msg}
}

// verifiedTokens remembers the claims of tokens whose signature checked out. The Entra
// stand-in only ever adds signing keys, so a signature that verified once verifies again; the
// lifetime is checked on every request all the same. Real Graph verifies tokens on its own
// machines; here the stand-in shares a CPU with the load generator (cmd/handlerbench), and RSA
// verification took a quarter of it.
type verifiedTokens struct {
	mu sync.Mutex
	m  map[string]jwt.MapClaims // read-only once stored
}

// maxVerifiedTokens bounds the memory; the map starts over when it is full.
const maxVerifiedTokens = 4096

// check returns the token's claims if its signature (RS256, a trusted key) and the time claims
// (opts) are valid, with jwt's errors otherwise.
func (v *verifiedTokens) check(raw string, keyfunc jwt.Keyfunc, opts ...jwt.ParserOption) (jwt.MapClaims, error) {
	v.mu.Lock()
	claims, ok := v.m[raw]
	v.mu.Unlock()
	if ok {
		return claims, jwt.NewValidator(opts...).Validate(claims)
	}
	claims = jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(raw, claims, keyfunc, append(opts, jwt.WithValidMethods([]string{"RS256"}))...); err != nil {
		return nil, err
	}
	v.mu.Lock()
	if v.m == nil || len(v.m) >= maxVerifiedTokens {
		v.m = map[string]jwt.MapClaims{}
	}
	v.m[raw] = claims
	v.mu.Unlock()
	return claims, nil
}
