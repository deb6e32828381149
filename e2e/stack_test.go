package e2e

import (
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"example.com/graphmcp/devstack/entra"
	"example.com/graphmcp/devstack/graph"
	"example.com/graphmcp/devstack/localca"
	"example.com/graphmcp/devstack/msi"
	"example.com/graphmcp/internal/funchost"
	"example.com/graphmcp/internal/handlerproc"
)

// publicHost is the app's public name as the Functions front end would see it; the stand-in
// host forwards it to the handler on 127.0.0.1 unchanged (facts §2, §6).
const publicHost = "myapp.azurewebsites.net"

// stack is everything the end-to-end tests talk to: the Entra, managed-identity and Graph
// stand-ins, the real handler binary as a subprocess, and the Functions-host stand-in in
// front of it. One stack serves the whole test binary (built on first use, torn down in
// TestMain), so the handler is built and started once.
type stack struct {
	dir     string
	ca      *localca.CA
	entra   *entra.Server
	msi     *msi.Server
	graph   *graph.Server
	handler *handlerproc.Process
	host    *funchost.Server

	functionKey string
	uami        msi.Identity
}

var (
	sharedOnce sync.Once
	shared     *stack
	sharedErr  error
)

// getStack returns the shared stack, failing the test when it could not be built. Every test
// that uses it also checks, when it ends, that the handler has logged no token.
func getStack(t *testing.T) *stack {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = newStack() })
	if sharedErr != nil {
		t.Fatalf("e2e stack: %v", sharedErr)
	}
	t.Cleanup(func() { shared.assertLogsClean(t) })
	return shared
}

// freePort asks the kernel for a free loopback port for the handler.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func newGUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func newStack() (*stack, error) {
	s := &stack{functionKey: "e2e-" + newGUID(), uami: msi.Identity{ClientID: newGUID(), PrincipalID: newGUID()}}
	var err error
	if s.dir, err = os.MkdirTemp("", "graphmcp-e2e-"); err != nil {
		return nil, err
	}
	atExit(func() { os.RemoveAll(s.dir) })
	if s.ca, err = localca.New(); err != nil {
		return nil, fmt.Errorf("local CA: %w", err)
	}
	caFile := filepath.Join(s.dir, "ca.pem")
	if err := s.ca.WriteCertFile(caFile); err != nil {
		return nil, err
	}
	s.entra, err = entra.Start(entra.Options{
		CA:                   s.ca,
		FederatedCredentials: []entra.FederatedCredential{{Subject: s.uami.PrincipalID}},
	})
	if err != nil {
		return nil, fmt.Errorf("entra stand-in: %w", err)
	}
	atExit(s.entra.Close)
	if s.msi, err = msi.Start(msi.Options{Entra: s.entra, Identities: []msi.Identity{s.uami}}); err != nil {
		return nil, fmt.Errorf("msi stand-in: %w", err)
	}
	atExit(s.msi.Close)
	if s.graph, err = graph.Start(graph.Options{Entra: s.entra, CA: s.ca}); err != nil {
		return nil, fmt.Errorf("graph stand-in: %w", err)
	}
	atExit(s.graph.Close)

	// The handler's port is chosen first so that the host stand-in can point at it and the
	// PRM URL can name the host stand-in (a loopback http URL, allowed by the handler).
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s.host, err = funchost.Start(&funchost.Options{
		Backend:      fmt.Sprintf("http://127.0.0.1:%d", port),
		PublicHost:   publicHost,
		FunctionKeys: []string{s.functionKey},
	})
	if err != nil {
		return nil, err
	}
	atExit(s.host.Close)

	s.handler, err = handlerproc.StartProcess(&handlerproc.Options{Env: map[string]string{
		"FUNCTIONS_CUSTOMHANDLER_PORT": fmt.Sprint(port),
		"AZURE_TENANT_ID":              s.entra.TenantID(),
		"ENTRA_APP_CLIENT_ID":          s.entra.APIClientID(),
		"AZURE_CLIENT_ID":              s.uami.ClientID,
		"ENTRA_AUTHORITY_HOST":         s.entra.URL() + "/",
		"GRAPH_ENDPOINT":               s.graph.URL(),
		"MCP_RESOURCE_METADATA_URL":    s.host.URL() + "/.well-known/oauth-protected-resource/mcp",
		// The handler checks Host itself (go-sdk's localhost guard is off): the public name
		// and the loopback names used when a test talks to it directly.
		"MCP_ALLOWED_HOSTS": publicHost + ",127.0.0.1,localhost",
		"WEBSITE_HOSTNAME":  publicHost,
		"IDENTITY_ENDPOINT": s.msi.Endpoint(),
		"IDENTITY_HEADER":   s.msi.Header(),
		"SSL_CERT_FILE":     caFile,  // trust the stand-ins' CA, nothing else
		"LOG_LEVEL":         "debug", // the most log lines to search for leaked tokens
		"STATE_FILE":        filepath.Join(s.dir, "state.db"),
	}})
	if s.handler != nil {
		atExit(func() { s.handler.Stop() })
	}
	if err != nil {
		return nil, fmt.Errorf("handler: %w", err)
	}
	return s, nil
}

// mcpURL is the public MCP endpoint through the host stand-in (no key: pass it as a header).
func (s *stack) mcpURL() string { return s.host.URL() + "/mcp" }

// mcpURLWithCode carries the function key as the `code` query parameter, for clients that
// cannot add headers (the conformance suite).
func (s *stack) mcpURLWithCode() string { return s.mcpURL() + "?code=" + s.functionKey }

// directURL is the handler's own /mcp on loopback, bypassing the host stand-in.
func (s *stack) directURL() string { return s.handler.URL() + "/mcp" }

// token returns a valid access token for our API for the user (v2, scp=access_as_user).
func (s *stack) token(t *testing.T, upn string, opt *entra.TokenOptions) string {
	t.Helper()
	tok, err := s.entra.UserToken(upn, opt)
	if err != nil {
		t.Fatal(err)
	}
	issued.Lock()
	issued.tokens = append(issued.tokens, tok)
	issued.Unlock()
	return tok
}

// issued remembers every token handed out, to search the handler's logs for them.
var issued struct {
	sync.Mutex
	tokens []string
}

// assertLogsClean checks the handler's stdout and stderr for any issued token, the function
// key, the identity header, and anything shaped like a JWT.
func (s *stack) assertLogsClean(t *testing.T) {
	t.Helper()
	issued.Lock()
	secrets := append([]string{s.functionKey, s.msi.Header()}, issued.tokens...)
	issued.Unlock()
	assertNoSecrets(t, "handler stdout", s.handler.Stdout(), secrets...)
	assertNoSecrets(t, "handler stderr", strings.Split(s.handler.Stderr(), "\n"), secrets...)
	if len(s.handler.Records(t)) == 0 { // Records also requires every stdout line to be JSON
		t.Error("the handler logged nothing: the secret check above would be vacuous")
	}
}
