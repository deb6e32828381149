package main

import (
	"errors"
	"os"
	"strings"
	"testing"

	"example.com/graphmcp/internal/freeport"
)

// TestMissingMonoSaysWhatToInstall simulates a machine without Mono: the error names every
// missing piece and the exact apt-get line.
func TestMissingMonoSaysWhatToInstall(t *testing.T) {
	defer func(l func(string) (string, error), s func(string) (os.FileInfo, error)) { lookPath, stat = l, s }(lookPath, stat)
	lookPath = func(name string) (string, error) {
		if name == "mcs" {
			return "/usr/bin/mcs", nil
		}
		return "", errors.New("not found")
	}
	stat = func(string) (os.FileInfo, error) { return nil, os.ErrNotExist }
	err := checkPrerequisites()
	if err == nil {
		t.Fatal("no error without mono")
	}
	msg := err.Error()
	for _, want := range []string{"mono", "monodis", newtonsoftPath, "sudo apt-get install -y --no-install-recommends " + monoPackages, ".ci/run"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if missing, _, _ := strings.Cut(msg, ":"); strings.Contains(missing, "mcs") {
		t.Errorf("mcs is present but reported missing:\n%s", msg)
	}
}

func TestPortInUseIsReported(t *testing.T) {
	ln, err := freeport.Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := portFree(freeport.Port(ln)); err == nil {
		t.Fatal("a port in use was reported free")
	}
	if err := portFree(freePort(t)); err != nil {
		t.Fatalf("a free port was reported in use: %v", err)
	}
}
