package main

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"example.com/graphmcp/internal/localstack"
)

// printBanner tells a person, one fact per line, how to use the running stack. The first line
// is what scripts and the test wait for. The passwords are the Entra stand-in's fixed dev
// passwords (devstack/entra.DefaultUsers), not secrets.
func printBanner(w io.Writer, st *localstack.Stack, logDir string) {
	ca := st.CAFile()
	fmt.Fprintf(w, "MCP endpoint: %s\n", st.MCPURL())
	for _, u := range st.Entra.Users() {
		roles := "no app role"
		if len(u.Roles) > 0 {
			roles = "app role " + strings.Join(u.Roles, ", ")
		}
		fmt.Fprintf(w, "Sign-in user: %s  password: %s  (%s; %s)\n", u.UserPrincipalName, u.Password, u.DisplayName, roles)
	}
	fmt.Fprintf(w, "Local CA: %s\n", ca)
	fmt.Fprintf(w, "Trust it in Node-based clients (MCP Inspector, Claude Code): NODE_EXTRA_CA_CERTS=%s\n", ca)
	fmt.Fprintf(w, "Trust it in Go, Python, curl and other OpenSSL clients: SSL_CERT_FILE=%s\n", ca)
	fmt.Fprintf(w, "Browser: the consent page (%s) and the sign-in page (%s) use the local CA: "+
		"import %s as a trusted certificate authority (README: Connect a client)\n",
		st.GatewayURL(), origin(st.Entra.URL()), ca)
	if e2e := filepath.Join(repoRoot(), "e2e"); exists(filepath.Join(e2e, "node_modules", ".bin", "mcp-inspector")) {
		fmt.Fprintf(w, "MCP Inspector: NODE_EXTRA_CA_CERTS=%s npx --prefix %s mcp-inspector  (transport Streamable HTTP, URL above)\n", ca, e2e)
	}
	fmt.Fprintf(w, "Logs: %s (handler.log, gateway.log)\n", logDir)
	fmt.Fprintln(w, "Ready. Press Ctrl-C to stop; state is kept in", filepath.Dir(ca))
}

func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Scheme + "://" + u.Host
}

// repoRoot is the checkout this program was built from (`make dev` builds it from source).
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
