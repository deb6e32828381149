package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"example.com/graphmcp/internal/testdeps"
)

// runChromiumScript runs one of the headless-Chromium scripts of this folder (gateway-consent.mjs,
// pages-design.mjs) on Node 22 with the scenarios as JSON on stdin and env added to its
// environment, and returns its `RESULT {...}` lines by their "name". A scenario the script could
// not run (no result, or an "error" field) fails the test.
func runChromiumScript(t *testing.T, script string, scenarios any, env ...string) map[string]map[string]any {
	t.Helper()
	chromium := testdeps.Tool(t, "chromium")
	in, err := json.Marshal(scenarios)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testdeps.Node22(t), script)
	cmd.Dir = filepath.Join(testdeps.RepoRoot(t), "e2e")
	cmd.Env = append(append(testdeps.Node22Env(t), "CHROMIUM="+chromium, "HOME="+t.TempDir()), env...)
	cmd.Stdin = strings.NewReader(string(in))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, redact(stderr.String()))
	}
	results := map[string]map[string]any{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "RESULT ") {
			m := map[string]any{}
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "RESULT ")), &m); err != nil {
				t.Fatal(err)
			}
			results[m["name"].(string)] = m
		}
	}
	var names []struct {
		Name string `json:"name"`
	}
	json.Unmarshal(in, &names)
	for _, s := range names {
		if r := results[s.Name]; r == nil || r["error"] != nil {
			t.Fatalf("%s: %s: no result or script error: %v", script, s.Name, r)
		}
	}
	return results
}
