package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"example.com/graphmcp/internal/testdeps"
)

// The test binary doubles as a fake `azd`: with AZDKEYS_FAKE_STATE set it answers `env get-values
// --output json` and `env set --file` from a JSON state file and logs its argv, so the tests see
// exactly what the hook passes on command lines.
func TestMain(m *testing.M) {
	if state := os.Getenv("AZDKEYS_FAKE_STATE"); state != "" {
		os.Exit(fakeAzd(state, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeAzd(state string, args []string) int {
	log, _ := os.OpenFile(state+".argv", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	fmt.Fprintln(log, strings.Join(args, " "))
	log.Close()
	if os.Getenv("AZDKEYS_FAKE_FAIL") != "" {
		fmt.Fprintln(os.Stderr, "ERROR: no default environment set")
		return 1
	}
	values := map[string]string{}
	if raw, err := os.ReadFile(state); err == nil {
		json.Unmarshal(raw, &values)
	}
	if values == nil { // a state file holding JSON null
		values = map[string]string{}
	}
	switch {
	case len(args) >= 4 && args[0] == "env" && args[1] == "get-values" && args[2] == "--output" && args[3] == "json":
		json.NewEncoder(os.Stdout).Encode(values)
		return 0
	case len(args) >= 4 && args[0] == "env" && args[1] == "set" && args[2] == "--file":
		f, err := os.Open(args[3])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if fi, _ := f.Stat(); fi.Mode().Perm() != 0o600 {
			fmt.Fprintf(os.Stderr, "key file mode %o, want 600\n", fi.Mode().Perm())
			return 1
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			name, quoted, ok := strings.Cut(sc.Text(), "=")
			if !ok {
				return 1
			}
			values[name] = strings.Trim(quoted, `"`)
		}
		f.Close()
		raw, _ := json.Marshal(values)
		os.WriteFile(state, raw, 0o600)
		return 0
	}
	fmt.Fprintln(os.Stderr, "fake azd: unexpected arguments")
	return 2
}

type fakeEnv struct {
	t     *testing.T
	state string
	azd   AzdEnv
}

func newFakeEnv(t *testing.T, initial map[string]string) *fakeEnv {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "env.json")
	raw, _ := json.Marshal(initial)
	if err := os.WriteFile(state, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AZDKEYS_FAKE_STATE", state)
	return &fakeEnv{t: t, state: state, azd: AzdEnv{Bin: exe}}
}

func (f *fakeEnv) values() map[string]string {
	raw, err := os.ReadFile(f.state)
	if err != nil {
		f.t.Fatal(err)
	}
	v := map[string]string{}
	if err := json.Unmarshal(raw, &v); err != nil {
		f.t.Fatal(err)
	}
	return v
}

func (f *fakeEnv) argv() string {
	raw, _ := os.ReadFile(f.state + ".argv")
	return string(raw)
}

// assertNotLeaked fails when any secret value appears in text (compared by value, reported by name).
func assertNotLeaked(t *testing.T, where, text string, values map[string]string) {
	t.Helper()
	for _, k := range Keys {
		if v := values[k.Name]; k.Secret && v != "" && strings.Contains(text, v) {
			t.Errorf("the value of %s appears in %s", k.Name, where)
		}
	}
}

func TestGeneratesOnceAndNeverRegenerates(t *testing.T) {
	env := newFakeEnv(t, map[string]string{"AZURE_ENV_NAME": "dev"})

	report, err := Ensure(env.azd, Keys)
	if err != nil {
		t.Fatal(err)
	}
	first := env.values()
	for _, k := range Keys {
		v := first[k.Name]
		if !k.Valid.MatchString(v) {
			t.Errorf("%s was not generated in the expected form (%s); length %d", k.Name, k.Form, len(v))
		}
	}
	if first["AZURE_ENV_NAME"] != "dev" {
		t.Error("an unrelated environment value was changed")
	}
	assertNotLeaked(t, "the report", strings.Join(report, "\n"), first)
	assertNotLeaked(t, "azd's command lines", env.argv(), first)
	if len(report) != len(Keys) || !strings.HasPrefix(report[0], "generated ") {
		t.Errorf("report = %q, want one 'generated' line per key", report)
	}

	report, err = Ensure(env.azd, Keys)
	if err != nil {
		t.Fatal(err)
	}
	second := env.values()
	for _, k := range Keys {
		if first[k.Name] != second[k.Name] {
			t.Errorf("%s changed on the second run: re-provisioning must keep keys", k.Name)
		}
	}
	for _, line := range report {
		if !strings.HasPrefix(line, "kept ") {
			t.Errorf("second run reported %q, want only 'kept' lines", line)
		}
	}
	if strings.Count(env.argv(), "env set") != 1 {
		t.Errorf("azd env set ran %d times, want once (first run only)", strings.Count(env.argv(), "env set"))
	}
}

func TestKeepsExistingAndGeneratesTheRest(t *testing.T) {
	existing := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	env := newFakeEnv(t, map[string]string{"MCP_TOKEN_ENC_KEY": existing})
	if _, err := Ensure(env.azd, Keys); err != nil {
		t.Fatal(err)
	}
	got := env.values()
	if got["MCP_TOKEN_ENC_KEY"] != existing {
		t.Error("an existing valid key was replaced")
	}
	if got["MCP_TOKEN_MAC_KEY"] == "" || got["MCP_TOKEN_MAC_KEY"] == got["CONSENT_COOKIE_KEY"] {
		t.Error("missing keys were not generated independently")
	}
}

func TestMalformedExistingValueStops(t *testing.T) {
	bad := "short-secret-value"
	env := newFakeEnv(t, map[string]string{"FUNCTION_KEY": bad})
	_, err := Ensure(env.azd, Keys)
	if err == nil {
		t.Fatal("a malformed FUNCTION_KEY was accepted")
	}
	if !strings.Contains(err.Error(), "FUNCTION_KEY") || !strings.Contains(err.Error(), "length 18") {
		t.Errorf("error %q should name the variable and its length", err)
	}
	if strings.Contains(err.Error(), bad) {
		t.Error("the error message contains the value")
	}
	if strings.Contains(env.argv(), "env set") {
		t.Error("nothing may be written when an existing value is malformed")
	}
	if env.values()["FUNCTION_KEY"] != bad {
		t.Error("the malformed value was replaced")
	}
}

func TestAzdFailureIsActionable(t *testing.T) {
	env := newFakeEnv(t, nil)
	t.Setenv("AZDKEYS_FAKE_FAIL", "1")
	_, err := Ensure(env.azd, Keys)
	if err == nil || !strings.Contains(err.Error(), "azd env select") {
		t.Fatalf("err = %v, want a hint to select or create an azd environment", err)
	}
}

func TestGeneratedValuesAreFreshAndWellFormed(t *testing.T) {
	for _, k := range Keys {
		if k.PreviousOf != "" {
			continue
		}
		seen := map[string]bool{}
		for range 20 {
			v, err := k.Generate()
			if err != nil {
				t.Fatal(err)
			}
			if !k.Valid.MatchString(v) {
				t.Fatalf("%s generator produced a value not matching %s (length %d)", k.Name, k.Form, len(v))
			}
			if seen[v] {
				t.Fatalf("%s generator repeated a value", k.Name)
			}
			seen[v] = true
		}
	}
}

func TestPreviousKeysStartEqualAndRotate(t *testing.T) {
	env := newFakeEnv(t, nil)
	if _, err := Ensure(env.azd, Keys); err != nil {
		t.Fatal(err)
	}
	before := env.values()
	pairs := map[string]string{"MCP_TOKEN_PREV_ENC_KEY": "MCP_TOKEN_ENC_KEY", "MCP_TOKEN_PREV_MAC_KEY": "MCP_TOKEN_MAC_KEY", "MCP_TOKEN_PREV_KEY_ID": "MCP_TOKEN_KEY_ID"}
	for prev, cur := range pairs {
		if before[prev] != before[cur] {
			t.Errorf("before the first rotation %s must equal %s", prev, cur)
		}
	}

	report, err := Rotate(env.azd, Keys)
	if err != nil {
		t.Fatal(err)
	}
	after := env.values()
	for prev, cur := range pairs {
		if after[prev] != before[cur] {
			t.Errorf("after rotation %s must hold the old %s", prev, cur)
		}
		if after[cur] == before[cur] {
			t.Errorf("rotation did not renew %s", cur)
		}
	}
	for _, k := range Keys {
		if !k.Valid.MatchString(after[k.Name]) {
			t.Errorf("%s is not %s after rotation", k.Name, k.Form)
		}
	}
	for _, name := range []string{"CONSENT_COOKIE_KEY", "FUNCTION_KEY"} {
		if after[name] != before[name] {
			t.Errorf("rotation must not touch %s", name)
		}
	}
	assertNotLeaked(t, "the rotation report", strings.Join(report, "\n"), after)
	assertNotLeaked(t, "the rotation report", strings.Join(report, "\n"), before)
	assertNotLeaked(t, "azd's command lines", env.argv(), after)
}

func TestRotateNeedsExistingKeys(t *testing.T) {
	env := newFakeEnv(t, nil)
	if _, err := Rotate(env.azd, Keys); err == nil || !strings.Contains(err.Error(), "without -rotate first") {
		t.Fatalf("err = %v, want a hint to generate keys first", err)
	}
}

// TestKeysFeedTheBicepParameters: every generated value reaches Bicep through
// infra/main.parameters.json, and every azd value the parameters need without a default is either
// set by azd itself (AZURE_*) or generated here — otherwise `azd provision` would prompt or fail.
func TestKeysFeedTheBicepParameters(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(testdeps.RepoRoot(t), "infra", "main.parameters.json"))
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{([A-Z0-9_]+)\}`).FindAllStringSubmatch(string(raw), -1) {
		refs[m[1]] = true
	}
	generated := map[string]bool{}
	for _, k := range Keys {
		generated[k.Name] = true
		if !refs[k.Name] {
			t.Errorf("%s is generated but infra/main.parameters.json never passes it to Bicep", k.Name)
		}
	}
	for name := range refs {
		if !generated[name] && !strings.HasPrefix(name, "AZURE_") {
			t.Errorf("infra/main.parameters.json needs ${%s} without a default, which neither azd nor azdkeys sets", name)
		}
	}
}
