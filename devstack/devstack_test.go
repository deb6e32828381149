package devstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"example.com/graphmcp/devstack"
	"example.com/graphmcp/devstack/msi"
)

// Example_onBehalfOfGraph is the whole secretless chain the handler runs, against
// the stand-ins: managed identity token → federated client assertion → OBO for
// the signed-in user → Graph.
func Example_onBehalfOfGraph() {
	st, err := devstack.Start(nil)
	if err != nil {
		panic(err)
	}
	defer st.Close()
	env := st.Env()
	for _, k := range []string{"IDENTITY_ENDPOINT", "IDENTITY_HEADER"} { // what the platform sets
		os.Setenv(k, env[k])
		defer os.Unsetenv(k)
	}
	mi, _ := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
		ID: azidentity.ClientID(env["AZURE_CLIENT_ID"])})
	cred := confidential.NewCredFromAssertionCallback(func(ctx context.Context, _ confidential.AssertionRequestOptions) (string, error) {
		tk, err := mi.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{env["FIC_AUDIENCE"] + "/.default"}})
		return tk.Token, err
	})
	obo, _ := confidential.New(st.Entra.Authority(), env["ENTRA_APP_CLIENT_ID"], cred,
		confidential.WithInstanceDiscovery(false), confidential.WithHTTPClient(st.CA.HTTPClient()))

	user, _ := st.Entra.UserToken("adele@contoso.test", nil) // what the gateway forwards to /mcp
	for range 3 {
		ar, err := obo.AcquireTokenOnBehalfOf(context.Background(), user, []string{"https://graph.microsoft.com/User.Read"})
		if err != nil {
			panic(err)
		}
		req, _ := newGraphRequest(env["GRAPH_ENDPOINT"]+"/v1.0/me?$select=displayName,jobTitle", ar.AccessToken)
		resp, err := st.CA.HTTPClient().Do(req)
		if err != nil {
			panic(err)
		}
		var me struct{ DisplayName, JobTitle string }
		_ = json.NewDecoder(resp.Body).Decode(&me)
		resp.Body.Close()
		fmt.Println(me.DisplayName, "-", me.JobTitle)
	}
	fmt.Println("OBO requests:", st.Entra.Counts().OBO, "MI requests:", st.MSI.Count(), "Graph requests:", st.Graph.RequestCount())
	// Output:
	// Adele Vance - Retail Manager
	// Adele Vance - Retail Manager
	// Adele Vance - Retail Manager
	// OBO requests: 1 MI requests: 1 Graph requests: 3
}

func TestStartWithDirKeepsCA(t *testing.T) {
	dir := t.TempDir()
	a, err := devstack.Start(&devstack.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	pemA := a.CA.CertPEM()
	envA := a.Env()
	a.Close()
	b, err := devstack.Start(&devstack.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !bytes.Equal(pemA, b.CA.CertPEM()) {
		t.Fatal("restart made a new CA")
	}
	env := b.Env()
	if env["SSL_CERT_FILE"] != dir+"/ca.pem" || envA["AZURE_CLIENT_ID"] == env["AZURE_CLIENT_ID"] {
		t.Fatalf("SSL_CERT_FILE=%q; identity reused across stacks: %v", env["SSL_CERT_FILE"], envA["AZURE_CLIENT_ID"] == env["AZURE_CLIENT_ID"])
	}
	for _, k := range []string{"AZURE_TENANT_ID", "ENTRA_APP_CLIENT_ID", "ENTRA_AUTHORITY_HOST", "GRAPH_ENDPOINT", "IDENTITY_ENDPOINT", "IDENTITY_HEADER"} {
		if env[k] == "" {
			t.Fatalf("Env lacks %s", k)
		}
	}
}

func newGraphRequest(url, token string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err == nil {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req, err
}

// TestMoreIdentitiesAreServed: an extra identity (the gateway's, in localstack) gets tokens
// from the MI endpoint like the main one, and an unknown client id does not.
func TestMoreIdentitiesAreServed(t *testing.T) {
	gw := msi.Identity{ClientID: "5a000000-0000-4000-8000-00000000005a", PrincipalID: "5b000000-0000-4000-8000-00000000005b"}
	st, err := devstack.Start(&devstack.Options{MoreIdentities: []msi.Identity{gw}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	get := func(clientID string) int {
		req, _ := http.NewRequest("GET", st.MSI.Endpoint()+"?api-version="+msi.APIVersion+"&resource=api://AzureADTokenExchange&client_id="+clientID, nil)
		req.Header.Set("X-IDENTITY-HEADER", st.MSI.Header())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if a, b, c := get(st.Identity.ClientID), get(gw.ClientID), get("6a000000-0000-4000-8000-00000000006a"); a != 200 || b != 200 || c != 400 {
		t.Fatalf("MI endpoint: main %d, extra %d, unknown %d; want 200, 200, 400", a, b, c)
	}
}
