// Package server assembles the handler's HTTP server from a validated configuration: token
// verifier → OBO client (MSAL, managed-identity assertion) → Graph client → tools → MCP endpoint
// → routes with request logging. main uses it, and so do the integration tests and benchmarks,
// which thereby exercise exactly the production wiring.
//
//	s, err := server.New(cfg, logger, nil)
//	ln, _ := net.Listen("tcp", s.Addr())
//	go s.Serve(ln)
//	defer s.Shutdown(ctx)
package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"example.com/graphmcp/handler/config"
	"example.com/graphmcp/handler/graph"
	"example.com/graphmcp/handler/graphtools"
	"example.com/graphmcp/handler/logging"
	"example.com/graphmcp/handler/mcpserver"
	"example.com/graphmcp/handler/obo"
	"example.com/graphmcp/handler/tokenverify"
)

// Options holds what production takes from the environment and tests replace. nil = defaults.
type Options struct {
	// HTTPClient is used for Entra, the managed-identity endpoint and Graph. Default: one
	// keep-alive pool (HTTP/2 where offered) with the system roots.
	HTTPClient *http.Client
	// Internal is mounted at /internal/ (the state service); nil = not served.
	Internal http.Handler
	// Tools overrides graphtools.Tools().
	Tools []graphtools.Tool
	// GraphMaxRetries overrides the Graph client's retry count (tests keep it small).
	GraphMaxRetries int
	// Version is reported in serverInfo.
	Version string
}

// Server is the assembled handler.
type Server struct {
	Verifier *tokenverify.Verifier
	OBO      *obo.Client
	Handler  http.Handler // the full mux with logging: what the listener serves
	addr     string
	http     *http.Server
	warmed   chan struct{}
	jwksSent <-chan struct{}
}

// Warmed is closed when the background warm-up started by [New] (MSAL's endpoint discovery, the
// client assertion, the Graph connection; not the JWKS fetch) has ended, successfully or not.
// Nothing needs to wait for it; tests use it to tell cold from warm.
func (s *Server) Warmed() <-chan struct{} { return s.warmed }

// JWKSRequested is closed once the JWKS request started by [New] has been written to Entra (or
// has failed): the handler is not ready without the keys, so other start-up work that competes
// for the CPU (the warm-up, main's state store) begins after it, without awaiting the answer.
func (s *Server) JWKSRequested() <-chan struct{} { return s.jwksSent }

// New wires the handler. It makes no network call itself; it starts the JWKS fetch and the
// warm-up in the background (see [Server.Warmed]): MSAL's endpoint discovery, the
// managed-identity client assertion and the connection to Graph, so that the first tools/call
// waits only for its OBO exchange and Graph.
func New(cfg config.Config, logger *slog.Logger, opts *Options) (*Server, error) {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if o.HTTPClient == nil {
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.MaxIdleConnsPerHost = 64
		o.HTTPClient = &http.Client{Transport: transport}
	}
	if o.Tools == nil {
		o.Tools = graphtools.Tools()
	}

	verifierClient := *o.HTTPClient
	verifierClient.Timeout = 15 * time.Second
	verifier, err := tokenverify.New(&tokenverify.Options{
		TenantID: cfg.TenantID, ClientID: cfg.AppClientID, APIScope: cfg.APIScope,
		AuthorityHost: cfg.AuthorityHost, V1IssuerHost: cfg.V1IssuerHost,
		HTTPClient: &verifierClient, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	jwksSent := verifier.Prefetch(context.Background())

	// azidentity reads IDENTITY_ENDPOINT/IDENTITY_HEADER itself; the UAMI needs its client id.
	mi, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
		ID: azidentity.ClientID(cfg.ManagedIdentityID), ClientOptions: azcore.ClientOptions{Transport: o.HTTPClient},
	})
	if err != nil {
		return nil, err
	}
	oboClient, err := obo.New(&obo.Options{
		Authority: cfg.Authority(), ClientID: cfg.AppClientID, HTTPClient: o.HTTPClient,
		Assertion: obo.ManagedIdentityAssertion(mi, cfg.FICAudience),
	})
	if err != nil {
		return nil, err
	}
	graphClient, err := graph.New(&graph.Options{
		Endpoint: cfg.GraphEndpoint, HTTPClient: o.HTTPClient,
		MaxRetryWait: cfg.GraphMaxRetryWait, MaxRetries: o.GraphMaxRetries,
	})
	if err != nil {
		return nil, err
	}
	mcpHandler, err := mcpserver.New(&mcpserver.Options{
		Tools: o.Tools,
		Deps: &graphtools.Deps{OBO: oboClient, Graph: graphClient, GraphResource: cfg.GraphResource, Logger: logger,
			ConsentURL: (&obo.ConsentPage{Authority: cfg.Authority(), ClientID: cfg.AppClientID,
				RedirectURI: cfg.GatewayCallbackURL(), APIScope: cfg.APIScopeURI()}).URL},
		Verifier: verifier, ResourceMetadataURL: cfg.ResourceMetadata, Scope: cfg.APIScopeURI(),
		AllowedHosts: cfg.AllowedHosts, Version: o.Version, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	h := logging.Middleware(logger, mcpserver.NewMux(mcpHandler, o.Internal, logger))
	warmed := make(chan struct{})
	go func() {
		defer close(warmed)
		// The JWKS request goes first: until it is written, the warm-up's three connections
		// would compete with it for the CPU (and for the system roots' first parse), and the
		// handler is not ready without the keys. Its answer is not awaited: the warm-up must
		// overlap Entra's round trip, or the first tools/call would wait for both.
		<-jwksSent
		ctx, cancel := context.WithTimeout(context.Background(), obo.RequestTimeout)
		defer cancel()
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := graphClient.Warm(ctx); err != nil {
				logger.Warn("warm-up: Graph is not reachable yet; the first tool call retries", logging.Err(err))
			}
		})
		// On this goroutine, so that on a busy CPU MSAL's endpoint discovery is written before
		// the Graph connection's handshake runs: the first tools/call needs it, and Entra is
		// the slowest of the three round trips.
		if err := oboClient.Warm(ctx); err != nil {
			logger.Warn("warm-up: OBO endpoint discovery or client assertion failed; the first tool call retries", logging.Err(err))
		}
		wg.Wait()
	}()
	return &Server{
		warmed:   warmed,
		jwksSent: jwksSent,
		Verifier: verifier,
		OBO:      oboClient,
		Handler:  h,
		addr:     net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port)),
		http: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       120 * time.Second,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		},
	}, nil
}

// Addr is the listen address from the configuration: 127.0.0.1:<port>, never a public interface.
func (s *Server) Addr() string { return s.addr }

// Serve serves on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.http.Serve(ln) }

// Shutdown stops accepting and waits for in-flight requests until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error { return s.http.Shutdown(ctx) }
