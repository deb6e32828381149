package logging

import (
	"strings"
	"testing"
	"unicode"
)

// The shortcut must never change the result: Redact must equal redactAll on every input.
func TestRedactShortcutChangesNothing(t *testing.T) {
	for _, s := range []string{"/mcp", "/", "/internal/v1/clients/abc", "BEARER x", "bEaReR\tx", "Bearer", "xbearer  tok",
		"eyJab.cd.e", "code=x", "password: y", "/mcp;code=1", "bearer​ x", "ʙearer x"} {
		if got, want := Redact(s), redactAll(s); got != want {
			t.Errorf("Redact(%q) = %q, without the shortcut %q", s, got, want)
		}
	}
	// The shortcut's case-insensitive "bearer" is ASCII only; (?i) folds by Unicode, so every
	// letter of "bearer" must have no case fold beyond its ASCII pair.
	for _, c := range "bear" {
		for f := unicode.SimpleFold(c); f != c; f = unicode.SimpleFold(f) {
			if f > unicode.MaxASCII {
				t.Errorf("%q folds to %q: the ASCII-only check in mayNeedRedaction misses it", c, f)
			}
		}
	}
}

func FuzzRedactShortcut(f *testing.F) {
	f.Add("/mcp")
	f.Add("Authorization: Bearer abc")
	f.Add(strings.Repeat("b", 10) + "earer x")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Redact(s), redactAll(s); got != want {
			t.Fatalf("Redact(%q) = %q, without the shortcut %q", s, got, want)
		}
	})
}
