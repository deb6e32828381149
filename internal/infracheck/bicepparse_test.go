package infracheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"example.com/graphmcp/internal/testdeps"
)

type parseReport struct {
	Files []struct {
		File   string `json:"file"`
		Errors []struct {
			Line   int    `json:"line"`
			Column int    `json:"column"`
			Kind   string `json:"kind"`
			Text   string `json:"text"`
		} `json:"errors"`
	} `json:"files"`
}

// parseBicep runs e2e/bicep-parse.mjs (tree-sitter-bicep on web-tree-sitter) over files.
func parseBicep(t *testing.T, files []string) parseReport {
	t.Helper()
	root := testdeps.RepoRoot(t)
	testdeps.NodeModules(t)
	cmd := exec.Command(testdeps.Node22(t), append([]string{filepath.Join(root, "e2e", "bicep-parse.mjs")}, files...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		t.Fatalf("bicep-parse.mjs failed: %v\n%s", err, stderr.String())
	}
	var rep parseReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("bicep-parse.mjs printed no report: %v\n%s", err, stderr.String())
	}
	if len(rep.Files) != len(files) {
		t.Fatalf("report covers %d files, want %d", len(rep.Files), len(files))
	}
	return rep
}

// bicepFiles lists every .bicep file of the repository outside testdata folders (those hold
// internal/bicepcheck's seeded-defect fixtures, broken on purpose).
func bicepFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && p != root) {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".bicep") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestEveryBicepFileParses is the syntax check the Bicep compiler would do first: every .bicep file
// of the repository parses with tree-sitter-bicep without ERROR or MISSING nodes.
func TestEveryBicepFileParses(t *testing.T) {
	root := testdeps.RepoRoot(t)
	files := bicepFiles(t, root)
	if len(files) < 10 {
		t.Fatalf("found %d .bicep files, want main.bicep and its modules (≥ 10): is infra/ missing?", len(files))
	}
	for _, f := range parseBicep(t, files).Files {
		rel, _ := filepath.Rel(root, f.File)
		for _, e := range f.Errors {
			t.Errorf("%s:%d:%d: tree-sitter-bicep: %s near %q", rel, e.Line, e.Column, e.Kind, e.Text)
		}
	}
}

// TestBicepParserCatchesErrors proves the syntax check is not vacuous and that the `extension`
// workaround (the grammar predates the keyword) keeps line numbers.
func TestBicepParserCatchesErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.bicep")
	bad := filepath.Join(dir, "bad.bicep")
	os.WriteFile(good, []byte("extension microsoftGraphV1\n\nresource app 'Microsoft.Graph/applications@v1.0' = {\n  uniqueName: 'x'\n  displayName: 'x'\n}\n"), 0o644)
	os.WriteFile(bad, []byte("extension microsoftGraphV1\nparam ok string\n\nvar broken = {\n  a: 'x'\n  b: [ 1, \n}\n"), 0o644)
	rep := parseBicep(t, []string{good, bad})
	if n := len(rep.Files[0].Errors); n != 0 {
		t.Errorf("a file with `extension microsoftGraphV1` reported %d errors: %+v", n, rep.Files[0].Errors)
	}
	errs := rep.Files[1].Errors
	if len(errs) == 0 {
		t.Fatal("an unbalanced array was not reported")
	}
	if errs[0].Line < 4 || errs[0].Line > 7 {
		t.Errorf("first error on line %d, want within the broken var (lines 4-7)", errs[0].Line)
	}
}
