package bicepcheck

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"example.com/graphmcp/internal/testdeps"
)

var bicepTypesSrc = flag.String("bicep-types", "", "regenerate types/ from this folder of upstream bicep-types files (see types/README.md)")

// infraFiles parses every .bicep file under infra/ and returns the paths relative to infra/.
func infraFiles(t testing.TB) (root string, rel []string, parsed []*File) {
	t.Helper()
	root = filepath.Join(testdeps.RepoRoot(t), "infra")
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".bicep") {
			return err
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(root, p)
		f, err := Parse(filepath.ToSlash(r), string(src))
		if err != nil {
			return err
		}
		rel = append(rel, filepath.ToSlash(r))
		parsed = append(parsed, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rel) == 0 {
		t.Fatalf("no .bicep files under %s", root)
	}
	return root, rel, parsed
}

// TestVendoredTypes: types/ holds exactly the resource types and API versions infra/ declares,
// so a new resource or API version fails here with the command that regenerates the folder:
//
//	go test ./internal/bicepcheck -run TestVendoredTypes -bicep-types <folder of upstream types.json files>
//
// The upstream folder holds one file per provider namespace and API version, named as in
// types/README.md; the generator keeps each file's used resource types and what they reference.
func TestVendoredTypes(t *testing.T) {
	_, _, parsed := infraFiles(t)
	used := UsedResourceTypes(parsed)
	want := map[string]bool{}
	for _, u := range used {
		want[strings.ToLower(u)] = true
	}
	dir := filepath.Join(testdeps.RepoRoot(t), "internal", "bicepcheck", "types")
	if *bicepTypesSrc != "" {
		regenerateTypes(t, *bicepTypesSrc, dir, func(name string) bool { return want[strings.ToLower(name)] })
	}
	ts, err := LoadTypes(os.DirFS(dir), ".")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, n := range ts.Names() {
		have[strings.ToLower(n)] = true
		if !want[strings.ToLower(n)] {
			t.Errorf("types/ defines %s, which infra/ no longer declares: regenerate (see this test's comment)", n)
		}
	}
	for _, u := range used {
		if !have[strings.ToLower(u)] {
			t.Errorf("infra/ declares %s, which types/ does not define: regenerate (see this test's comment)", u)
		}
	}
}

func regenerateTypes(t *testing.T, src, dir string, keep func(string) bool) {
	t.Helper()
	upstream, err := filepath.Glob(filepath.Join(src, "*.json"))
	if err != nil || len(upstream) == 0 {
		t.Fatalf("no upstream *.json in %s (%v)", src, err)
	}
	old, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, o := range old {
		if err := os.Remove(o); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range upstream {
		raw, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		out, err := TrimTypes(raw, keep)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if out == nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(u)), out, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes (upstream %d)", filepath.Base(u), len(out), len(raw))
	}
}

// TestTrimTypes: the kept resource types and everything they reference survive, renumbered;
// what nothing kept references is dropped.
func TestTrimTypes(t *testing.T) {
	upstream := `[
  {"$type": "StringType"},
  {"$type": "StringLiteralType", "value": "Unused"},
  {"$type": "ObjectType", "name": "Unused", "properties": {"x": {"type": {"$ref": "#/1"}, "flags": 0}}},
  {"$type": "StringLiteralType", "value": "A"},
  {"$type": "UnionType", "elements": [{"$ref": "#/3"}, {"$ref": "#/0"}]},
  {"$type": "ObjectType", "name": "Body", "properties": {"name": {"type": {"$ref": "#/0"}, "flags": 9}, "kind": {"type": {"$ref": "#/4"}, "flags": 0}}},
  {"$type": "ResourceType", "name": "Test.RP/things@2024-01-01", "body": {"$ref": "#/5"}},
  {"$type": "ResourceType", "name": "Test.RP/others@2024-01-01", "body": {"$ref": "#/2"}}
]`
	out, err := TrimTypes([]byte(upstream), func(n string) bool { return strings.EqualFold(n, "test.rp/THINGS@2024-01-01") })
	if err != nil {
		t.Fatal(err)
	}
	want := `[
{"$type":"StringType"},
{"$type":"StringLiteralType","value":"A"},
{"$type":"UnionType","elements":[{"$ref":"#/1"},{"$ref":"#/0"}]},
{"$type":"ObjectType","name":"Body","properties":{"name":{"type":{"$ref":"#/0"},"flags":9},"kind":{"type":{"$ref":"#/2"},"flags":0}}},
{"$type":"ResourceType","name":"Test.RP/things@2024-01-01","body":{"$ref":"#/3"}}
]
`
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	ts, err := LoadTypes(fstest.MapFS{"t/rp_test_2024-01-01.json": {Data: out}}, "t")
	if err != nil {
		t.Fatal(err)
	}
	d := ts.Lookup("Test.RP/things", "2024-01-01")
	if d == nil || describeType(d.Body.Properties["kind"].Type) != "'A' | string" {
		t.Errorf("trimmed types do not load back: %+v", d)
	}
	if none, err := TrimTypes([]byte(upstream), func(string) bool { return false }); err != nil || none != nil {
		t.Errorf("nothing kept: want nil, got %q, %v", none, err)
	}
}
