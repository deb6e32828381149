package toolchain

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// Every policy the checker accepts has a fixture the emulator tests execute, and the emulator
// implements exactly the policies the checker accepts — so "known" always means "runs here".
func TestElementTableMatchesFixturesAndEmulator(t *testing.T) {
	g, ds := Load(filepath.Join("testdata", "elements", "gateway.json"))
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	used := map[string]bool{}
	for _, root := range g.Docs {
		walkNodes(root, func(n *Node) { used[n.Name] = true })
	}
	known := KnownPolicies()
	sort.Strings(known)
	for _, name := range known {
		if !used[name] {
			t.Errorf("<%s> has no fixture under testdata/elements: add one and a test in internal/apimemu", name)
		}
	}

	src, err := os.ReadFile(filepath.Join(PoliciesDir(), "emulator", "Loader.cs"))
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)Implemented = \{(.*?)\};`).FindSubmatch(src)
	if block == nil {
		t.Fatal("cannot find Loader.Implemented in emulator/Loader.cs")
	}
	var implemented []string
	for _, m := range regexp.MustCompile(`"([a-z-]+)"`).FindAllSubmatch(block[1], -1) {
		implemented = append(implemented, string(m[1]))
	}
	sort.Strings(implemented)
	if strings.Join(implemented, ",") != strings.Join(known, ",") {
		t.Errorf("emulator implements %v\nchecker accepts     %v", implemented, known)
	}
}
