package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// README.md is the front door, and `make dev` is its first command. These checks are cheap and
// catch drift: every `make` target README names exists in the Makefile, every repository path
// and link it names exists (with its #anchor), and its table of `make dev` knobs matches the flags.

var (
	fenceRE    = regexp.MustCompile("(?s)```[a-z]*\n(.*?)```")
	codeSpanRE = regexp.MustCompile("`([^`\n]+)`")
	makeRE     = regexp.MustCompile(`\bmake ([a-z][a-z-]*)`)
	targetRE   = regexp.MustCompile(`(?m)^([a-z][a-z-]*):`)
	linkRE     = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	// Paths under the top-level folders of the repository, as README writes them in code.
	repoPathRE = regexp.MustCompile(`(?:^|[\s("'=])(?:\./)?((?:handler|apim-policies|infra|devstack|internal|cmd|e2e|docs|functions|\.ci)(?:/[A-Za-z0-9_.\-]+)*)`)
	headingRE  = regexp.MustCompile(`(?m)^#{1,6} (.+)$`)
)

func readmeText(t *testing.T) (root, text string) {
	t.Helper()
	root = repoRoot()
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return root, string(b)
}

// codeIn returns the text of README's fenced blocks and code spans: where commands and paths are.
func codeIn(text string) []string {
	var out []string
	for _, m := range fenceRE.FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	for _, m := range codeSpanRE.FindAllStringSubmatch(fenceRE.ReplaceAllString(text, ""), -1) {
		out = append(out, m[1])
	}
	return out
}

func TestREADMEMakeTargetsExist(t *testing.T) {
	root, text := readmeText(t)
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, m := range targetRE.FindAllStringSubmatch(string(mk), -1) {
		targets[m[1]] = true
	}
	seen := map[string]bool{}
	for _, code := range codeIn(text) {
		for _, m := range makeRE.FindAllStringSubmatch(code, -1) {
			seen[m[1]] = true
			if !targets[m[1]] {
				t.Errorf("README names `make %s`, which the Makefile does not define", m[1])
			}
		}
	}
	for _, want := range []string{"dev", "test", "deps"} {
		if !seen[want] {
			t.Errorf("README does not mention `make %s`", want)
		}
	}
}

func TestREADMEPathsExist(t *testing.T) {
	root, text := readmeText(t)
	checked := 0
	for _, code := range codeIn(text) {
		for _, m := range repoPathRE.FindAllStringSubmatch(code, -1) {
			p := strings.TrimRight(m[1], ".")
			if strings.Contains(p, "node_modules") { // installed by `make deps`, not part of the tree
				continue
			}
			checked++
			if _, err := os.Stat(filepath.Join(root, p)); err != nil {
				t.Errorf("README names %s, which does not exist", p)
			}
		}
	}
	for _, m := range linkRE.FindAllStringSubmatch(text, -1) {
		target := m[1]
		if strings.Contains(target, "://") {
			continue
		}
		file, anchor, _ := strings.Cut(target, "#")
		doc := text
		if file != "" {
			checked++
			b, err := os.ReadFile(filepath.Join(root, file))
			if err != nil {
				if fi, serr := os.Stat(filepath.Join(root, file)); serr != nil || !fi.IsDir() {
					t.Errorf("README links to %s, which does not exist", file)
				}
				continue
			}
			doc = string(b)
		}
		if anchor != "" && !hasAnchor(doc, anchor) {
			t.Errorf("README links to %s, but %s has no heading with that anchor", target, orREADME(file))
		}
	}
	if checked < 10 {
		t.Fatalf("only %d paths found in README; the patterns no longer match how it names paths", checked)
	}
}

// hasAnchor applies GitHub's heading-anchor rule: lower case, punctuation dropped, spaces to '-'.
func hasAnchor(doc, anchor string) bool {
	for _, m := range headingRE.FindAllStringSubmatch(doc, -1) {
		var b strings.Builder
		for _, r := range strings.ToLower(m[1]) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
				b.WriteRune(r)
			}
		}
		if b.String() == anchor {
			return true
		}
	}
	return false
}

func orREADME(file string) string {
	if file == "" {
		return "README.md"
	}
	return file
}

// TestREADMEDocumentsEveryFlag: each flag of this program appears in README with its variable.
func TestREADMEDocumentsEveryFlag(t *testing.T) {
	_, text := readmeText(t)
	fs, _ := newFlagSet(func(string) string { return "" })
	fs.VisitAll(func(f *flag.Flag) {
		env := regexp.MustCompile(`\(env (` + envPrefix + `[A-Z_]+)`).FindStringSubmatch(f.Usage)
		if env == nil {
			t.Errorf("flag -%s does not name its DEVSTACK_ variable in its usage", f.Name)
			return
		}
		row := "| `" + env[1]
		if !strings.Contains(text, row) || !strings.Contains(text, "`-"+f.Name+"`") {
			t.Errorf("README's knobs table lacks -%s / %s", f.Name, env[1])
		}
	})
}

// TestREADMEMatchesCIAndAzd: README's two commands are what CI runs, and its azd prerequisites
// follow azure.yaml (the minimum azd version; the alpha switch while the service uses language custom).
func TestREADMEMatchesCIAndAzd(t *testing.T) {
	root, text := readmeText(t)
	ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^make deps\nmake test\n?$`).Match(ci) {
		t.Error(".ci/run no longer ends with `make deps` and `make test`, which README presents as what CI runs")
	}
	azd, err := os.ReadFile(filepath.Join(root, "azure.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`azd: ">= ([0-9.]+)"`).FindSubmatch(azd); m == nil || !strings.Contains(text, "azd ≥ "+string(m[1])) {
		t.Errorf("README's azd version does not match azure.yaml's requiredVersions (%q)", m)
	}
	if regexp.MustCompile(`(?m)^\s+language: custom`).Match(azd) && !strings.Contains(text, "azd config set alpha.language.custom on") {
		t.Error("azure.yaml uses language custom, but README does not tell to run `azd config set alpha.language.custom on`")
	}
}
