package e2e

import (
	"encoding/json"
	"testing"
)

// Inspector CLI exit codes (@modelcontextprotocol/inspector 2.12.0, facts mcp-auth.md §7).
const (
	inspectorOK           = 0
	inspectorUsage        = 1
	inspectorAuthRequired = 3 // the server answered 401/403
	inspectorUnreachable  = 4
	inspectorToolError    = 5
)

// inspector runs `mcp-inspector --cli <url> --transport http --format json` with the bearer
// token (if any) as an Authorization header and the given method arguments. The token is on
// the command line of a short-lived local process only; it is never printed.
func inspector(t *testing.T, url, token string, args ...string) nodeRun {
	t.Helper()
	full := []string{"--cli", url, "--transport", "http", "--format", "json"}
	if token != "" {
		full = append(full, "--header", "Authorization: Bearer "+token)
	}
	full = append(full, args...)
	// MCP_INSPECTOR_SECRET_STORE=memory: nothing persisted; no MCP_AUTO_OPEN_ENABLED and no TTY,
	// so an auth challenge ends the run with exit code 3 instead of waiting for a browser.
	return runNode(t, "mcp-inspector", []string{"MCP_INSPECTOR_SECRET_STORE=memory"}, full...)
}

// inspectorJSON runs the Inspector, requires exit code 0 and decodes its JSON stdout.
func inspectorJSON(t *testing.T, url, token string, out any, args ...string) {
	t.Helper()
	r := inspector(t, url, token, args...)
	if r.Code != inspectorOK {
		t.Fatalf("inspector %v: exit %d\nstderr: %s\nstdout: %s", args, r.Code, redact(r.Stderr, token), redact(string(r.Stdout), token))
	}
	if err := json.Unmarshal(r.Stdout, out); err != nil {
		t.Fatalf("inspector %v: stdout is not the expected JSON (%v): %s", args, err, redact(string(r.Stdout), token))
	}
}
