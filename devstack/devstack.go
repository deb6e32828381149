// Package devstack runs local stand-ins for the Azure services the MCP handler
// depends on, so the handler, the APIM emulator and the end-to-end tests run
// offline with the production code paths (MSAL Go, azidentity, plain HTTPS):
//
//   - [localca]: a throw-away CA; every HTTPS stand-in serves a leaf from it.
//   - [entra]: Entra ID v2.0 for one tenant — discovery, JWKS with rollover,
//     a sign-in page, authorization_code+PKCE, rotating refresh tokens and the
//     on-behalf-of grant, with client authentication only by a managed-identity
//     token matching a federated credential.
//   - [msi]: the App Service managed-identity endpoint (IDENTITY_ENDPOINT).
//   - [graph]: the Microsoft Graph v1.0 endpoints our tools call, with
//     throttling and failure injection.
//
// Start wires the four together the way Azure is wired: one user-assigned
// identity trusted as the API app's federated credential, Graph accepting
// the tokens Entra issues. Env returns the handler's configuration for it.
//
//	st, err := devstack.Start(nil)
//	if err != nil { ... }
//	defer st.Close()
//	for k, v := range st.Env() { t.Setenv(k, v) }     // handler config + IDENTITY_*
//	tok, _ := st.Entra.UserToken("adele@contoso.test", nil) // a bearer for /mcp
//	... call the handler ...
//	st.Entra.Counts().OBO; st.MSI.Count(); st.Graph.Throttle(1, time.Second)
//
// The packages can also be used one by one; see each package's documentation.
package devstack

import (
	"path/filepath"

	"github.com/google/uuid"

	"example.com/graphmcp/devstack/entra"
	"example.com/graphmcp/devstack/graph"
	"example.com/graphmcp/devstack/localca"
	"example.com/graphmcp/devstack/msi"
)

// Options configures Start. Nil means defaults.
type Options struct {
	// Dir, if set, keeps the CA in Dir (localca.LoadOrCreate) so that clients
	// trusting Dir/ca.pem keep working across restarts; Env then sets SSL_CERT_FILE.
	Dir string
	// Entra options; CA is filled in, and the identity's federated credential added.
	Entra entra.Options
	// Identity is the function app's UAMI. Default: fresh random ids on every
	// Start, because azidentity caches MI tokens process-wide per identity: a
	// token cached from an earlier stack (signed by its keys) would be presented
	// to this one and refused.
	Identity msi.Identity
	// MoreIdentities are other user-assigned identities the MI endpoint serves, each also
	// trusted as a federated credential of the API app (e.g. the APIM gateway's identity,
	// which redeems authorization codes). Default none.
	MoreIdentities []msi.Identity
	// MSIAddr and GraphAddr are listen addresses, default "127.0.0.1:0".
	MSIAddr, GraphAddr string
}

// Stack is a running set of stand-ins.
type Stack struct {
	CA       *localca.CA
	Entra    *entra.Server
	MSI      *msi.Server
	Graph    *graph.Server
	Identity msi.Identity
	certFile string
}

// Start starts Entra, the MI endpoint and Graph. On error nothing is left running.
func Start(opts *Options) (_ *Stack, err error) {
	if opts == nil {
		opts = &Options{}
	}
	st := &Stack{Identity: opts.Identity}
	if st.Identity == (msi.Identity{}) {
		st.Identity = msi.Identity{ClientID: uuid.NewString(), PrincipalID: uuid.NewString()}
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	if opts.Dir != "" {
		st.CA, err = localca.LoadOrCreate(opts.Dir)
		st.certFile = filepath.Join(opts.Dir, "ca.pem")
	} else {
		st.CA, err = localca.New()
	}
	if err != nil {
		return nil, err
	}
	eo := opts.Entra
	eo.CA = st.CA
	ids := append([]msi.Identity{st.Identity}, opts.MoreIdentities...)
	eo.FederatedCredentials = append([]entra.FederatedCredential(nil), eo.FederatedCredentials...)
	for _, id := range ids {
		eo.FederatedCredentials = append(eo.FederatedCredentials, entra.FederatedCredential{Subject: id.PrincipalID})
	}
	if st.Entra, err = entra.Start(eo); err != nil {
		return nil, err
	}
	if st.MSI, err = msi.Start(msi.Options{Entra: st.Entra, Identities: ids, Addr: opts.MSIAddr}); err != nil {
		return nil, err
	}
	if st.Graph, err = graph.Start(graph.Options{Entra: st.Entra, CA: st.CA, Addr: opts.GraphAddr}); err != nil {
		return nil, err
	}
	return st, nil
}

// Close stops whatever is running.
func (st *Stack) Close() {
	if st.Graph != nil {
		st.Graph.Close()
	}
	if st.MSI != nil {
		st.MSI.Close()
	}
	if st.Entra != nil {
		st.Entra.Close()
	}
}

// Env returns the handler's configuration pointing at the stand-ins (names as
// in README's configuration table) plus the platform's IDENTITY_ENDPOINT and
// IDENTITY_HEADER. The handler still needs MCP_RESOURCE_METADATA_URL.
// IDENTITY_HEADER is a secret: do not log the map.
func (st *Stack) Env() map[string]string {
	env := map[string]string{
		"AZURE_TENANT_ID":      st.Entra.TenantID(),
		"ENTRA_APP_CLIENT_ID":  st.Entra.APIClientID(),
		"AZURE_CLIENT_ID":      st.Identity.ClientID,
		"ENTRA_AUTHORITY_HOST": st.Entra.URL() + "/",
		"GRAPH_ENDPOINT":       st.Graph.URL(),
		"GRAPH_RESOURCE":       st.Entra.GraphResource(),
		"FIC_AUDIENCE":         entra.FICAudience,
		"IDENTITY_ENDPOINT":    st.MSI.Endpoint(),
		"IDENTITY_HEADER":      st.MSI.Header(),
	}
	if st.certFile != "" {
		env["SSL_CERT_FILE"] = st.certFile
	}
	return env
}
