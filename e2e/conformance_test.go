package e2e

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"example.com/graphmcp/internal/testdeps"
)

// conformance runs one server scenario of @modelcontextprotocol/conformance (server mode has no
// auth option, so inject-bearer.mjs adds the token to every fetch to the server's origin).
// The suite exits 0 when every check of the scenario passed.
func conformance(t *testing.T, mcpURL, token, scenario string) nodeRun {
	t.Helper()
	env := []string{}
	if token != "" {
		u, err := url.Parse(mcpURL)
		if err != nil {
			t.Fatal(err)
		}
		preload := filepath.Join(testdeps.RepoRoot(t), "e2e", "inject-bearer.mjs")
		env = append(env,
			"NODE_OPTIONS=--import "+preload,
			"MCP_BEARER_TOKEN="+token,
			"MCP_BEARER_ORIGIN="+u.Scheme+"://"+u.Host,
		)
	}
	return runNode(t, "conformance", env, "server", "--url", mcpURL, "--scenario", scenario)
}

// summaryRE matches the suite's result line, e.g. "Passed: 2/2, 0 failed, 0 warnings".
var summaryRE = regexp.MustCompile(`Passed: (\d+)/(\d+), (\d+) failed`)

// conformancePassed requires exit code 0 and a summary with at least one check, all passed:
// a scenario that checks nothing (0/0) proves nothing and counts as a failure here.
func conformancePassed(r nodeRun) error {
	m := summaryRE.FindSubmatch(r.Stdout)
	if m == nil {
		return fmt.Errorf("exit %d and no result summary", r.Code)
	}
	passed, _ := strconv.Atoi(string(m[1]))
	total, _ := strconv.Atoi(string(m[2]))
	failed, _ := strconv.Atoi(string(m[3]))
	if r.Code != 0 || total == 0 || passed != total || failed != 0 {
		return fmt.Errorf("exit %d, passed %d/%d, %d failed", r.Code, passed, total, failed)
	}
	return nil
}
