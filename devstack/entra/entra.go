// Package entra is a local stand-in for Microsoft Entra ID (the v2.0 endpoints of
// one tenant), faithful enough that MSAL Go, azidentity, the handler and the APIM
// emulator use it unmodified.
//
// It serves, over HTTPS with a certificate from a [localca.CA]:
//
//	GET  /{tid}/v2.0/.well-known/openid-configuration   OIDC discovery
//	GET  /{tid}/discovery/v2.0/keys                      JWKS (RS256, rollover on demand)
//	GET  /{tid}/oauth2/v2.0/authorize                    sign-in page (or auto-approve)
//	POST /{tid}/oauth2/v2.0/authorize                    the page's form
//	POST /{tid}/oauth2/v2.0/token                        authorization_code+PKCE, refresh_token, OBO
//
// Every token request must authenticate the client the secretless way our design
// uses: a client_assertion that is a managed-identity token (from package msi,
// signed by this server) matching a configured [FederatedCredential]. Secrets are
// refused. Errors carry Entra's shape (error, "AADSTSnnnn: …" descriptions,
// error_codes, suberror), so error handling written against this server works
// against the real one.
//
// A test typically does:
//
//	ca, _ := localca.New()
//	idp, _ := entra.Start(entra.Options{CA: ca, APIClientID: appID})
//	defer idp.Close()
//	tok, _ := idp.UserToken("adele@contoso.test", nil) // a valid access token for our API
//	// point the code under test at idp.URL() (authority host), idp.JWKSURL(), ...
//
// Simplifications, on purpose: one tenant, one app registration (ours), users
// and consent held in memory, no sessions or cookies on the sign-in page.
package entra

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"example.com/graphmcp/devstack/latency"
	"example.com/graphmcp/devstack/localca"
)

// DefaultTenantID is the tenant used when Options.TenantID is empty.
const DefaultTenantID = "8c3b3f5e-5a1d-4b7e-9c55-0d7d1a6f2e10"

// DefaultAPIClientID is used when Options.APIClientID is empty.
const DefaultAPIClientID = "5d3a1c9e-2f4b-4e8a-b1c7-6a9e0f2d4b81"

// FICAudience is the audience a managed-identity token must carry to be used as
// a federated client assertion in the public cloud.
const FICAudience = "api://AzureADTokenExchange"

// GraphAppID is Microsoft Graph's well-known application id; Graph tokens may
// carry it as aud instead of the resource URI.
const GraphAppID = "00000003-0000-0000-c000-000000000000"

// User is a directory user of the stand-in tenant.
type User struct {
	ObjectID, UserPrincipalName, DisplayName, GivenName, Surname, Mail, JobTitle, Password string
	// Roles are app roles of our API app the user holds (they go into the `roles` claim).
	Roles []string
	// GraphConsent lists the Graph delegated scopes the user has consented to for
	// our app, e.g. "User.Read". OBO succeeds only for these.
	GraphConsent []string
}

// FederatedCredential mirrors a federated identity credential on our app
// registration: a client assertion is accepted when its iss, sub and aud match.
type FederatedCredential struct {
	// Issuer defaults to the server's IssuerV2() (which is unknown before Start
	// when Addr ends in :0).
	Issuer string
	// Subject is the managed identity's principal (object) id. Required.
	Subject string
	// Audience defaults to FICAudience.
	Audience string
}

// Options configures the stand-in. The zero value works for tests that only
// need signed tokens; token endpoint tests need CA and FederatedCredentials.
type Options struct {
	TenantID string // default DefaultTenantID
	Addr     string // listen address, default "127.0.0.1:0"
	// Latency delays every request by this much (benchmarks: Entra's round trip, e.g. 80 ms).
	// Default none; SetLatency changes it while running.
	Latency time.Duration
	// CA issues the server certificate. Required: MSAL refuses http authorities.
	CA *localca.CA
	// APIClientID is our app registration: the audience of user tokens and the only
	// client allowed at /authorize and /token. Default DefaultAPIClientID.
	APIClientID string
	// APIDisplayName appears in consent errors. Default "graphmcp (devstack)".
	APIDisplayName string
	// APIScope is the delegated scope our app exposes. Default "access_as_user".
	APIScope string
	// RedirectURIs is the allow-list for /authorize and code redemption (exact match).
	RedirectURIs []string
	// FederatedCredentials authenticate the client at /token; nothing else does.
	FederatedCredentials []FederatedCredential
	// Users default to DefaultUsers().
	Users []User
	// AutoApproveUser, if set, makes /authorize sign in this UPN without a page.
	AutoApproveUser string
	// AccessTokenLifetime defaults to 1h. MSAL refuses tokens with less than
	// 5 min left, so use RefreshIn, not a short lifetime, to exercise refresh.
	AccessTokenLifetime time.Duration
	// RefreshIn, if > 0, is sent as refresh_in in whole seconds, rounded down:
	// MSAL refreshes proactively once it passes. time.Nanosecond gives
	// refresh_in=0, so MSAL redeems its refresh token on the very next call.
	RefreshIn time.Duration
	// TokenVersion (1 or 2, default 2) selects the form of tokens for our API:
	// v2 has aud=APIClientID and iss=IssuerV2; v1 aud="api://"+APIClientID and iss=IssuerV1.
	TokenVersion int
	// GraphResource is the audience of OBO tokens. Default "https://graph.microsoft.com".
	GraphResource string
	// Now is the clock; tests may move it. Default time.Now.
	Now func() time.Time

	// PublicClientID is the app registration of local (stdio) mode, a public client: no client
	// authentication, http loopback redirect URIs on any port (RFC 8252), the device-code
	// grant, Graph scopes only (publicclient.go). Default DefaultPublicClientID.
	PublicClientID string
	// DeviceCodeLifetime bounds a device code (default 15 min); DeviceCodeInterval is the
	// polling interval clients must keep, faster polls get slow_down (default 1 s).
	DeviceCodeLifetime, DeviceCodeInterval time.Duration
}

// Server is a running stand-in. All methods are safe for concurrent use.
type Server struct {
	opts   Options
	url    string
	ln     net.Listener
	srv    *http.Server
	keys   *keyring
	counts counters
	delay  latency.Delay

	faults faultState // SetTokenFault

	mu      sync.Mutex
	users   map[string]*User // by lower-case UPN
	fics    []FederatedCredential
	codes   map[string]*authCode
	refresh map[string]*grant

	pub publicState // the public client's consent, device codes and counters
}

// Start listens on opts.Addr and serves until Close.
func Start(opts Options) (*Server, error) {
	if opts.CA == nil {
		return nil, errors.New("entra: Options.CA is required (MSAL only talks to https authorities); create one with localca.New")
	}
	if opts.TenantID == "" {
		opts.TenantID = DefaultTenantID
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.APIClientID == "" {
		opts.APIClientID = DefaultAPIClientID
	}
	if opts.APIDisplayName == "" {
		opts.APIDisplayName = "graphmcp (devstack)"
	}
	if opts.APIScope == "" {
		opts.APIScope = "access_as_user"
	}
	if opts.Users == nil {
		opts.Users = DefaultUsers()
	}
	if opts.AccessTokenLifetime <= 0 {
		opts.AccessTokenLifetime = time.Hour
	}
	switch opts.TokenVersion {
	case 0:
		opts.TokenVersion = 2
	case 1, 2:
	default:
		return nil, fmt.Errorf("entra: Options.TokenVersion must be 1 or 2, got %d", opts.TokenVersion)
	}
	if opts.GraphResource == "" {
		opts.GraphResource = "https://graph.microsoft.com"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	publicDefaults(&opts)
	s := &Server{
		opts:    opts,
		users:   map[string]*User{},
		codes:   map[string]*authCode{},
		refresh: map[string]*grant{},
	}
	for i := range opts.Users {
		u := opts.Users[i] // copy: SetGraphConsent must not mutate the caller's slice
		u.Roles = append([]string(nil), u.Roles...)
		u.GraphConsent = append([]string(nil), u.GraphConsent...)
		if u.UserPrincipalName == "" || u.ObjectID == "" {
			return nil, fmt.Errorf("entra: Options.Users[%d] needs UserPrincipalName and ObjectID", i)
		}
		s.users[lower(u.UserPrincipalName)] = &u
	}
	if opts.AutoApproveUser != "" && s.users[lower(opts.AutoApproveUser)] == nil {
		return nil, fmt.Errorf("entra: Options.AutoApproveUser %q is not one of Options.Users", opts.AutoApproveUser)
	}
	var err error
	if s.keys, err = newKeyring(); err != nil {
		return nil, err
	}
	tlsCfg, err := opts.CA.ServerTLSConfig()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("entra: listen on %s: %w", opts.Addr, err)
	}
	s.ln = ln
	s.delay.Set(opts.Latency)
	s.url = "https://" + ln.Addr().String()
	for _, fc := range opts.FederatedCredentials {
		s.AddFederatedCredential(fc)
	}
	s.srv = &http.Server{
		Handler:           s.delay.Wrap(s.routes()),
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          quietLog(),
	}
	go s.srv.Serve(tls.NewListener(ln, tlsCfg))
	return s, nil
}

// Close stops the server and drops open connections.
func (s *Server) Close() {
	// Close, not Shutdown: a graceful HTTP/2 shutdown waits for clients to
	// hang up, which only slows tests down.
	_ = s.srv.Close()
}

// SetLatency changes the delay added to every request (0 = none).
func (s *Server) SetLatency(d time.Duration) { s.delay.Set(d) }

// URL is the authority host, e.g. "https://127.0.0.1:41234" (ENTRA_AUTHORITY_HOST).
func (s *Server) URL() string { return s.url }

// TenantID is the tenant's id.
func (s *Server) TenantID() string { return s.opts.TenantID }

// APIClientID is our app registration's client id.
func (s *Server) APIClientID() string { return s.opts.APIClientID }

// Authority is URL()+"/"+tenant, what MSAL takes.
func (s *Server) Authority() string { return s.url + "/" + s.opts.TenantID }

// IssuerV2 is the iss of v2 tokens and of the discovery document.
func (s *Server) IssuerV2() string { return s.Authority() + "/v2.0" }

// IssuerV1 is the iss of v1 tokens, in the real form: a JWT iss is just a string,
// so relying parties must accept it although nothing is served there.
func (s *Server) IssuerV1() string { return "https://sts.windows.net/" + s.opts.TenantID + "/" }

// JWKSURL is the jwks_uri.
func (s *Server) JWKSURL() string { return s.Authority() + "/discovery/v2.0/keys" }

// TokenURL is the token_endpoint.
func (s *Server) TokenURL() string { return s.Authority() + "/oauth2/v2.0/token" }

// AuthorizeURL is the authorization_endpoint.
func (s *Server) AuthorizeURL() string { return s.Authority() + "/oauth2/v2.0/authorize" }

// GraphResource is the audience of tokens issued for Graph.
func (s *Server) GraphResource() string { return s.opts.GraphResource }

// AddFederatedCredential trusts one more managed identity as client credential.
func (s *Server) AddFederatedCredential(fc FederatedCredential) {
	if fc.Issuer == "" {
		fc.Issuer = s.IssuerV2()
	}
	if fc.Audience == "" {
		fc.Audience = FICAudience
	}
	s.mu.Lock()
	s.fics = append(s.fics, fc)
	s.mu.Unlock()
}

func (s *Server) now() time.Time { return s.opts.Now() }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	p := "/" + s.opts.TenantID
	mux.HandleFunc("GET "+p+"/v2.0/.well-known/openid-configuration", s.handleDiscovery)
	mux.HandleFunc("GET "+p+"/discovery/v2.0/keys", s.handleJWKS)
	mux.HandleFunc("GET "+p+"/oauth2/v2.0/authorize", s.handleAuthorize)
	mux.HandleFunc("POST "+p+"/oauth2/v2.0/authorize", s.handleAuthorize)
	mux.HandleFunc(p+"/oauth2/v2.0/token", s.handleToken)
	s.publicRoutes(mux, p)
	mux.HandleFunc("/", s.handleUnknown)
	return mux
}

// TokenClock returns the stand-in's current time (Options.Now), for companions
// such as package msi that must report expiry consistently with the tokens.
func (s *Server) TokenClock() time.Time { return s.now() }
