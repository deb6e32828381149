// Package localstack starts the whole gateway on loopback, the way it runs in Azure but with
// local stand-ins: a local CA; the Entra ID, managed-identity and Microsoft Graph stand-ins
// (devstack); the real handler binary behind the Functions-host stand-in (internal/handlerproc,
// internal/funchost); and the APIM emulator running the real policy files (internal/apimemu),
// with freshly generated token and cookie keys. Tests of the OAuth gateway use it, and so can
// `make dev`.
//
//	st, err := localstack.Start(ctx, &localstack.Options{AutoApproveUser: "adele@contoso.test"})
//	if err != nil { ... }
//	defer st.Close()
//	// point an MCP client at st.MCPURL(); trust st.CAFile() (NODE_EXTRA_CA_CERTS, SSL_CERT_FILE)
//
// Everything listens on 127.0.0.1. The gateway serves HTTPS (its cookies are __Host- and Secure).
// Extra gateways with other named values (short token lifetimes, low rate limits) can share the
// same backends through Stack.StartGateway.
package localstack

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"example.com/graphmcp/devstack"
	"example.com/graphmcp/devstack/entra"
	"example.com/graphmcp/devstack/graph"
	"example.com/graphmcp/devstack/localca"
	"example.com/graphmcp/devstack/msi"
	"example.com/graphmcp/internal/apimemu"
	"example.com/graphmcp/internal/freeport"
	"example.com/graphmcp/internal/funchost"
	"example.com/graphmcp/internal/handlerproc"
	"example.com/graphmcp/internal/tokenformat"
)

// GraphScopes are the Graph delegated scopes requested at sign-in (the tools' scopes).
const GraphScopes = "https://graph.microsoft.com/User.Read https://graph.microsoft.com/Calendars.Read https://graph.microsoft.com/Mail.ReadBasic https://graph.microsoft.com/Files.Read"

// Options configure the stack; nil means defaults.
type Options struct {
	// Dir holds the CA file and the handler's state file. Default: a new temporary directory,
	// removed by Close.
	Dir string
	// AutoApproveUser makes the Entra stand-in sign this UPN in without its login page.
	AutoApproveUser string
	// Users of the Entra stand-in; default entra's defaults.
	Users []entra.User
	// EntraTokenLifetime is the lifetime of Entra access tokens; default 1h.
	EntraTokenLifetime int
	// Gateway configures the first gateway (see GatewayOptions).
	Gateway GatewayOptions
	// Extra gateways to plan for: their ports are reserved (kept bound until StartGateway hands
	// them to the emulator) so Entra accepts their callback URLs.
	ExtraGateways int
	// Stdout/Stderr receive the emulator's output; default io.Discard.
	Stdout, Stderr io.Writer

	// Persist keeps the CA (ca.pem, ca-key.pem) and the gateway's token and cookie keys
	// (gateway-keys.json, 0600) in Dir and reuses them on the next Start, so that clients
	// trusting the CA, consent cookies and registrations outlive a restart (`make dev`).
	// Requires Dir. Default false: fresh material on every Start.
	Persist bool
	// GatewayPort and EntraPort fix the loopback ports of the first gateway and of the Entra
	// stand-in (a stable MCP URL and sign-in page across restarts). Default 0: free ports.
	GatewayPort, EntraPort int

	// Handler configures the handler process beyond the defaults (fault and soak tests).
	Handler HandlerOptions
}

// HandlerOptions are the knobs of the handler process; the zero value is the default: the
// embedded state file in Dir, started once.
type HandlerOptions struct {
	// CosmosEndpoint, when set, makes the handler keep its state in Cosmos DB at this endpoint
	// (http on loopback: the offline emulator, or a fault proxy in front of it), reached with
	// the function's managed identity like in Azure, instead of the embedded file.
	CosmosEndpoint string
	// CosmosDatabase is the database id (created if missing). Default "mcpgateway".
	CosmosDatabase string
	// Restart makes the Functions-host stand-in start the handler again whenever it exits, as
	// the Functions host does (funchost.Options.Launch); Stack.Handlers lists every process.
	Restart bool
	// Env adds to (or overrides) the handler's environment.
	Env map[string]string
}

// GatewayOptions are the per-gateway knobs (named values that tests vary).
type GatewayOptions struct {
	AccessTokenLifetime int // seconds; default 3600
	RegisterRateLimit   int // per IP per minute; default 1000
	TokenRateLimit      int // per IP per minute; default 1000
	MCPRateLimit        int // per user+client per minute; default 1000
	// Keys overrides the token keys: current first, then previous (a rotated gateway).
	// Default: Stack.Keys.
	Keys []tokenformat.Key
	// OmitRetryAfterHeader: the emulator's rate limits answer without their own Retry-After
	// header (apimemu.Options), so tests show the policies set it themselves.
	OmitRetryAfterHeader bool
	// FunctionBaseURL replaces the function app's URL (named value function-base-url) for this
	// gateway. Default: the stack's Functions host stand-in. Tests that need a state service
	// configured in Go (the CIMD fetcher's loopback switch, which no setting reaches) put their
	// own host stand-in there.
	FunctionBaseURL string
}

// Stack is a running local gateway with its backends.
type Stack struct {
	Dir         string
	CA          *localca.CA
	Entra       *entra.Server
	MSI         *msi.Server
	Graph       *graph.Server
	Handler     *handlerproc.Process
	Host        *funchost.Server
	Gateway     *apimemu.Gateway
	FunctionKey string
	// FunctionIdentity is the function's UAMI (OBO), APIMIdentity the gateway's (code redemption).
	FunctionIdentity, APIMIdentity msi.Identity
	// Keys are the token keys (current first, then previous); CookieKey signs the cookies.
	Keys      []tokenformat.Key
	CookieKey []byte

	opts    Options
	caFile  string
	ownDir  bool
	gwPorts []net.Listener // reserved front listeners, one per planned gateway
	gwNext  int
	closers []func()
	closeMu sync.Mutex

	// handlers are every handler process started, oldest first (Handler is the first).
	handlers   []*handlerproc.Process
	handlersMu sync.Mutex
}

// Start builds and starts everything. On error, whatever was started is stopped.
func Start(ctx context.Context, opts *Options) (_ *Stack, err error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	s := &Stack{opts: o, Dir: o.Dir}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.Dir == "" {
		if s.Dir, err = os.MkdirTemp("", "graphmcp-localstack-"); err != nil {
			return nil, err
		}
		s.ownDir = true
	}
	if o.Persist && o.Dir == "" {
		return nil, errors.New("localstack: Options.Persist needs Options.Dir")
	}
	s.FunctionKey = secret(32)
	if o.Persist {
		err = s.loadOrCreateKeys(filepath.Join(s.Dir, keysFile))
	} else {
		err = s.newKeys()
	}
	if err != nil {
		return nil, err
	}

	// Gateway ports are chosen first: Entra's redirect allow-list names their callbacks. They
	// stay bound from now on, so no other process can take them before the gateways start.
	var redirects []string
	for i := 0; i <= o.ExtraGateways; i++ {
		ln, err := freeport.Listen()
		if i == 0 && o.GatewayPort > 0 {
			if ln, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", o.GatewayPort)); err != nil {
				err = fmt.Errorf("localstack: gateway port %d (Options.GatewayPort): %w; stop what uses it or choose another port", o.GatewayPort, err)
			}
		}
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, func() { ln.Close() }) // no-op once a gateway owns it
		s.gwPorts = append(s.gwPorts, ln)
		redirects = append(redirects, fmt.Sprintf("https://127.0.0.1:%d/oauth-callback", freeport.Port(ln)))
	}

	// The stand-ins, wired as in Azure by devstack: the function's and the gateway's
	// identities (fresh ids) are both federated credentials of the API app.
	do := &devstack.Options{
		Entra:          entra.Options{RedirectURIs: redirects, Users: o.Users, AutoApproveUser: o.AutoApproveUser},
		MoreIdentities: []msi.Identity{{ClientID: uuid.NewString(), PrincipalID: uuid.NewString()}},
	}
	if o.Persist {
		do.Dir = s.Dir // reuse the CA (ca.pem, ca-key.pem)
	}
	if o.EntraPort > 0 {
		do.Entra.Addr = fmt.Sprintf("127.0.0.1:%d", o.EntraPort)
	}
	if o.EntraTokenLifetime > 0 {
		do.Entra.AccessTokenLifetime = time.Duration(o.EntraTokenLifetime) * time.Second
	}
	ds, err := devstack.Start(do)
	if err != nil {
		return nil, fmt.Errorf("localstack: %w", err)
	}
	s.closers = append(s.closers, ds.Close)
	s.CA, s.Entra, s.MSI, s.Graph = ds.CA, ds.Entra, ds.MSI, ds.Graph
	s.FunctionIdentity, s.APIMIdentity = ds.Identity, do.MoreIdentities[0]
	s.caFile = filepath.Join(s.Dir, "ca.pem")
	if err = s.CA.WriteCertFile(s.caFile); err != nil {
		return nil, err
	}

	// The handler first, on a port it is retried on until it binds it (handlerproc); then the
	// host stand-in, pointing at wherever the handler ended up.
	gw0 := fmt.Sprintf("https://127.0.0.1:%d", freeport.Port(s.gwPorts[0]))
	env := map[string]string{
		"AZURE_TENANT_ID":           s.Entra.TenantID(),
		"ENTRA_APP_CLIENT_ID":       s.Entra.APIClientID(),
		"AZURE_CLIENT_ID":           s.FunctionIdentity.ClientID,
		"ENTRA_AUTHORITY_HOST":      s.Entra.URL() + "/",
		"GRAPH_ENDPOINT":            s.Graph.URL(),
		"MCP_RESOURCE_METADATA_URL": gw0 + "/.well-known/oauth-protected-resource/mcp",
		"IDENTITY_ENDPOINT":         s.MSI.Endpoint(),
		"IDENTITY_HEADER":           s.MSI.Header(),
		"SSL_CERT_FILE":             s.caFile,
		"STATE_FILE":                filepath.Join(s.Dir, "state.db"),
		"LOG_LEVEL":                 "debug",
	}
	o.Handler.addEnv(env)
	if err = s.startHostAndHandler(env); err != nil {
		return nil, err
	}
	if s.Gateway, err = s.StartGateway(ctx, o.Gateway); err != nil {
		return nil, err
	}
	return s, nil
}

// StartGateway starts another emulator over the same backends with its own knobs, on one of
// the ports reserved by Options.ExtraGateways (the emulator takes over the reserved listener).
// The stack closes it.
func (s *Stack) StartGateway(ctx context.Context, g GatewayOptions) (*apimemu.Gateway, error) {
	s.closeMu.Lock()
	if s.gwNext >= len(s.gwPorts) {
		s.closeMu.Unlock()
		return nil, errors.New("localstack: no reserved gateway port left: raise Options.ExtraGateways")
	}
	ln := s.gwPorts[s.gwNext]
	s.gwNext++
	s.closeMu.Unlock()
	tlsCfg, err := s.CA.ServerTLSConfig("127.0.0.1")
	if err != nil {
		return nil, err
	}
	url := fmt.Sprintf("https://127.0.0.1:%d", freeport.Port(ln))
	gw, err := apimemu.Start(ctx, &apimemu.Options{
		OmitRetryAfterHeader: g.OmitRetryAfterHeader,
		NamedValues:          s.NamedValues(url, g),
		MSIEndpoint:          s.MSI.Endpoint(),
		MSIHeader:            s.MSI.Header(),
		TLS:                  tlsCfg,
		Listener:             ln,
		Stdout:               s.opts.Stdout,
		Stderr:               s.opts.Stderr,
	})
	if err != nil {
		return nil, fmt.Errorf("localstack: APIM emulator: %w", err)
	}
	s.closeMu.Lock()
	s.closers = append(s.closers, func() { gw.Close() })
	s.closeMu.Unlock()
	return gw, nil
}

// NamedValues returns the named values of a gateway served at gatewayURL.
func (s *Stack) NamedValues(gatewayURL string, g GatewayOptions) map[string]string {
	def := func(v, d int) string {
		if v <= 0 {
			v = d
		}
		return strconv.Itoa(v)
	}
	keys := s.Keys
	if len(g.Keys) > 0 {
		keys = g.Keys
	}
	cur, prev := keys[0], keys[0]
	if len(keys) > 1 {
		prev = keys[1]
	}
	return map[string]string{
		"gateway-url":               gatewayURL,
		"mcp-resource-url":          gatewayURL + "/mcp",
		"function-base-url":         cmp.Or(g.FunctionBaseURL, s.Host.URL()),
		"function-key":              s.FunctionKey,
		"entra-authority-host":      s.Entra.URL() + "/",
		"entra-tenant-id":           s.Entra.TenantID(),
		"entra-app-client-id":       s.Entra.APIClientID(),
		"entra-api-scope":           "access_as_user",
		"entra-graph-scopes":        GraphScopes,
		"apim-identity-client-id":   s.APIMIdentity.ClientID,
		"fic-audience":              entra.FICAudience,
		"mcp-token-key-id":          cur.ID,
		"mcp-token-enc-key":         cur.EncBase64(),
		"mcp-token-mac-key":         cur.MACBase64(),
		"mcp-token-prev-key-id":     prev.ID,
		"mcp-token-prev-enc-key":    prev.EncBase64(),
		"mcp-token-prev-mac-key":    prev.MACBase64(),
		"consent-cookie-key":        base64.StdEncoding.EncodeToString(s.CookieKey),
		"mcp-access-token-lifetime": def(g.AccessTokenLifetime, 3600),
		"register-rate-limit-calls": def(g.RegisterRateLimit, 1000),
		"token-rate-limit-calls":    def(g.TokenRateLimit, 1000),
		"mcp-rate-limit-calls":      def(g.MCPRateLimit, 1000),
	}
}

// GatewayURL is the first gateway's origin (https://127.0.0.1:port).
func (s *Stack) GatewayURL() string { return s.Gateway.URL() }

// MCPURL is the MCP endpoint clients connect to.
func (s *Stack) MCPURL() string { return s.Gateway.URL() + "/mcp" }

// CAFile is the PEM file of the local CA (for NODE_EXTRA_CA_CERTS / SSL_CERT_FILE).
func (s *Stack) CAFile() string { return s.caFile }

// Close stops everything, newest first. Safe to call more than once.
func (s *Stack) Close() {
	s.closeMu.Lock()
	closers := s.closers
	s.closers = nil
	s.closeMu.Unlock()
	for i := len(closers) - 1; i >= 0; i-- {
		closers[i]()
	}
	if s.ownDir && s.Dir != "" {
		os.RemoveAll(s.Dir)
	}
}

func secret(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
