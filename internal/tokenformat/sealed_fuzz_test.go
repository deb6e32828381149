package tokenformat

import (
	"bytes"
	"testing"
	"time"
)

// FuzzOpen: no input makes Open or OpenAccessToken panic, and nothing but an untouched sealed
// value opens (the tag check comes first, so a mutation either is the original or fails).
func FuzzOpen(f *testing.F) {
	k := fixedKey("k1")
	good, _ := SealAccessToken(k, AccessToken{ClientID: "c", Resource: "r", Entra: "e", Expiry: 1 << 40})
	f.Add(good)
	f.Add("k1..")
	f.Add("k1.AAAA.AAAA")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		pt, err := Open([]Key{k}, PurposeAccessToken, s)
		if err == nil && s != good && !bytes.Equal(pt, mustOpen(t, k, good)) {
			t.Fatalf("a mutated value opened to different plaintext")
		}
		_, _ = OpenAccessToken([]Key{k}, s, "r", time.Unix(0, 0))
		_, _ = VerifyCookie(k.MAC, PurposeConsent, s)
	})
}

func mustOpen(t *testing.T, k Key, s string) []byte {
	pt, err := Open([]Key{k}, PurposeAccessToken, s)
	if err != nil {
		t.Fatal(err)
	}
	return pt
}
