package cimd

import (
	"regexp"
	"strings"
	"testing"
)

// etagOK must accept exactly what the regular expression it replaces accepts.
func FuzzETagMatchesTheGrammar(f *testing.F) {
	re := regexp.MustCompile(`^(W/)?"[\x21\x23-\x7e]{0,250}"$`)
	for _, s := range []string{`"abc"`, `W/"abc"`, `""`, `W/""`, `"a"b"`, `W/W/"a"`, `"` + strings.Repeat("x", 250) + `"`,
		`"` + strings.Repeat("x", 251) + `"`, `"a b"`, "\"\x7f\"", `abc`, `"`, `W/"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := etagOK(s), re.MatchString(s); got != want {
			t.Fatalf("etagOK(%q) = %v, the grammar says %v", s, got, want)
		}
	})
}
