package entra_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"example.com/graphmcp/devstack/entra"
)

const graphUserRead = "https://graph.microsoft.com/User.Read"

// TestOBOWithMSAL drives the stand-in with the very client the handler uses:
// MSAL Go's confidential client, authenticated by an azidentity managed
// identity token fetched from the msi stand-in.
func TestOBOWithMSAL(t *testing.T) {
	s := newStack(t, nil)
	c := s.oboClient(t, nil)
	ctx := context.Background()
	user, err := s.idp.UserToken("adele@contoso.test", nil)
	if err != nil {
		t.Fatal(err)
	}

	ar, err := c.AcquireTokenOnBehalfOf(ctx, user, []string{graphUserRead})
	if err != nil {
		t.Fatalf("OBO: %v", err)
	}
	claims := claimsOf(t, ar.AccessToken)
	if claims["aud"] != "https://graph.microsoft.com" || claims["oid"] != "4f6c7a2e-1b3d-4c5e-8f90-a1b2c3d4e5f6" {
		t.Fatalf("Graph token aud=%v oid=%v", claims["aud"], claims["oid"])
	}
	// All consented scopes, as real Entra issues them.
	if scp, _ := claims["scp"].(string); !strings.Contains(scp, "User.Read") || !strings.Contains(scp, "Calendars.Read") {
		t.Fatalf("scp = %q", scp)
	}

	ar2, err := c.AcquireTokenOnBehalfOf(ctx, user, []string{graphUserRead})
	if err != nil {
		t.Fatal(err)
	}
	if ar2.Metadata.TokenSource != 1 /* base.TokenSourceCache */ {
		t.Fatalf("second OBO for the same user token did not come from MSAL's cache (source %v)", ar2.Metadata.TokenSource)
	}
	if got := s.idp.Counts().OBO; got != 1 {
		t.Fatalf("OBO requests = %d, want 1", got)
	}
	if got := s.mi.Count(); got != 1 {
		t.Fatalf("MI requests = %d, want 1", got)
	}

	// A scope Adele has not consented to: Entra's consent_required error.
	_, err = c.AcquireTokenOnBehalfOf(ctx, user, []string{"https://graph.microsoft.com/Mail.Send"})
	if err == nil || !strings.Contains(err.Error(), "AADSTS65001") || !strings.Contains(err.Error(), "consent_required") {
		t.Fatalf("unconsented scope: err = %v, want AADSTS65001 consent_required", err)
	}
	// Alex has consented to nothing, so even .default fails.
	alex, _ := s.idp.UserToken("alex@contoso.test", nil)
	if _, err := c.AcquireTokenOnBehalfOf(ctx, alex, []string{"https://graph.microsoft.com/.default"}); err == nil || !strings.Contains(err.Error(), "AADSTS65001") {
		t.Fatalf("alex .default: err = %v", err)
	}
	// Consent granted at run time takes effect on the next request.
	s.idp.SetGraphConsent("alex@contoso.test", []string{"User.Read"})
	if _, err := c.AcquireTokenOnBehalfOf(ctx, alex, []string{"https://graph.microsoft.com/.default"}); err != nil {
		t.Fatalf("alex after consent: %v", err)
	}
	// MSAL first tries the cached OBO refresh token for an uncached scope, then
	// a fresh OBO: each unconsented attempt is refused with 65001.
	if got := s.idp.Counts(); got.Errors["AADSTS65001"] != got.Refresh+2 {
		t.Fatalf("AADSTS65001 count = %d with %d refresh attempts, want refresh+2", got.Errors["AADSTS65001"], got.Refresh)
	}
}

func TestOBOConsentErrorShape(t *testing.T) {
	s := newStack(t, nil)
	user, _ := s.idp.UserToken("alex@contoso.test", nil)
	r := s.postToken(t, url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "requested_token_use": {"on_behalf_of"},
		"assertion": {user}, "scope": {graphUserRead + " openid offline_access profile"},
	})
	requireAADError(t, r, 400, "invalid_grant", 65001)
	if r.str("suberror") != "consent_required" {
		t.Fatalf("suberror = %q", r.str("suberror"))
	}
	if !strings.Contains(r.str("error_description"), "has not consented to use the application with ID '"+s.idp.APIClientID()+"'") {
		t.Fatalf("description %q", r.str("error_description"))
	}
}

func TestOBORejectsBadUserAssertions(t *testing.T) {
	s := newStack(t, nil)
	good, _ := s.idp.UserToken("adele@contoso.test", nil)
	expired, _ := s.idp.UserToken("adele@contoso.test", &entra.TokenOptions{Claims: map[string]any{"exp": 1000, "nbf": 0, "iat": 0}})
	otherAud, _ := s.idp.UserToken("adele@contoso.test", &entra.TokenOptions{Claims: map[string]any{"aud": "api://someone-else"}})
	appOnly, _ := s.idp.UserToken("adele@contoso.test", &entra.TokenOptions{Claims: map[string]any{"scp": nil}})
	tampered := good[:len(good)-4] + "AAAA"
	for name, tc := range map[string]struct {
		assertion string
		code      int
	}{
		"expired": {expired, 500133}, "wrong audience": {otherAud, 50013}, "app-only": {appOnly, 50013},
		"bad signature": {tampered, 50013}, "garbage": {"not-a-jwt", 50013},
	} {
		t.Run(name, func(t *testing.T) {
			r := s.postToken(t, url.Values{
				"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "requested_token_use": {"on_behalf_of"},
				"assertion": {tc.assertion}, "scope": {graphUserRead},
			})
			requireAADError(t, r, 400, "invalid_grant", tc.code)
		})
	}
	r := s.postToken(t, url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "requested_token_use": {"on_behalf_of"},
		"assertion": {good}, "scope": {"https://vault.azure.net/.default"},
	})
	requireAADError(t, r, 400, "invalid_resource", 500011)
}

// TestClientAuthentication: only an MI token matching a federated credential
// authenticates the app; MSAL surfaces Entra's invalid_client errors.
func TestClientAuthentication(t *testing.T) {
	s := newStack(t, nil)
	user, _ := s.idp.UserToken("adele@contoso.test", nil)
	ctx := context.Background()

	// A second identity the app registration does not trust (wrong FIC subject).
	stranger := newID(t)
	bad := confidential.NewCredFromAssertionCallback(func(context.Context, confidential.AssertionRequestOptions) (string, error) {
		return s.idp.SignMI(stranger, newID(t), entra.FICAudience, 3600e9), nil
	})
	if _, err := s.oboClient(t, &bad).AcquireTokenOnBehalfOf(ctx, user, []string{graphUserRead}); err == nil ||
		!strings.Contains(err.Error(), "AADSTS700213") || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("wrong FIC subject: err = %v", err)
	}
	secret, err := confidential.NewCredFromSecret("a-client-secret")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.oboClient(t, &secret).AcquireTokenOnBehalfOf(ctx, user, []string{graphUserRead}); err == nil ||
		!strings.Contains(err.Error(), "AADSTS7000215") {
		t.Fatalf("client secret: err = %v", err)
	}

	obo := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "requested_token_use": {"on_behalf_of"},
		"assertion": {user}, "scope": {graphUserRead}}
	with := func(kv ...string) url.Values {
		f := url.Values{}
		for k, v := range obo {
			f[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	const at = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	for name, tc := range map[string]struct {
		form   url.Values
		status int
		err    string
		code   int
	}{
		"secret":         {with("client_secret", "s3cret"), 401, "invalid_client", 7000215},
		"nothing":        {with("client_assertion", ""), 401, "invalid_client", 7000218},
		"wrong audience": {with("client_assertion_type", at, "client_assertion", s.idp.SignMI(s.uami.PrincipalID, s.uami.ClientID, "https://management.azure.com", 3600e9)), 401, "invalid_client", 700212},
		"wrong issuer":   {with("client_assertion_type", at, "client_assertion", s.idp.Sign(map[string]any{"iss": "https://evil.test/", "sub": s.uami.PrincipalID, "aud": entra.FICAudience, "exp": 9999999999})), 401, "invalid_client", 700211},
		"expired":        {with("client_assertion_type", at, "client_assertion", s.idp.Sign(map[string]any{"iss": s.idp.IssuerV2(), "sub": s.uami.PrincipalID, "aud": entra.FICAudience, "exp": 1000})), 401, "invalid_client", 700024},
		"forged":         {with("client_assertion_type", at, "client_assertion", s.assertion()[:40]+"x"), 401, "invalid_client", 700027},
		"unknown client": {with("client_id", "11111111-1111-1111-1111-111111111111"), 400, "unauthorized_client", 700016},
	} {
		t.Run(name, func(t *testing.T) {
			requireAADError(t, s.postToken(t, tc.form), tc.status, tc.err, tc.code)
		})
	}
}

// TestOBOProactiveRefreshWithMSAL: with refresh_in=0 MSAL refreshes on every
// later call, and for OBO it does so by repeating the OBO request (it has the
// user assertion), not by redeeming the refresh token.
func TestOBOProactiveRefreshWithMSAL(t *testing.T) {
	s := newStack(t, func(o *entra.Options) { o.RefreshIn = time.Nanosecond })
	c := s.oboClient(t, nil)
	user, _ := s.idp.UserToken("adele@contoso.test", nil)
	for i := range 3 {
		if _, err := c.AcquireTokenOnBehalfOf(context.Background(), user, []string{graphUserRead}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if got := s.idp.Counts(); got.OBO != 3 || got.Refresh != 0 {
		t.Fatalf("counts %+v, want 3 OBO requests", got)
	}
}

// TestOBORefreshToken: the refresh token from an OBO response yields Graph
// tokens again, rotates, and is subject to the user's current consent.
func TestOBORefreshToken(t *testing.T) {
	s := newStack(t, nil)
	user, _ := s.idp.UserToken("adele@contoso.test", nil)
	r := s.postToken(t, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "requested_token_use": {"on_behalf_of"},
		"assertion": {user}, "scope": {graphUserRead + " offline_access"}})
	if r.status != 200 {
		t.Fatalf("OBO: %d %s", r.status, r.str("error_description"))
	}
	refresh := func(rt string) tokenReply {
		return s.postToken(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {graphUserRead + " offline_access"}})
	}
	r2 := refresh(r.str("refresh_token"))
	if r2.status != 200 || claimsOf(t, r2.str("access_token"))["aud"] != "https://graph.microsoft.com" {
		t.Fatalf("refresh: %d %s", r2.status, r2.str("error_description"))
	}
	requireAADError(t, refresh(r.str("refresh_token")), 400, "invalid_grant", 70008)

	s.idp.SetGraphConsent("adele@contoso.test", nil)
	r3 := refresh(r2.str("refresh_token"))
	requireAADError(t, r3, 400, "invalid_grant", 65001)
	if r3.str("suberror") != "consent_required" {
		t.Fatalf("suberror %q", r3.str("suberror"))
	}
	// A refused redemption does not burn the refresh token.
	s.idp.SetGraphConsent("adele@contoso.test", []string{"User.Read"})
	if r4 := refresh(r2.str("refresh_token")); r4.status != 200 || claimsOf(t, r4.str("access_token"))["scp"] != "User.Read" {
		t.Fatalf("after re-consent: %d %s", r4.status, r4.str("error_description"))
	}
}
