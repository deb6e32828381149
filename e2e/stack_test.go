package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"example.com/graphmcp/devstack"
	"example.com/graphmcp/devstack/entra"
	"example.com/graphmcp/devstack/graph"
	"example.com/graphmcp/devstack/localca"
	"example.com/graphmcp/devstack/msi"
	"example.com/graphmcp/internal/freeport"
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

// sharedStack builds the stack on first use; later calls return the same stack or error.
var sharedStack = sync.OnceValues(newStack)

// getStack returns the shared stack, failing the test when it could not be built. Every test
// that uses it also checks, when it ends, that the handler has logged no token.
func getStack(t *testing.T) *stack {
	t.Helper()
	s, err := sharedStack()
	if err != nil {
		t.Fatalf("e2e stack: %v", err)
	}
	t.Cleanup(func() { s.assertLogsClean(t) })
	return s
}

func newStack() (*stack, error) {
	s := &stack{functionKey: "e2e-" + uuid.NewString()}
	var err error
	if s.dir, err = os.MkdirTemp("", "graphmcp-e2e-"); err != nil {
		return nil, err
	}
	atExit(func() { os.RemoveAll(s.dir) })
	// The stand-ins wired as in Azure: the function's UAMI (fresh ids) is the API app's
	// federated credential, and Graph accepts the tokens Entra issues.
	ds, err := devstack.Start(nil)
	if err != nil {
		return nil, fmt.Errorf("stand-ins: %w", err)
	}
	atExit(ds.Close)
	s.ca, s.entra, s.msi, s.graph, s.uami = ds.CA, ds.Entra, ds.MSI, ds.Graph, ds.Identity
	caFile := filepath.Join(s.dir, "ca.pem")
	if err := s.ca.WriteCertFile(caFile); err != nil {
		return nil, err
	}

	// The handler's port is chosen first so that the host stand-in can point at it and the
	// PRM URL can name the host stand-in (a loopback http URL, allowed by the handler). The
	// handler binds that port itself, so if another process takes it first both are started
	// again on a new port (freeport.Retry).
	_, err = freeport.Retry(func(port int) error { return s.startHostAndHandler(port, caFile) })
	if err != nil {
		return nil, err
	}
	return s, nil
}

// startHostAndHandler starts the host stand-in in front of port and the handler on it; on
// error it stops what it started.
func (s *stack) startHostAndHandler(port int, caFile string) error {
	host, err := funchost.Start(&funchost.Options{
		Backend:      fmt.Sprintf("http://127.0.0.1:%d", port),
		PublicHost:   publicHost,
		FunctionKeys: []string{s.functionKey},
	})
	if err != nil {
		return err
	}
	handler, err := handlerproc.StartProcess(&handlerproc.Options{Env: map[string]string{
		"FUNCTIONS_CUSTOMHANDLER_PORT": fmt.Sprint(port),
		"AZURE_TENANT_ID":              s.entra.TenantID(),
		"ENTRA_APP_CLIENT_ID":          s.entra.APIClientID(),
		"AZURE_CLIENT_ID":              s.uami.ClientID,
		"ENTRA_AUTHORITY_HOST":         s.entra.URL() + "/",
		"GRAPH_ENDPOINT":               s.graph.URL(),
		"MCP_RESOURCE_METADATA_URL":    host.URL() + "/.well-known/oauth-protected-resource/mcp",
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
	if err != nil {
		if handler != nil {
			handler.Stop()
		}
		host.Close()
		return fmt.Errorf("handler: %w", err)
	}
	s.host, s.handler = host, handler
	atExit(host.Close)
	atExit(func() { handler.Stop() })
	return nil
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
