package e2e

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/graphmcp/internal/testdeps"
)

// nodeRun is the outcome of one Node CLI run. Stdout and stderr may be printed in failures
// only when no token was handed to the tool (see redact).
type nodeRun struct {
	Code   int
	Stdout []byte
	Stderr string
}

// nodeTimeout bounds each Node CLI run; it exists to turn a hang into a failure, not to
// assert speed.
const nodeTimeout = 90 * time.Second

// runNode runs an npm bin from e2e/node_modules on Node 22 with a private HOME (no stored
// Inspector credentials or config leak between runs), stdin from /dev/null, and extra env.
func runNode(t *testing.T, bin string, extraEnv []string, args ...string) nodeRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, testdeps.NodeBin(t, bin), args...)
	env := []string{}
	for _, kv := range testdeps.Node22Env(t) {
		if strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "NODE_OPTIONS=") || strings.HasPrefix(kv, "MCP_") {
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = append(append(env, "HOME="+t.TempDir(), "NO_COLOR=1", "CI=1"), extraEnv...)
	cmd.Dir = filepath.Join(testdeps.RepoRoot(t), "e2e")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish within %s", bin, nodeTimeout)
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s: %v", bin, err)
	}
	return nodeRun{Code: code, Stdout: stdout.Bytes(), Stderr: stderr.String()}
}

// redact replaces every occurrence of the secrets with a length marker so that failure
// messages can show tool output without the token.
func redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted "+strconv.Itoa(len(sec))+" bytes]")
		}
	}
	return jwtRE.ReplaceAllString(s, "[redacted JWT]")
}
