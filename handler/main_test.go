package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"example.com/graphmcp/internal/handlerproc"
)

// The test binary doubles as the handler binary: with GRAPHMCP_RUN_MAIN=1 it runs main, so the
// test observes the real exit code and stderr of the program.
func TestMain(m *testing.M) {
	if os.Getenv("GRAPHMCP_RUN_MAIN") == "1" {
		main()
		return
	}
	code := m.Run()
	handlerproc.RemoveBuild()
	os.Exit(code)
}

func TestBadEnvironmentExitsWithMessages(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{"GRAPHMCP_RUN_MAIN=1", "AZURE_TENANT_ID=not-a-guid", "MCP_RESOURCE_METADATA_URL=ftp://x/y", "PATH=" + os.Getenv("PATH")}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !asExit(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v (stderr %q)", err, stderr.String())
	}
	for _, want := range []string{
		"AZURE_TENANT_ID must be a GUID",
		"ENTRA_APP_CLIENT_ID is required",
		"AZURE_CLIENT_ID is required",
		"MCP_RESOURCE_METADATA_URL must use https",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout should be empty, got %q", stdout.String())
	}
}

func asExit(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*target = e
	return ok
}

// TestStaticLinuxBinary builds what `make build` builds and checks it is static (no ELF
// interpreter, so it runs on any Linux image) and within the 20 MB budget.
func TestStaticLinuxBinary(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go toolchain not on PATH: %v", err)
	}
	out := filepath.Join(t.TempDir(), "handler")
	cmd := exec.Command(gobin, "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 {
		t.Errorf("machine %v, want x86-64", f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("binary has an ELF interpreter: it is dynamically linked")
		}
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() > 20<<20 {
		t.Errorf("binary size %d bytes exceeds 20 MB (err %v)", fi.Size(), err)
	}
}
