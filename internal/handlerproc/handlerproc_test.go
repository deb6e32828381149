package handlerproc

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/graphmcp/devstack"
	"example.com/graphmcp/internal/freeport"
)

var fake struct {
	once      sync.Once
	dir, path string
	err       error
}

// buildFake builds testdata/fakehandler once for this test binary (removed by TestMain).
func buildFake(t *testing.T) string {
	t.Helper()
	fake.once.Do(func() {
		if fake.dir, fake.err = os.MkdirTemp("", "fakehandler-"); fake.err != nil {
			return
		}
		fake.path = filepath.Join(fake.dir, "fakehandler")
		cmd := exec.Command(goTool(), "build", "-o", fake.path, "./testdata/fakehandler")
		if b, err := cmd.CombinedOutput(); err != nil {
			fake.err = fmt.Errorf("build fake handler: %v\n%s", err, b)
		}
	})
	if fake.err != nil {
		t.Fatal(fake.err)
	}
	return fake.path
}

func TestStartWaitsForReadinessAndCapturesLogs(t *testing.T) {
	t.Setenv("HANDLERPROC_TEST_SHOULD_NOT_LEAK", "secret-ish")
	bin := buildFake(t)
	p := Start(t, &Options{Binary: bin, Env: map[string]string{"MARKER": "m1"}})

	resp, err := http.Get(p.URL() + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "ok" {
		t.Fatalf("body %q", b)
	}
	rec := p.WaitRecord(t, func(r Record) bool { return r.String("path") == "/hello" }, 10*time.Second)
	if rec.String("marker") != "m1" {
		t.Errorf("env not passed: marker %q", rec.String("marker"))
	}
	start := p.WaitRecord(t, func(r Record) bool { return r.String("msg") == "starting" }, 10*time.Second)
	if start.String("leak") != "" {
		t.Error("the test process's environment leaked into the handler")
	}
	if start["inherited_home"] != true {
		t.Error("HOME should be passed through")
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if p.ExitCode() != 0 {
		t.Errorf("exit code %d after SIGTERM", p.ExitCode())
	}
	p.WaitRecord(t, func(r Record) bool { return r.String("msg") == "stopping" }, time.Second)
	if len(p.Records(t)) < 3 {
		t.Errorf("records: %d", len(p.Records(t)))
	}
}

func TestRunReportsExitCodeAndStderr(t *testing.T) {
	bin := buildFake(t)
	code, _, stderr := Run(t, &Options{Binary: bin, Env: map[string]string{"FAKE_FAIL": "1"}})
	if code != 1 || !strings.Contains(stderr, "FAKE_FAIL") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

// TestStartReportsATakenPort: when the port given in Env is bound by someone else, the child
// exits and StartProcess says so with freeport.ErrTaken, which is what lets the caller (and
// StartProcess itself, when it picks the port) retry on another port.
func TestStartReportsATakenPort(t *testing.T) {
	bin := buildFake(t)
	thief, err := freeport.Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer thief.Close()
	p, err := StartProcess(&Options{Binary: bin, Env: map[string]string{
		"FUNCTIONS_CUSTOMHANDLER_PORT": strconv.Itoa(freeport.Port(thief)),
	}})
	if p != nil {
		defer p.Stop()
	}
	if !errors.Is(err, freeport.ErrTaken) {
		t.Fatalf("err = %v, want freeport.ErrTaken", err)
	}

	// A failure for another reason is not mistaken for a lost port (no retry would help).
	_, err = StartProcess(&Options{Binary: bin, Env: map[string]string{"FAKE_FAIL": "1"}})
	if err == nil || errors.Is(err, freeport.ErrTaken) || !strings.Contains(err.Error(), "FAKE_FAIL") {
		t.Fatalf("err = %v, want the child's own failure, not ErrTaken", err)
	}
}

// TestRealHandlerReportsATakenPort: the real handler's own "cannot listen" exit (a JSON log
// line on stdout) is recognised as a lost port, and with a port StartProcess picks itself the
// same environment starts.
func TestRealHandlerReportsATakenPort(t *testing.T) {
	ds, err := devstack.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	dir := t.TempDir()
	env := ds.Env()
	env["SSL_CERT_FILE"] = filepath.Join(dir, "ca.pem")
	env["MCP_RESOURCE_METADATA_URL"] = "http://127.0.0.1:9/.well-known/oauth-protected-resource/mcp"
	env["STATE_FILE"] = filepath.Join(dir, "state.db")
	if err := ds.CA.WriteCertFile(env["SSL_CERT_FILE"]); err != nil {
		t.Fatal(err)
	}
	thief, err := freeport.Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer thief.Close()
	taken := map[string]string{"FUNCTIONS_CUSTOMHANDLER_PORT": strconv.Itoa(freeport.Port(thief))}
	for k, v := range env {
		taken[k] = v
	}
	p, err := StartProcess(&Options{Env: taken})
	if p != nil {
		defer p.Stop()
	}
	if !errors.Is(err, freeport.ErrTaken) {
		t.Fatalf("err = %v, want freeport.ErrTaken", err)
	}
	Start(t, &Options{Env: env})
}

func TestParseRecordsRejectsNonJSON(t *testing.T) {
	if _, err := parseRecords([]string{`{"a":1}`, "plain text with a token maybe"}); err == nil || strings.Contains(err.Error(), "token") {
		t.Fatalf("err = %v: want an error that does not echo the line", err)
	}
}

func TestLineBufferSplitsPartialWrites(t *testing.T) {
	b := newLineBuffer()
	io.WriteString(b, "ab")
	io.WriteString(b, "c\nde")
	io.WriteString(b, "f\n\n")
	if got := strings.Join(b.Lines(), "|"); got != "abc|def|" {
		t.Fatalf("lines %q", got)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	RemoveBuild()
	if fake.dir != "" {
		os.RemoveAll(fake.dir)
	}
	os.Exit(code)
}
