package funchost

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestLoadFunctionsRepoConfig pins what the shipped host.json and function.json files mean,
// so a change to them that alters routing shows up here.
func TestLoadFunctionsRepoConfig(t *testing.T) {
	root := repoRoot()
	fns, err := LoadFunctions(filepath.Join(root, "host.json"), filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Function{}
	for _, f := range fns {
		byName[f.Name] = f
	}
	mcp, ok := byName["mcp"]
	if !ok {
		t.Fatalf("no mcp function in %v", fns)
	}
	if mcp.Route != "mcp" {
		t.Errorf("mcp route = %q, want %q (routePrefix must be empty so /mcp is /mcp)", mcp.Route, "mcp")
	}
	if mcp.AuthLevel != AuthFunction && mcp.AuthLevel != AuthAnonymous {
		t.Errorf("mcp authLevel = %q", mcp.AuthLevel)
	}
	for _, m := range []string{"POST"} {
		if !mcp.allows(m) {
			t.Errorf("mcp does not allow %s; MCP clients POST to /mcp", m)
		}
	}
}

func writeApp(t *testing.T, hostJSON string, functions map[string]string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "host.json"), []byte(hostJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	fdir := filepath.Join(dir, "functions")
	if err := os.MkdirAll(fdir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, fj := range functions {
		if err := os.MkdirAll(filepath.Join(fdir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(fdir, name, "function.json"), []byte(fj), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "host.json"), fdir
}

const proxyHost = `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"handler"},"enableProxyingHttpRequest":true}}`

func TestLoadFunctionsDefaults(t *testing.T) {
	// No routePrefix → "api"; no route → function name; no authLevel → function; no methods → all.
	h, d := writeApp(t, proxyHost, map[string]string{
		"hello": `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req"},{"type":"http","direction":"out","name":"res"}]}`,
		"timer": `{"bindings":[{"type":"timerTrigger","direction":"in","name":"t","schedule":"0 * * * * *"}]}`,
		"off":   `{"disabled":true,"bindings":[{"type":"httpTrigger","direction":"in","name":"req"}]}`,
	})
	fns, err := LoadFunctions(h, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) != 1 {
		t.Fatalf("got %d functions, want only hello: %+v", len(fns), fns)
	}
	got := fns[0]
	got.template = nil
	want := Function{Name: "hello", Route: "api/hello", AuthLevel: AuthFunction}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if !got.allows("PATCH") {
		t.Error("a function without methods must allow every method")
	}
}

func TestLoadFunctionsMCPProfile(t *testing.T) {
	h, d := writeApp(t, `{"version":"2.0","configurationProfile":"mcp-custom-handler",
	  "customHandler":{"description":{"defaultExecutablePath":"handler"},"http":{"DefaultAuthorizationLevel":"anonymous"}}}`, nil)
	fns, err := LoadFunctions(h, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) != 1 || fns[0].Route != "{*route}" || fns[0].AuthLevel != AuthAnonymous {
		t.Fatalf("profile should give one anonymous catch-all, got %+v", fns)
	}
}

func TestLoadFunctionsErrors(t *testing.T) {
	cases := []struct {
		name, host, fn, wantErr string
	}{
		{"not proxy mode", `{"version":"2.0","customHandler":{}}`, "", "enableProxyingHttpRequest"},
		{"bad version", `{"version":"1.0"}`, "", "version"},
		{"bad profile", `{"version":"2.0","configurationProfile":"mcp"}`, "", "configurationProfile"},
		{"bad json", `{`, "", "not valid JSON"},
		{"bad level", proxyHost, `{"bindings":[{"type":"httpTrigger","authLevel":"system"}]}`, "authLevel"},
		{"constraint", proxyHost, `{"bindings":[{"type":"httpTrigger","route":"x/{id:int}"}]}`, "constraint"},
		{"no functions", proxyHost, "", "no HTTP functions"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fns := map[string]string{}
			if c.fn != "" {
				fns["f"] = c.fn
			}
			h, d := writeApp(t, c.host, fns)
			_, err := LoadFunctions(h, d)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.wantErr)
			}
		})
	}
}
