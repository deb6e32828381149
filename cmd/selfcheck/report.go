package main

import (
	"fmt"
	"io"
)

// Print writes the pass/fail report and, when everything passed, how to connect a client. It
// returns the number of failed checks.
func Print(w io.Writer, gateway string, results []Result) int {
	failed := 0
	fmt.Fprintf(w, "Self-check of the MCP gateway %s\n\n", gateway)
	for _, r := range results {
		mark := "PASS"
		if !r.Passed {
			mark = "FAIL"
			failed++
		}
		fmt.Fprintf(w, "  %s  %-30s %s\n", mark, r.Name, r.Detail)
	}
	fmt.Fprintln(w)
	mcp := gateway + "/mcp"
	if failed > 0 {
		unreachable := 0
		for _, r := range results {
			if !r.Passed && r.Unreachable {
				unreachable++
			}
		}
		fmt.Fprintf(w, "%d of %d checks failed. The messages above say what differs; infra/README.md (Troubleshooting) lists common causes.\n", failed, len(results))
		if unreachable > 0 {
			fmt.Fprintf(w, "%d of them never reached the gateway (network or DNS of a new deployment, retried with backoff); the deployment itself finished. Rerun the check in a few minutes:\n  go run ./cmd/selfcheck -gateway %s\n", unreachable, gateway)
		}
		fmt.Fprintf(w, "MCP server URL (clients will fail until the checks pass): %s\n", mcp)
		return failed
	}
	fmt.Fprintf(w, `All %d checks passed.

MCP server URL: %s

Connect a client (it discovers the gateway, registers itself and opens the sign-in page):
  VS Code      .vscode/mcp.json: {"servers": {"graph": {"type": "http", "url": "%s"}}}
  Inspector    npx @modelcontextprotocol/inspector  → Transport "Streamable HTTP", URL %s, Connect
  Claude, Cursor: add a remote MCP server with the URL above.
`, len(results), mcp, mcp, mcp)
	return 0
}
