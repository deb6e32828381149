// Package msi is a local stand-in for the App Service / Functions managed-identity
// endpoint (the IDENTITY_ENDPOINT / IDENTITY_HEADER protocol, api-version
// 2019-08-01). Tokens are signed by the [entra.Server] stand-in, so the Entra
// stand-in accepts them as federated client assertions exactly as real Entra
// accepts a user-assigned identity's token for api://AzureADTokenExchange.
//
//	idp, _ := entra.Start(entra.Options{CA: ca, FederatedCredentials: []entra.FederatedCredential{{Subject: uami.PrincipalID}}})
//	mi, _ := msi.Start(msi.Options{Entra: idp, Identities: []msi.Identity{uami}})
//	defer mi.Close()
//	t.Setenv("IDENTITY_ENDPOINT", mi.Endpoint())
//	t.Setenv("IDENTITY_HEADER", mi.Header())
//	cred, _ := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
//		ID: azidentity.ClientID(uami.ClientID)})
//
// The endpoint is plain http on loopback, as on the platform. azidentity (MSAL)
// caches managed-identity tokens process-wide per identity and resource, so
// tests that need a fresh request must use a fresh identity.
package msi

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"example.com/graphmcp/devstack/entra"
	"example.com/graphmcp/devstack/latency"
)

// APIVersion is the only protocol version served.
const APIVersion = "2019-08-01"

// Identity is a user-assigned managed identity.
type Identity struct {
	ClientID    string // the UAMI's client (application) id: what client_id selects
	PrincipalID string // its object id: the token's sub/oid and the FIC subject
}

// Options configures the endpoint.
type Options struct {
	Entra      *entra.Server // signs the tokens; required
	Identities []Identity    // at least one
	Header     string        // the X-IDENTITY-HEADER secret; default random
	Addr       string        // default "127.0.0.1:0"
	Lifetime   time.Duration // token lifetime, default 24h (like the platform)
	// Latency delays every request (benchmarks: the platform endpoint's round trip, e.g. 20 ms).
	Latency time.Duration
}

// Server is a running endpoint.
type Server struct {
	opts  Options
	srv   *http.Server
	url   string
	count atomic.Int64

	faults downState // SetDown
	delay  latency.Delay
}

// Start listens and serves GET /msi/token until Close.
func Start(opts Options) (*Server, error) {
	if opts.Entra == nil {
		return nil, errors.New("msi: Options.Entra is required (it signs the tokens)")
	}
	if len(opts.Identities) == 0 {
		return nil, errors.New("msi: Options.Identities needs at least one identity")
	}
	for i, id := range opts.Identities {
		if id.ClientID == "" || id.PrincipalID == "" {
			return nil, fmt.Errorf("msi: Options.Identities[%d] needs ClientID and PrincipalID", i)
		}
	}
	if opts.Header == "" {
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		opts.Header = base64.RawURLEncoding.EncodeToString(b)
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Lifetime <= 0 {
		opts.Lifetime = 24 * time.Hour
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("msi: listen on %s: %w", opts.Addr, err)
	}
	s := &Server{opts: opts, url: "http://" + ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("/msi/token", s.handleToken)
	s.delay.Set(opts.Latency)
	s.srv = &http.Server{Handler: s.delay.Wrap(mux), ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the endpoint.
func (s *Server) Close() {
	// Close, not Shutdown: a graceful HTTP/2 shutdown waits for clients to
	// hang up, which only slows tests down.
	_ = s.srv.Close()
}

// SetLatency changes the delay added to every request (0 = none).
func (s *Server) SetLatency(d time.Duration) { s.delay.Set(d) }

// Endpoint is the value for IDENTITY_ENDPOINT.
func (s *Server) Endpoint() string { return s.url + "/msi/token" }

// Header is the value for IDENTITY_HEADER.
func (s *Server) Header() string { return s.opts.Header }

// Count is the number of token requests received (any outcome).
func (s *Server) Count() int64 { return s.count.Load() }

// ResetCount zeroes Count.
func (s *Server) ResetCount() { s.count.Store(0) }

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.count.Add(1)
	s.dropIfDown()
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "invalid_request", "Only GET is supported.")
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-IDENTITY-HEADER")), []byte(s.opts.Header)) != 1 {
		writeError(w, http.StatusUnauthorized, "unauthorized", "Missing or invalid X-IDENTITY-HEADER: send the value of IDENTITY_HEADER.")
		return
	}
	q := r.URL.Query()
	if v := q.Get("api-version"); v != APIVersion {
		writeError(w, http.StatusBadRequest, "invalid_request", "Unsupported api-version '"+v+"'; this endpoint serves "+APIVersion+".")
		return
	}
	resource := strings.TrimSuffix(q.Get("resource"), "/.default")
	if resource == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "Required query parameter 'resource' is missing.")
		return
	}
	id, msg := s.pick(q.Get("client_id"), firstNonEmpty(q.Get("principal_id"), q.Get("object_id")), q.Get("mi_res_id"))
	if msg != "" {
		writeError(w, http.StatusBadRequest, "invalid_request", msg)
		return
	}
	expires := s.opts.Entra.TokenClock().Add(s.opts.Lifetime)
	tok := s.opts.Entra.SignMI(id.PrincipalID, id.ClientID, resource, s.opts.Lifetime)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"access_token": tok,
		"expires_on":   strconv.FormatInt(expires.Unix(), 10),
		"resource":     resource,
		"token_type":   "Bearer",
		"client_id":    id.ClientID,
	})
}

// pick selects the identity the request names.
func (s *Server) pick(clientID, principalID, resID string) (Identity, string) {
	switch {
	case resID != "":
		return Identity{}, "mi_res_id is not supported by this stand-in; select the identity with client_id."
	case clientID != "" && principalID != "":
		return Identity{}, "Send only one of client_id and principal_id/object_id."
	case clientID != "":
		for _, id := range s.opts.Identities {
			if strings.EqualFold(id.ClientID, clientID) {
				return id, ""
			}
		}
		return Identity{}, "No managed identity with client_id '" + clientID + "' is assigned to this app."
	case principalID != "":
		for _, id := range s.opts.Identities {
			if strings.EqualFold(id.PrincipalID, principalID) {
				return id, ""
			}
		}
		return Identity{}, "No managed identity with principal_id '" + principalID + "' is assigned to this app."
	case len(s.opts.Identities) == 1:
		return s.opts.Identities[0], ""
	default:
		return Identity{}, "Several identities are assigned: select one with client_id."
	}
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"statusCode": status, "error": code, "message": msg})
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
