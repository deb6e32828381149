package config

import (
	"regexp"
	"testing"
)

// isGUID is the written-out form of this regexp; both must agree on every input.
var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func TestIsGUIDMatchesItsRegexp(t *testing.T) {
	for _, s := range []string{"", "00000000-0000-0000-0000-000000000000", "ABCDEF01-2345-6789-abcd-ef0123456789",
		"00000000-0000-0000-0000-00000000000", "00000000-0000-0000-0000-0000000000000", "00000000x0000-0000-0000-000000000000",
		"0000000g-0000-0000-0000-000000000000", "{00000000-0000-0000-0000-000000000000}", "00000000-0000-0000-0000-000000000000\n",
		"000000000-000-0000-0000-000000000000", "00000000-0000-0000-0000-00000000000é"} {
		if got, want := isGUID(s), guidRE.MatchString(s); got != want {
			t.Errorf("isGUID(%q) = %v, regexp says %v", s, got, want)
		}
	}
}

func FuzzIsGUID(f *testing.F) {
	f.Add("72f988bf-86f1-41af-91ab-2d7cd011db47")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isGUID(s), guidRE.MatchString(s); got != want {
			t.Fatalf("isGUID(%q) = %v, regexp says %v", s, got, want)
		}
	})
}
