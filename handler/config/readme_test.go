package config

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite README.md's configuration table")

// TestREADME keeps README's table equal to Variables, so no variable goes undocumented.
func TestREADME(t *testing.T) {
	const path = "../../README.md"
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	i, j := strings.Index(s, TableBegin), strings.Index(s, TableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the markers %q … %q", TableBegin, TableEnd)
	}
	want := s[:i] + TableBegin + "\n" + MarkdownTable() + s[j:]
	if want == s {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's configuration table is out of date with config.Variables; run: go test ./handler/config -run TestREADME -update")
}
