package logging

import (
	"regexp"
	"strings"
	"testing"
)

// The loop accepts exactly what the regexp it replaced accepted.
func FuzzInvocationIDMatchesTheGrammar(f *testing.F) {
	re := regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
	for _, s := range []string{"", "a", "0f8fad5b-d9cb-469f-a165-70867728950e", "a b", "a\nb", "ü", "x;y",
		strings.Repeat("x", 128), strings.Repeat("x", 129), "A.Z_0:9-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validInvocationID(s), re.MatchString(s); got != want {
			t.Fatalf("validInvocationID(%q) = %v, the grammar says %v", s, got, want)
		}
	})
}
