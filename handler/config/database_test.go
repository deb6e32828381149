package config

import (
	"regexp"
	"strings"
	"testing"
)

// cosmosDatabaseOK must accept exactly what the regular expression it replaces accepts.
func FuzzCosmosDatabaseMatchesTheGrammar(f *testing.F) {
	re := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$`)
	for _, s := range []string{"mcpgateway", "a", "", "_a", "-a", "a_b-c", "bad name", strings.Repeat("x", 255), strings.Repeat("x", 256), "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := cosmosDatabaseOK(s), re.MatchString(s); got != want {
			t.Fatalf("cosmosDatabaseOK(%q) = %v, the grammar says %v", s, got, want)
		}
	})
}
