package bicepcheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// vendoredTypes loads the embedded definitions once per test binary.
func vendoredTypes(t *testing.T) *Types {
	t.Helper()
	ts, err := LoadVendored()
	if err != nil {
		t.Fatalf("loading the vendored type definitions: %v", err)
	}
	return ts
}

// TestInfraTypeChecks: every .bicep file under infra/ type-checks against the vendored
// definitions with zero findings.
func TestInfraTypeChecks(t *testing.T) {
	root, files, _ := infraFiles(t)
	findings, err := Check(vendoredTypes(t), root, files)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Errorf("infra/%s", f)
	}
}

// wantRE marks a fixture line that must produce a finding containing the quoted text.
var wantRE = regexp.MustCompile("// want `([^`]*)`")

// TestSeededDefects: each folder under testdata/ is a seeded defect (or a clean shape). Every line
// marked // want `text` must produce a finding at that file and line containing text, and no
// unmarked line may produce one.
func TestSeededDefects(t *testing.T) {
	ts := vendoredTypes(t)
	dirs, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no fixtures under testdata/ (%v)", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var files []string
			wants := map[string][]string{} // file:line → texts
			filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() || !strings.HasSuffix(p, ".bicep") {
					return err
				}
				rel, _ := filepath.Rel(dir, p)
				rel = filepath.ToSlash(rel)
				files = append(files, rel)
				src, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				for i, line := range strings.Split(string(src), "\n") {
					for _, m := range wantRE.FindAllStringSubmatch(line, -1) {
						k := fmt.Sprintf("%s:%d", rel, i+1)
						wants[k] = append(wants[k], m[1])
					}
				}
				return nil
			})
			findings, err := Check(ts, dir, files)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, f := range findings {
				k := fmt.Sprintf("%s:%d", f.File, f.Line)
				got[k] = append(got[k], f.String())
			}
			for k, texts := range wants {
				for _, text := range texts {
					found := false
					for _, g := range got[k] {
						found = found || strings.Contains(g, text)
					}
					if !found {
						t.Errorf("%s: want a finding containing %q; got %q", k, text, got[k])
					}
				}
			}
			for k, gs := range got {
				if len(wants[k]) == 0 {
					for _, g := range gs {
						t.Errorf("unexpected finding: %s", g)
					}
				}
			}
		})
	}
}
