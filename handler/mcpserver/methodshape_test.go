package mcpserver

import (
	"regexp"
	"strings"
	"testing"
)

// methodShaped is the written-out form of this regexp; both must agree on every input.
var methodRE = regexp.MustCompile(`^[a-z][a-zA-Z/_]{0,63}$`)

func TestMethodShapedMatchesItsRegexp(t *testing.T) {
	for _, s := range []string{"", "a", "tools/call", "notifications/initialized", "Tools/call", "_x", "/x",
		"tools/call\n", "tools-call", "tools.call", "a" + strings.Repeat("b", 63), "a" + strings.Repeat("b", 64),
		"toolé", "ping\x00", "eyJhbGciOiJSUzI1NiJ9.e30.x"} {
		if got, want := methodShaped(s), methodRE.MatchString(s); got != want {
			t.Errorf("methodShaped(%q) = %v, regexp says %v", s, got, want)
		}
	}
}

func FuzzMethodShaped(f *testing.F) {
	f.Add("tools/call")
	f.Add("a" + strings.Repeat("Z", 63))
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := methodShaped(s), methodRE.MatchString(s); got != want {
			t.Fatalf("methodShaped(%q) = %v, regexp says %v", s, got, want)
		}
	})
}
