package main

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"example.com/graphmcp/internal/testdeps"
)

// fakeELF returns the smallest ELF header debug/elf accepts: a 64-bit little-endian executable
// for machine, without sections or program headers. Enough to exercise the binary check without
// compiling anything.
func fakeELF(machine uint16) []byte {
	h := make([]byte, 64)
	copy(h, []byte{0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* little-endian */, 1 /* version */})
	binary.LittleEndian.PutUint16(h[16:], 2) // ET_EXEC
	binary.LittleEndian.PutUint16(h[18:], machine)
	binary.LittleEndian.PutUint32(h[20:], 1)  // version
	binary.LittleEndian.PutUint16(h[52:], 64) // header size
	return h
}

const emX8664, emAArch64 = 62, 183

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// readZip returns the entries of a zip by name.
func readZip(t *testing.T, path string) map[string]*zip.File {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatalf("the package is not a readable zip: %v", err)
	}
	t.Cleanup(func() { zr.Close() })
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		entries[f.Name] = f
	}
	return entries
}

func content(t *testing.T, f *zip.File) []byte {
	t.Helper()
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPackageOfTheRepository packages the repository's own host.json and functions/ and reads the
// zip back: the layout the Functions host expects, and the handler executable for owner, group
// and others, recorded as Unix attributes.
func TestPackageOfTheRepository(t *testing.T) {
	root := testdeps.RepoRoot(t)
	bin := filepath.Join(t.TempDir(), "handler")
	writeFile(t, bin, fakeELF(emX8664))
	out := filepath.Join(t.TempDir(), "dist", "functionapp.zip")

	if err := run(root, bin, out); err != nil {
		t.Fatal(err)
	}
	entries := readZip(t, out)

	want := []string{"host.json", "handler", "mcp/function.json", "internal/function.json"}
	for _, name := range want {
		if entries[name] == nil {
			t.Errorf("zip lacks %s; it has %v", name, names(entries))
		}
	}
	fnDirs, _ := filepath.Glob(filepath.Join(root, "functions", "*", "function.json"))
	for _, p := range fnDirs {
		name := filepath.Base(filepath.Dir(p)) + "/function.json"
		if entries[name] == nil {
			t.Errorf("functions/%s is not in the package root as %s", name, name)
		}
	}
	for name := range entries {
		if strings.HasPrefix(name, "functions/") {
			t.Errorf("zip entry %s: function folders belong at the package root, not under functions/", name)
		}
	}

	h := entries["handler"]
	if h == nil {
		t.FailNow()
	}
	if got := h.Mode().Perm(); got != 0o755 {
		t.Errorf("handler mode = %o, want 755", got)
	}
	if h.Mode()&0o100 == 0 {
		t.Error("handler lacks the owner exec bit (mode & 0100): the Functions host could not start it")
	}
	if creator := h.CreatorVersion >> 8; creator != 3 {
		t.Errorf("handler entry's creator OS = %d, want 3 (Unix), or unzip ignores the mode bits", creator)
	}
	if got := entries["host.json"].Mode().Perm(); got != 0o644 {
		t.Errorf("host.json mode = %o, want 644", got)
	}
	hostJSON, _ := os.ReadFile(filepath.Join(root, "host.json"))
	if !bytes.Equal(content(t, entries["host.json"]), hostJSON) {
		t.Error("host.json in the zip differs from the repository's")
	}
	if !bytes.Equal(content(t, h), fakeELF(emX8664)) {
		t.Error("handler in the zip differs from the input binary")
	}
}

func names(m map[string]*zip.File) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func fixtureRoot(t *testing.T, host string) string {
	t.Helper()
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "host.json"), []byte(host))
	writeFile(t, filepath.Join(root, "functions", "mcp", "function.json"), []byte(`{"bindings":[]}`))
	return root
}

const goodHost = `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"handler"}}}`

func TestSameInputsSameZip(t *testing.T) {
	root := fixtureRoot(t, goodHost)
	bin := filepath.Join(root, "bin")
	writeFile(t, bin, fakeELF(emX8664))
	a, b := filepath.Join(root, "a.zip"), filepath.Join(root, "b.zip")
	if err := run(root, bin, a); err != nil {
		t.Fatal(err)
	}
	if err := run(root, bin, b); err != nil {
		t.Fatal(err)
	}
	za, _ := os.ReadFile(a)
	zb, _ := os.ReadFile(b)
	if !bytes.Equal(za, zb) {
		t.Error("two runs over the same inputs wrote different zips; timestamps or ordering leak in")
	}
}

func TestRefusals(t *testing.T) {
	cases := []struct {
		name, host string
		binary     []byte
		noFuncs    bool
		want       string
	}{
		{name: "windows binary", host: goodHost, binary: []byte("MZ\x90\x00 not an ELF"), want: "GOOS=linux"},
		{name: "arm64 binary", host: goodHost, binary: fakeELF(emAArch64), want: "GOARCH=amd64"},
		{name: "other executable in host.json", host: `{"customHandler":{"description":{"defaultExecutablePath":"handler.exe"}}}`, binary: fakeELF(emX8664), want: `must be "handler"`},
		{name: "host.json not JSON", host: `{`, binary: fakeELF(emX8664), want: "host.json is not valid JSON"},
		{name: "no function folders", host: goodHost, binary: fakeELF(emX8664), noFuncs: true, want: "no functions/<name>/function.json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := fixtureRoot(t, tc.host)
			if tc.noFuncs {
				os.RemoveAll(filepath.Join(root, "functions"))
			}
			bin := filepath.Join(root, "bin")
			writeFile(t, bin, tc.binary)
			out := filepath.Join(root, "out.zip")
			err := run(root, bin, out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
			if _, statErr := os.Stat(out); statErr == nil {
				t.Error("a refused package must not leave a zip behind")
			}
		})
	}
}

// TestBuildsHandlerForLinuxAMD64 runs the default path (no -binary) on a minimal module, so the
// cross-compilation settings are exercised without compiling the whole handler.
func TestBuildsHandlerForLinuxAMD64(t *testing.T) {
	root := fixtureRoot(t, goodHost)
	writeFile(t, filepath.Join(root, "go.mod"), []byte("module example.com/fixture\n\ngo 1.22\n"))
	writeFile(t, filepath.Join(root, "handler", "main.go"), []byte("package main\n\nfunc main() {}\n"))
	out := filepath.Join(root, "dist", "functionapp.zip")
	if err := run(root, "", out); err != nil {
		t.Fatal(err)
	}
	h := readZip(t, out)["handler"]
	if h == nil {
		t.Fatal("no handler in the zip")
	}
	if h.Mode()&fs.ModePerm != 0o755 {
		t.Errorf("handler mode = %o, want 755", h.Mode().Perm())
	}
	if err := checkLinuxAMD64(content(t, h)); err != nil {
		t.Errorf("built handler: %v", err)
	}
}
