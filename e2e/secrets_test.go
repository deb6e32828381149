package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// jwtRE matches anything shaped like a JWS compact serialisation (three base64url parts, the
// first two starting with "eyJ", i.e. a JSON object). Handler logs must contain none.
var jwtRE = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*`)

// assertNoSecrets fails when any line contains one of the secrets or a JWT-looking string.
// Failure messages name the line number and what matched, never the secret.
func assertNoSecrets(t *testing.T, what string, lines []string, secrets ...string) {
	t.Helper()
	for _, f := range findSecrets(lines, secrets) {
		t.Errorf("%s %s", what, f)
	}
}

// findSecrets describes each leak found (line number and kind, never the secret).
func findSecrets(lines, secrets []string) []string {
	var found []string
	for i, l := range lines {
		for j, s := range secrets {
			if s != "" && strings.Contains(l, s) {
				found = append(found, fmt.Sprintf("line %d contains secret #%d (%d bytes)", i+1, j, len(s)))
			}
		}
		if jwtRE.MatchString(l) {
			found = append(found, fmt.Sprintf("line %d contains a JWT-looking string", i+1))
		}
	}
	return found
}

func TestJWTPatternMatchesTokens(t *testing.T) {
	tok := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
	if !jwtRE.MatchString(`{"msg":"x","auth":"Bearer ` + tok + `"}`) {
		t.Fatal("jwtRE misses a compact JWS")
	}
	if jwtRE.MatchString(`{"msg":"request","request_id":"0f8fad5b-d9cb-469f-a165-70867728950e"}`) {
		t.Fatal("jwtRE matches a GUID")
	}
}

func TestFindSecrets(t *testing.T) {
	tok := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
	lines := []string{
		`{"msg":"request","request_id":"r1","status":200}`,
		`{"msg":"oops","authorization":"Bearer ` + tok + `"}`,
		`{"msg":"key","k":"function-key-123"}`,
	}
	got := findSecrets(lines, []string{"function-key-123"})
	if len(got) != 2 {
		t.Fatalf("findSecrets = %q, want the JWT on line 2 and the key on line 3", got)
	}
	for _, f := range got {
		if strings.Contains(f, tok) || strings.Contains(f, "function-key-123") {
			t.Fatalf("a finding repeats the secret: %q", f)
		}
	}
}
