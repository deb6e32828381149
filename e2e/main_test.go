// Package e2e holds black-box tests of the handler binary with real MCP clients: the go-sdk
// client, the MCP Inspector CLI and the MCP conformance suite (Node 22, from e2e/node_modules),
// talking to the handler through a stand-in for the Azure Functions host (internal/funchost),
// with the Entra, managed-identity and Graph stand-ins from devstack behind it.
//
// The package has only test files; its Node helpers are inject-bearer.mjs (adds the bearer
// token to the conformance suite's requests) and undici-bearer.mjs (the same for its undici
// requests). Run with `go test ./e2e` after `npm ci --prefix e2e`.
package e2e

import (
	"os"
	"sync"
	"testing"

	"example.com/graphmcp/internal/handlerproc"
)

var exitMu sync.Mutex
var exitFuncs []func()

// atExit registers cleanup for fixtures shared by the whole test binary; TestMain runs them
// newest first after all tests.
func atExit(f func()) {
	exitMu.Lock()
	defer exitMu.Unlock()
	exitFuncs = append(exitFuncs, f)
}

func TestMain(m *testing.M) {
	code := m.Run()
	exitMu.Lock()
	for i := len(exitFuncs) - 1; i >= 0; i-- {
		exitFuncs[i]()
	}
	exitMu.Unlock()
	handlerproc.RemoveBuild()
	os.Exit(code)
}
