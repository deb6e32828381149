package tokenformat

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func fixedKey(id string) Key {
	k := Key{ID: id, Enc: make([]byte, 32), MAC: make([]byte, 32)}
	for i := range k.Enc {
		k.Enc[i] = byte(i)
		k.MAC[i] = byte(0x80 + i)
	}
	return k
}

// TestSealVector pins the shape of a sealed value. That the C# policy code produces and accepts
// the same bytes is shown end to end: the gateway e2e tests open the gateway's tokens with this
// package and present tokens sealed by this package to the gateway (e2e/gateway_rotation_test.go).
func TestSealVector(t *testing.T) {
	iv, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f")
	got, err := SealWithIV(fixedKey("k1"), PurposeAccessToken, []byte(`{"v":1}`), iv)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(got, ".")
	if len(parts) != 3 || parts[0] != "k1" || len(parts[2]) != 43 {
		t.Fatalf("shape: %d parts, kid %q, tag length %d", len(parts), parts[0], len(parts[2]))
	}
	pt, err := Open([]Key{fixedKey("k1")}, PurposeAccessToken, got)
	if err != nil || string(pt) != `{"v":1}` {
		t.Fatalf("round trip: %v %q", err, pt)
	}
}

func TestSealRoundTripSizes(t *testing.T) {
	k := fixedKey("k1")
	for n := 0; n < 70; n++ {
		pt := bytes.Repeat([]byte{'x'}, n)
		s, err := Seal(k, PurposeCode, pt)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Open([]Key{k}, PurposeCode, s)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("n=%d: %v", n, err)
		}
	}
}

func TestSealRandomIV(t *testing.T) {
	k := fixedKey("k1")
	a, _ := Seal(k, PurposeAccessToken, []byte("same"))
	b, _ := Seal(k, PurposeAccessToken, []byte("same"))
	if a == b {
		t.Fatal("two seals of the same plaintext are identical: IV is not random")
	}
}

func TestOpenRefuses(t *testing.T) {
	k1, k2 := fixedKey("k1"), fixedKey("k2")
	k2.MAC[0] ^= 1
	good, _ := Seal(k1, PurposeAccessToken, []byte(`{"v":1}`))
	parts := strings.Split(good, ".")
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	other, _ := Seal(k2, PurposeAccessToken, []byte(`{"v":1}`))
	cases := []struct {
		name, tok, purpose string
		keys               []Key
		want               error
	}{
		{"body bit flip", parts[0] + "." + flip(parts[1], 5) + "." + parts[2], PurposeAccessToken, []Key{k1}, ErrBadTag},
		{"tag bit flip", parts[0] + "." + parts[1] + "." + flip(parts[2], 3), PurposeAccessToken, []Key{k1}, ErrBadTag},
		{"truncated body", parts[0] + "." + parts[1][:len(parts[1])-4] + "." + parts[2], PurposeAccessToken, []Key{k1}, ErrBadTag},
		{"truncated tag", parts[0] + "." + parts[1] + "." + parts[2][:20], PurposeAccessToken, []Key{k1}, ErrBadTag},
		{"two parts", parts[0] + "." + parts[1], PurposeAccessToken, []Key{k1}, ErrMalformed},
		{"empty", "", PurposeAccessToken, []Key{k1}, ErrMalformed},
		{"unknown kid", "k9." + parts[1] + "." + parts[2], PurposeAccessToken, []Key{k1}, ErrUnknownKey},
		{"kid swapped to a known key", "k2." + parts[1] + "." + parts[2], PurposeAccessToken, []Key{k1, k2}, ErrBadTag},
		{"other key's token", other, PurposeAccessToken, []Key{k1}, ErrUnknownKey},
		{"wrong purpose", good, PurposeCode, []Key{k1}, ErrBadTag},
		{"oversized", strings.Repeat("a", MaxSealedLength+1), PurposeAccessToken, []Key{k1}, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Open(c.keys, c.purpose, c.tok); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestKeyValidation(t *testing.T) {
	if _, err := NewKey("bad.id"); err == nil {
		t.Fatal("key id with a dot accepted")
	}
	if _, err := Seal(Key{ID: "k"}, PurposeCode, nil); err == nil {
		t.Fatal("short key accepted")
	}
	k, err := NewKey("2026-01")
	if err != nil || len(k.EncBase64()) != 44 || len(k.MACBase64()) != 44 {
		t.Fatalf("NewKey: %v", err)
	}
}
