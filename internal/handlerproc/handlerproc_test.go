package handlerproc

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
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
