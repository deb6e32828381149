package entra_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"testing"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"example.com/graphmcp/devstack/entra"
)

// TestDiscoveryAndRollover plays a relying party (keyfunc, as the handler
// uses): discovery names the JWKS, tokens verify, and after a rollover tokens
// with the new kid verify through one JWKS refresh while the old kid is gone.
func TestDiscoveryAndRollover(t *testing.T) {
	s := newStack(t, nil)
	resp, err := s.ca.HTTPClient().Get(s.idp.Authority() + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	err = json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	if err != nil || meta["issuer"] != s.idp.IssuerV2() || meta["jwks_uri"] != s.idp.JWKSURL() ||
		meta["token_endpoint"] != s.idp.TokenURL() || meta["authorization_endpoint"] != s.idp.AuthorizeURL() {
		t.Fatalf("discovery document: %v (err %v)", meta, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{s.idp.JWKSURL()}, keyfunc.Override{Client: s.ca.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	parse := func(raw string) error {
		_, err := jwt.Parse(raw, kf.Keyfunc, jwt.WithValidMethods([]string{"RS256"}),
			jwt.WithAudience(s.idp.APIClientID()), jwt.WithIssuer(s.idp.IssuerV2()))
		return err
	}
	old, _ := s.idp.UserToken("adele@contoso.test", nil)
	if err := parse(old); err != nil {
		t.Fatalf("token before rollover: %v", err)
	}
	oldKID := s.idp.CurrentKID()
	s.idp.RolloverKeys()
	if s.idp.CurrentKID() == oldKID {
		t.Fatal("rollover kept the kid")
	}
	fresh, _ := s.idp.UserToken("adele@contoso.test", nil)
	before := s.idp.Counts().JWKS
	if err := parse(fresh); err != nil {
		t.Fatalf("token after rollover: %v", err)
	}
	if got := s.idp.Counts().JWKS - before; got != 1 {
		t.Fatalf("JWKS fetches for the new kid = %d, want 1", got)
	}
	if err := parse(old); err == nil {
		t.Fatal("token with the retired kid still verifies against the JWKS")
	}
	var set struct{ Keys []struct{ Kid string } }
	resp, err = s.ca.HTTPClient().Get(s.idp.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&set)
	resp.Body.Close()
	if len(set.Keys) != 1 || set.Keys[0].Kid != s.idp.CurrentKID() {
		t.Fatalf("JWKS kids %v, want only the new one", set.Keys)
	}

	// Forgeries: a stranger's key under our kid, and HS256 keyed with our public key.
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	forged := s.idp.SignWithKey(jwt.MapClaims{"aud": s.idp.APIClientID(), "iss": s.idp.IssuerV2(), "exp": 9999999999}, stranger, s.idp.CurrentKID())
	if err := parse(forged); !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		t.Fatalf("forged token: %v", err)
	}
}

func TestV1Tokens(t *testing.T) {
	s := newStack(t, func(o *entra.Options) { o.TokenVersion = 1 })
	tok, _ := s.idp.UserToken("adele@contoso.test", nil)
	c := claimsOf(t, tok)
	if c["iss"] != "https://sts.windows.net/"+s.idp.TenantID()+"/" || c["aud"] != "api://"+s.idp.APIClientID() ||
		c["appid"] != s.idp.APIClientID() || c["ver"] != "1.0" || c["upn"] != "adele@contoso.test" {
		t.Fatalf("v1 claims: %v", c)
	}
	// v1 user tokens are accepted as OBO assertions too.
	r := s.postToken(t, map[string][]string{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"requested_token_use": {"on_behalf_of"}, "assertion": {tok}, "scope": {"User.Read"}})
	if r.status != 200 {
		t.Fatalf("OBO with a v1 assertion: %d %s", r.status, r.str("error_description"))
	}
	if _, err := s.idp.UserToken("nobody@contoso.test", nil); err == nil {
		t.Fatal("UserToken for an unknown user succeeded")
	}
}
