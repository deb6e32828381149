package entra_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
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
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/google/uuid"

	"example.com/graphmcp/devstack/entra"
	"example.com/graphmcp/devstack/localca"
	"example.com/graphmcp/devstack/msi"
)

const redirectURI = "https://gateway.test/oauth-callback"

// stack is an Entra stand-in with one trusted managed identity (uami) and its
// MI endpoint. Each stack uses fresh identity ids because MSAL's MI token
// cache is process-global.
type stack struct {
	ca   *localca.CA
	idp  *entra.Server
	mi   *msi.Server
	uami msi.Identity
}

func newStack(t *testing.T, mod func(*entra.Options)) *stack {
	t.Helper()
	ca, err := localca.New()
	if err != nil {
		t.Fatal(err)
	}
	uami := msi.Identity{ClientID: newID(t), PrincipalID: newID(t)}
	opts := entra.Options{
		CA:                   ca,
		RedirectURIs:         []string{redirectURI},
		FederatedCredentials: []entra.FederatedCredential{{Subject: uami.PrincipalID}},
	}
	if mod != nil {
		mod(&opts)
	}
	idp, err := entra.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	mi, err := msi.Start(msi.Options{Entra: idp, Identities: []msi.Identity{uami}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mi.Close)
	return &stack{ca: ca, idp: idp, mi: mi, uami: uami}
}

func newID(t *testing.T) string {
	t.Helper()
	return uuid.NewString()
}

// miCredential points azidentity at the stack's MI endpoint, the way the
// handler is wired on Functions.
func (s *stack) miCredential(t *testing.T, clientID string) *azidentity.ManagedIdentityCredential {
	t.Helper()
	for _, k := range []string{"IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT", "AZURE_TOKEN_CREDENTIALS"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("IDENTITY_ENDPOINT", s.mi.Endpoint())
	t.Setenv("IDENTITY_HEADER", s.mi.Header())
	cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(clientID)})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// oboClient builds the confidential client exactly as the handler does:
// MI token as federated client assertion, instance discovery off.
func (s *stack) oboClient(t *testing.T, override *confidential.Credential) confidential.Client {
	t.Helper()
	var cred confidential.Credential
	if override != nil {
		cred = *override
	} else {
		mi := s.miCredential(t, s.uami.ClientID)
		cred = confidential.NewCredFromAssertionCallback(func(ctx context.Context, _ confidential.AssertionRequestOptions) (string, error) {
			tk, err := mi.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"api://AzureADTokenExchange/.default"}})
			return tk.Token, err
		})
	}
	c, err := confidential.New(s.idp.Authority(), s.idp.APIClientID(), cred,
		confidential.WithInstanceDiscovery(false), confidential.WithHTTPClient(s.ca.HTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// assertion is a client assertion as the MI endpoint would mint it.
func (s *stack) assertion() string {
	return s.idp.SignMI(s.uami.PrincipalID, s.uami.ClientID, entra.FICAudience, time.Hour)
}

// noRedirect is a client that shows redirects instead of following them.
func (s *stack) noRedirect() *http.Client {
	c := s.ca.HTTPClient()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

type tokenReply struct {
	status int
	body   map[string]any
}

func (r tokenReply) str(k string) string { s, _ := r.body[k].(string); return s }

// postToken posts a form to the token endpoint; client_id and a valid client
// assertion are added unless the form sets them.
func (s *stack) postToken(t *testing.T, form url.Values) tokenReply {
	t.Helper()
	if _, ok := form["client_id"]; !ok {
		form.Set("client_id", s.idp.APIClientID())
	}
	if _, ok := form["client_assertion"]; !ok && form.Get("client_secret") == "" {
		form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		form.Set("client_assertion", s.assertion())
	}
	resp, err := s.ca.HTTPClient().PostForm(s.idp.TokenURL(), form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("token endpoint answered non-JSON (status %d): %v", resp.StatusCode, err)
	}
	return tokenReply{resp.StatusCode, body}
}

// requireAADError checks Entra's error shape.
func requireAADError(t *testing.T, r tokenReply, status int, oauthErr string, code int) {
	t.Helper()
	if r.status != status || r.str("error") != oauthErr {
		t.Fatalf("got %d %q (%s), want %d %q", r.status, r.str("error"), r.str("error_description"), status, oauthErr)
	}
	want := "AADSTS" + strconv.Itoa(code) + ":"
	if !strings.HasPrefix(r.str("error_description"), want) {
		t.Fatalf("error_description %q does not start with %q", r.str("error_description"), want)
	}
	codes, _ := r.body["error_codes"].([]any)
	if len(codes) != 1 || codes[0] != float64(code) {
		t.Fatalf("error_codes = %v, want [%d]", r.body["error_codes"], code)
	}
	for _, k := range []string{"timestamp", "trace_id", "correlation_id"} {
		if r.str(k) == "" {
			t.Fatalf("error body lacks %s", k)
		}
	}
	for _, k := range []string{"Trace ID: ", "Correlation ID: ", "Timestamp: "} {
		if !strings.Contains(r.str("error_description"), k) {
			t.Fatalf("error_description lacks %q", k)
		}
	}
}

func pkce(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// claimsOf decodes a JWT payload without verifying it (tests only).
func claimsOf(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT (%d parts)", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
