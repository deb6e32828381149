package msi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"example.com/graphmcp/devstack/entra"
	"example.com/graphmcp/devstack/localca"
	"example.com/graphmcp/devstack/msi"
)

func start(t *testing.T, ids ...msi.Identity) (*entra.Server, *msi.Server) {
	t.Helper()
	ca, err := localca.New()
	if err != nil {
		t.Fatal(err)
	}
	idp, err := entra.Start(entra.Options{CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	mi, err := msi.Start(msi.Options{Entra: idp, Identities: ids})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mi.Close)
	return idp, mi
}

func newIdentity() msi.Identity {
	return msi.Identity{ClientID: uuid.NewString(), PrincipalID: uuid.NewString()}
}

// TestAzidentity proves the production credential, unmodified, gets tokens
// from the stand-in, and that they carry what a federated credential checks.
func TestAzidentity(t *testing.T) {
	uami := newIdentity() // fresh ids: MSAL's MI cache is process-global
	idp, mi := start(t, uami, newIdentity())
	for _, k := range []string{"IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("IDENTITY_ENDPOINT", mi.Endpoint())
	t.Setenv("IDENTITY_HEADER", mi.Header())
	cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(uami.ClientID)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tk, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"api://AzureADTokenExchange/.default"}})
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(tk.Token, claims, idp.TrustedKeyfunc, jwt.WithValidMethods([]string{"RS256"})); err != nil {
		t.Fatalf("MI token does not verify with the Entra stand-in's key: %v", err)
	}
	if claims["iss"] != idp.IssuerV2() || claims["sub"] != uami.PrincipalID || claims["aud"] != entra.FICAudience || claims["appid"] != uami.ClientID {
		t.Fatalf("claims iss=%v sub=%v aud=%v appid=%v", claims["iss"], claims["sub"], claims["aud"], claims["appid"])
	}
	if d := time.Until(tk.ExpiresOn); d < 23*time.Hour {
		t.Fatalf("expires in %v, want about 24h", d)
	}
	if _, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"api://AzureADTokenExchange/.default"}}); err != nil {
		t.Fatal(err)
	}
	if mi.Count() != 1 {
		t.Fatalf("MI requests = %d, want 1 (second GetToken served from azidentity's cache)", mi.Count())
	}
}

func TestProtocolErrors(t *testing.T) {
	a, b := newIdentity(), newIdentity()
	_, mi := start(t, a, b)
	get := func(header string, q url.Values) (int, map[string]any) {
		req, _ := http.NewRequest("GET", mi.Endpoint()+"?"+q.Encode(), nil)
		if header != "" {
			req.Header.Set("X-IDENTITY-HEADER", header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	ok := url.Values{"api-version": {msi.APIVersion}, "resource": {"api://AzureADTokenExchange"}, "client_id": {b.ClientID}}
	with := func(k, v string) url.Values {
		q := url.Values{}
		for kk, vv := range ok {
			q[kk] = vv
		}
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return q
	}
	status, body := get(mi.Header(), ok)
	if status != 200 || body["client_id"] != b.ClientID || body["token_type"] != "Bearer" || body["resource"] != "api://AzureADTokenExchange" {
		t.Fatalf("happy path: %d client_id=%v", status, body["client_id"])
	}
	if exp, err := strconv.ParseInt(body["expires_on"].(string), 10, 64); err != nil || exp <= time.Now().Unix() {
		t.Fatalf("expires_on %v is not future unix seconds", body["expires_on"])
	}
	for name, tc := range map[string]struct {
		header string
		q      url.Values
		want   int
	}{
		"no header":          {"", ok, 401},
		"wrong header":       {"nope", ok, 401},
		"api-version":        {mi.Header(), with("api-version", "2017-09-01"), 400},
		"no resource":        {mi.Header(), with("resource", ""), 400},
		"unknown client_id":  {mi.Header(), with("client_id", uuid.NewString()), 400},
		"ambiguous identity": {mi.Header(), with("client_id", ""), 400},
		"mi_res_id":          {mi.Header(), with("mi_res_id", "/subscriptions/x"), 400},
	} {
		t.Run(name, func(t *testing.T) {
			status, body := get(tc.header, tc.q)
			if status != tc.want || body["access_token"] != nil {
				t.Fatalf("status %d, want %d", status, tc.want)
			}
			if msg, _ := body["message"].(string); strings.TrimSpace(msg) == "" {
				t.Fatal("error without message")
			}
		})
	}
	// principal_id selects too.
	q := with("client_id", "")
	q.Set("principal_id", a.PrincipalID)
	if status, body := get(mi.Header(), q); status != 200 || body["client_id"] != a.ClientID {
		t.Fatalf("principal_id: %d %v", status, body["client_id"])
	}
}
