package obo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/graphmcp/devstack/entra"
	"example.com/graphmcp/devstack/localca"
)

// MSAL surfaces Entra's error body inside the error text; classify reads it.
func TestClassify(t *testing.T) {
	scopes := []string{"https://graph.microsoft.com/Calendars.Read"}
	body := func(j string) error {
		return errors.New("http call(https://login.example/tid/oauth2/v2.0/token)(POST) error: reply status code was 400:\n" + j)
	}
	cases := []struct {
		name        string
		err         error
		consent     bool
		interaction bool
		code        string
	}{
		{"consent_required", body(`{"error":"invalid_grant","error_description":"AADSTS65001: The user or administrator has not consented ...","error_codes":[65001],"suberror":"consent_required"}`), true, false, "AADSTS65001"},
		{"admin_required", body(`{"error":"invalid_grant","error_description":"AADSTS65005: Misconfigured application. The client has not listed any permissions for 'Microsoft Graph' in the requested permissions in the client's application registration. Or, the admin has not consented in the tenant.","error_codes":[65005]}`), true, false, "AADSTS65005"},
		{"interaction_required", body(`{"error":"interaction_required","error_description":"AADSTS50076: Due to a configuration change ... you must use multi-factor authentication"}`), true, true, "AADSTS50076"},
		{"invalid_client", body(`{"error":"invalid_client","error_description":"AADSTS700213: No matching federated identity record found for presented assertion subject 'x'."}`), false, false, ""},
	}
	for _, tc := range cases {
		err := classify(tc.err, scopes)
		var ce *ConsentRequiredError
		if errors.As(err, &ce) != tc.consent {
			t.Fatalf("%s: consent = %v (%v)", tc.name, !tc.consent, err)
		}
		if tc.consent {
			if ce.Interaction != tc.interaction || ce.Admin != (tc.code == "AADSTS65005") || ce.Code != tc.code || ce.Scopes[0] != scopes[0] {
				t.Fatalf("%s: %+v", tc.name, ce)
			}
			continue
		}
		var oe *Error
		if !errors.As(err, &oe) || oe.Code != "invalid_client" || oe.AADSTS != "AADSTS700213" {
			t.Fatalf("%s: %#v", tc.name, err)
		}
		if strings.Contains(oe.Error(), "federated identity record") {
			t.Fatalf("%s: Error() should carry only codes, got %q", tc.name, oe.Error())
		}
	}
}

// Against the Entra stand-in: a user's repeated calls hit MSAL's cache, concurrent misses share
// one request, and MaxCachedUsers bounds the cache by starting a fresh generation.
func TestTokenCachingAndRotation(t *testing.T) {
	ca, err := localca.New()
	if err != nil {
		t.Fatal(err)
	}
	const principal = "0b000000-0000-4000-8000-0000000000ab"
	users := []entra.User{}
	for i := range 3 {
		users = append(users, entra.User{ObjectID: fmt.Sprintf("d0000000-0000-4000-8000-%012d", i), UserPrincipalName: fmt.Sprintf("u%d@contoso.test", i),
			DisplayName: "U", GraphConsent: []string{"User.Read", "Files.Read"}})
	}
	e, err := entra.Start(entra.Options{CA: ca, Users: users, FederatedCredentials: []entra.FederatedCredential{{Subject: principal}}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var assertions atomic.Int64
	c, err := New(&Options{Authority: e.Authority(), ClientID: e.APIClientID(), HTTPClient: ca.HTTPClient(), MaxCachedUsers: 2,
		Assertion: func(context.Context) (string, error) {
			assertions.Add(1)
			return e.SignMI(principal, "0a000000-0000-4000-8000-0000000000aa", entra.FICAudience, time.Hour), nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	tok := func(i int) string {
		s, err := e.UserToken(fmt.Sprintf("u%d@contoso.test", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	userRead := []string{"https://graph.microsoft.com/User.Read"}
	filesRead := []string{"https://graph.microsoft.com/Files.Read"}
	t0, t1, t2 := tok(0), tok(1), tok(2)

	var wg sync.WaitGroup
	for range 10 { // a cold burst for one user: one OBO request
		wg.Go(func() {
			if _, err := c.Token(context.Background(), t0, userRead); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if _, err := c.Token(context.Background(), t0, filesRead); err != nil { // other scope, same consent: cache
		t.Fatal(err)
	}
	if n := e.Counts().OBO; n != 1 {
		t.Fatalf("OBO requests after 11 calls of one user = %d, want 1", n)
	}
	for _, tk := range []string{t1, t2, t0} {
		if _, err := c.Token(context.Background(), tk, userRead); err != nil {
			t.Fatal(err)
		}
	}
	// u1 is the second distinct user; u2 is the third: a new generation; u0 is then new to it.
	if n, r := e.Counts().OBO, c.Rotations(); n != 4 || r != 1 {
		t.Fatalf("OBO requests = %d (want 4), rotations = %d (want 1)", n, r)
	}
	if c.NetworkRequests() != assertions.Load() || assertions.Load() != 4 {
		t.Fatalf("assertions = %d, network requests = %d", assertions.Load(), c.NetworkRequests())
	}
}
