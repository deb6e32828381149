package tokenformat

import (
	"errors"
	"testing"
)

func TestCookie(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	v := SignCookie(key, PurposeConsent, []byte(`{"v":1}`))
	got, err := VerifyCookie(key, PurposeConsent, v)
	if err != nil || string(got) != `{"v":1}` {
		t.Fatalf("verify: %v", err)
	}
	for name, bad := range map[string]string{
		"unsigned":      B64([]byte(`{"v":1}`)),
		"other purpose": SignCookie(key, PurposeTx, []byte(`{"v":1}`)),
		"other key":     SignCookie([]byte("x"), PurposeConsent, []byte(`{"v":1}`)),
		"extra part":    v + ".x",
		"tampered":      B64([]byte(`{"v":2}`)) + v[len(B64([]byte(`{"v":1}`))):],
	} {
		if _, err := VerifyCookie(key, PurposeConsent, bad); !errors.Is(err, ErrBadCookie) {
			t.Errorf("%s: accepted (%v)", name, err)
		}
	}
}

func TestGrantAndS256(t *testing.T) {
	if Grant("c", "http://127.0.0.1:1/cb") == Grant("c", "http://127.0.0.1:2/cb") {
		t.Fatal("grant does not bind the exact redirect URI")
	}
	// RFC 7636 appendix B.
	if got := S256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); got != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Fatalf("S256 = %s", got)
	}
}
