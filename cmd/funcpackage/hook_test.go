package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"example.com/graphmcp/internal/testdeps"
	"sigs.k8s.io/yaml"
)

// prepackageArgs returns the arguments the real azure.yaml's prepackage hook passes to
// ./cmd/funcpackage (posix and windows variants must agree) and the service's dist.
func prepackageArgs(t *testing.T) (args []string, dist string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(testdeps.RepoRoot(t), "azure.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Services map[string]struct {
			Dist  string `json:"dist"`
			Hooks map[string]map[string]struct {
				Run string `json:"run"`
			} `json:"hooks"`
		} `json:"services"`
	}
	if err := yaml.Unmarshal(src, &raw); err != nil {
		t.Fatal(err)
	}
	svc, ok := raw.Services["handler"]
	if !ok {
		t.Fatal("azure.yaml has no handler service")
	}
	var runs []string
	for _, variant := range []string{"posix", "windows"} {
		runs = append(runs, svc.Hooks["prepackage"][variant].Run)
	}
	if runs[0] != runs[1] {
		t.Fatalf("prepackage posix %q and windows %q differ", runs[0], runs[1])
	}
	const prefix = "go run ./cmd/funcpackage "
	if !strings.HasPrefix(runs[0], prefix) {
		t.Fatalf("prepackage hook %q does not run ./cmd/funcpackage", runs[0])
	}
	return strings.Fields(strings.TrimPrefix(runs[0], prefix)), svc.Dist
}

// TestHookFromASubfolder runs the prepackage hook exactly as azure.yaml states it, as azd runs it
// (working directory = project root) after `azd up` was started in a subfolder (PWD), and as a
// person runs it from a subfolder: the zip lands at <root>/<dist>, and where azd will open `dist`
// relative to the folder it was started in.
func TestHookFromASubfolder(t *testing.T) {
	args, dist := prepackageArgs(t)
	if !strings.Contains(strings.Join(args, " "), "-azd") {
		t.Errorf("prepackage hook args %q lack -azd: azd started in a subfolder would not find %s", args, dist)
	}
	tool := filepath.Join(t.TempDir(), "funcpackage")
	build := exec.Command("go", "build", "-o", tool, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building cmd/funcpackage: %v\n%s", err, out)
	}

	for _, tc := range []struct{ name, cwd, pwd string }{
		{"azd started in a subfolder", ".", "handler/graphtools"},
		{"run by hand in a subfolder", "infra", "infra"},
		{"azd started in the root", ".", "."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := fixtureRoot(t, goodHost)
			writeFile(t, filepath.Join(root, "azure.yaml"), []byte("name: fixture\n"))
			writeFile(t, filepath.Join(root, "go.mod"), []byte("module example.com/fixture\n\ngo 1.22\n"))
			writeFile(t, filepath.Join(root, "handler", "main.go"), []byte("package main\n\nfunc main() {}\n"))
			for _, d := range []string{tc.cwd, tc.pwd} {
				os.MkdirAll(filepath.Join(root, d), 0o755)
			}
			cmd := exec.Command(tool, args...)
			cmd.Dir = filepath.Join(root, tc.cwd)
			cmd.Env = append(os.Environ(), "PWD="+filepath.Join(root, tc.pwd))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("hook failed: %v\n%s", err, out)
			}
			main := filepath.Join(root, dist)
			want, err := os.ReadFile(main)
			if err != nil {
				t.Fatalf("no package at the root's %s: %v\n%s", dist, err, out)
			}
			if h := readZip(t, main)["handler"]; h == nil || h.Mode().Perm() != 0o755 {
				t.Errorf("handler missing or not 0755 in %s", main)
			}
			if tc.pwd == "." {
				if strings.Contains(string(out), "also at") {
					t.Errorf("started in the root, the hook made a copy: %s", out)
				}
				return
			}
			got, err := os.ReadFile(filepath.Join(root, tc.pwd, dist))
			if err != nil {
				t.Fatalf("azd started in %s opens %s there, but it is missing: %v\n%s", tc.pwd, dist, err, out)
			}
			if !bytes.Equal(got, want) {
				t.Error("the copy differs from the package")
			}
		})
	}
}

func TestAzdDistCopyOnlyInsideTheProject(t *testing.T) {
	root := filepath.FromSlash("/p/repo")
	out := filepath.Join(root, "dist", "functionapp.zip")
	cases := map[string]string{
		"":                                 "",
		"relative/dir":                     "",
		root:                               "",
		filepath.Dir(root):                 "", // above the project: a stale PWD, never written to
		filepath.FromSlash("/tmp"):         "",
		filepath.Join(root, "..", "other"): "",
		filepath.Join(root, "infra"):       filepath.Join(root, "infra", "dist", "functionapp.zip"),
	}
	for pwd, want := range cases {
		if got := AzdDistCopy(root, out, pwd); got != want {
			t.Errorf("AzdDistCopy(%q) = %q, want %q", pwd, got, want)
		}
	}
	if got := AzdDistCopy(root, filepath.FromSlash("/elsewhere/x.zip"), filepath.Join(root, "infra")); got != "" {
		t.Errorf("an -out outside the project was copied to %q", got)
	}
}

func TestProjectRootWalksUp(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "azure.yaml"), []byte("name: x\n"))
	sub := filepath.Join(root, "a", "b")
	os.MkdirAll(sub, 0o755)
	got, err := ProjectRoot(sub)
	if err != nil || got != root {
		t.Errorf("ProjectRoot(%s) = %q, %v; want %s", sub, got, err, root)
	}
	if _, err := ProjectRoot(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no azure.yaml") {
		t.Errorf("outside a project: %v", err)
	}
}
