package entra

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TokenOptions adjusts a token minted by UserToken. Nil means defaults.
type TokenOptions struct {
	// Version overrides Options.TokenVersion (1 or 2).
	Version int
	// Scope overrides scp (space-separated); default Options.APIScope.
	Scope string
	// Roles overrides the user's app roles when non-nil.
	Roles []string
	// Lifetime overrides Options.AccessTokenLifetime.
	Lifetime time.Duration
	// Claims are merged last; a nil value deletes the claim (e.g. "scp": nil).
	Claims jwt.MapClaims
}

// UserToken returns a valid access token for our API for the user, as if the
// user had signed in through /authorize: v1 or v2 per Options, scp=APIScope,
// roles from the user.
func (s *Server) UserToken(upn string, opt *TokenOptions) (string, error) {
	u, ok := s.User(upn)
	if !ok {
		return "", fmt.Errorf("entra: no user %q; known users are listed by Server.Users", upn)
	}
	if opt == nil {
		opt = &TokenOptions{}
	}
	claims := s.apiClaims(u, opt.Version, opt.Scope, opt.Roles, opt.Lifetime)
	for k, v := range opt.Claims {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	return s.Sign(claims), nil
}

// apiClaims builds the claims of an access token for our API.
func (s *Server) apiClaims(u User, version int, scope string, roles []string, lifetime time.Duration) jwt.MapClaims {
	if version == 0 {
		version = s.opts.TokenVersion
	}
	if scope == "" {
		scope = s.opts.APIScope
	}
	if roles == nil {
		roles = u.Roles
	}
	if lifetime <= 0 {
		lifetime = s.opts.AccessTokenLifetime
	}
	c := s.baseClaims(u, lifetime)
	c["scp"] = scope
	if len(roles) > 0 {
		c["roles"] = roles
	}
	c["sub"] = pairwiseSub(u.ObjectID, s.opts.APIClientID)
	if version == 1 {
		c["ver"] = "1.0"
		c["iss"] = s.IssuerV1()
		c["aud"] = "api://" + s.opts.APIClientID
		c["appid"] = s.opts.APIClientID
		c["appidacr"] = "2"
		c["upn"] = u.UserPrincipalName
		c["unique_name"] = u.UserPrincipalName
		c["given_name"] = u.GivenName
		c["family_name"] = u.Surname
	} else {
		c["ver"] = "2.0"
		c["iss"] = s.IssuerV2()
		c["aud"] = s.opts.APIClientID
		c["azp"] = s.opts.APIClientID
		c["azpacr"] = "2"
		c["preferred_username"] = u.UserPrincipalName
	}
	return c
}

// graphClaims builds the claims of a Graph access token (always v1, as Graph
// tokens are) carrying every consented scope.
func (s *Server) graphClaims(u User, scopes []string) jwt.MapClaims {
	c := s.baseClaims(u, s.opts.AccessTokenLifetime)
	c["ver"] = "1.0"
	c["iss"] = s.IssuerV1()
	c["aud"] = s.opts.GraphResource
	c["appid"] = s.opts.APIClientID
	c["app_displayname"] = s.opts.APIDisplayName
	c["appidacr"] = "2"
	c["scp"] = strings.Join(scopes, " ")
	c["sub"] = pairwiseSub(u.ObjectID, GraphAppID)
	c["upn"] = u.UserPrincipalName
	c["unique_name"] = u.UserPrincipalName
	return c
}

// idTokenClaims builds an id_token for the client.
func (s *Server) idTokenClaims(u User, clientID, nonce string) jwt.MapClaims {
	c := s.baseClaims(u, time.Hour)
	c["ver"] = "2.0"
	c["iss"] = s.IssuerV2()
	c["aud"] = clientID
	c["sub"] = pairwiseSub(u.ObjectID, clientID)
	c["preferred_username"] = u.UserPrincipalName
	if u.Mail != "" {
		c["email"] = u.Mail
	}
	if nonce != "" {
		c["nonce"] = nonce
	}
	return c
}

func (s *Server) baseClaims(u User, lifetime time.Duration) jwt.MapClaims {
	now := s.now()
	return jwt.MapClaims{
		"iat":  now.Unix(),
		"nbf":  now.Unix(),
		"exp":  now.Add(lifetime).Unix(),
		"tid":  s.opts.TenantID,
		"oid":  u.ObjectID,
		"name": u.DisplayName,
		"uti":  randomToken(16),
		"rh":   "0.devstack",
	}
}

// SignMI mints a managed-identity token as the platform's identity endpoint
// would: iss=IssuerV2, sub=oid=principalID, appid/azp=clientID, aud=audience.
func (s *Server) SignMI(principalID, clientID, audience string, lifetime time.Duration) string {
	now := s.now()
	return s.Sign(jwt.MapClaims{
		"iss":    s.IssuerV2(),
		"sub":    principalID,
		"oid":    principalID,
		"aud":    audience,
		"appid":  clientID,
		"azp":    clientID,
		"tid":    s.opts.TenantID,
		"idtyp":  "app",
		"ver":    "2.0",
		"iat":    now.Unix(),
		"nbf":    now.Unix(),
		"exp":    now.Add(lifetime).Unix(),
		"uti":    randomToken(16),
		"azpacr": "2",
	})
}

// clientInfo is MSAL's account hint: base64url({"uid":oid,"utid":tid}).
func (s *Server) clientInfo(u User) string {
	b, _ := json.Marshal(map[string]string{"uid": u.ObjectID, "utid": s.opts.TenantID})
	return base64.RawURLEncoding.EncodeToString(b)
}

// pairwiseSub mimics Entra's per-application subject.
func pairwiseSub(oid, appID string) string {
	sum := sha256.Sum256([]byte(oid + "|" + appID))
	return base64.RawURLEncoding.EncodeToString(sum[:])[:43]
}

// GraphToken mints the token an OBO request would return for the user: aud =
// GraphResource, scp = scopes (nil ⇒ the user's current Graph consent).
// Tests of Graph clients use it to skip the OBO round trip.
func (s *Server) GraphToken(upn string, scopes []string) (string, error) {
	u, ok := s.User(upn)
	if !ok {
		return "", fmt.Errorf("entra: no user %q; known users are listed by Server.Users", upn)
	}
	if scopes == nil {
		scopes = u.GraphConsent
	}
	return s.Sign(s.graphClaims(u, scopes)), nil
}
