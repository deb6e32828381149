package config

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite README.md's configuration table")

// TestREADME keeps README's tables equal to Variables and LocalVariables, so no variable goes
// undocumented.
func TestREADME(t *testing.T) {
	const path = "../../README.md"
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	want := s
	for _, tbl := range []struct{ begin, end, table string }{
		{TableBegin, TableEnd, MarkdownTable()},
		{LocalTableBegin, LocalTableEnd, MarkdownLocalTable()},
	} {
		i, j := strings.Index(want, tbl.begin), strings.Index(want, tbl.end)
		if i < 0 || j < i {
			t.Fatalf("README.md lacks the markers %q … %q", tbl.begin, tbl.end)
		}
		want = want[:i] + tbl.begin + "\n" + tbl.table + want[j:]
	}
	if want == s {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's configuration tables are out of date with config.Variables / LocalVariables; run: go test ./handler/config -run TestREADME -update")
}
