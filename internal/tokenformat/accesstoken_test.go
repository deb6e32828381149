package tokenformat

import (
	"errors"
	"testing"
	"time"
)

func TestAccessToken(t *testing.T) {
	k := fixedKey("k1")
	now := time.Unix(1_700_000_000, 0)
	base := AccessToken{ClientID: "c1", Resource: "https://gw/mcp", ObjectID: "o", IssuedAt: now.Unix(), Expiry: now.Unix() + 60, Entra: "e"}
	tok, err := SealAccessToken(k, base)
	if err != nil {
		t.Fatal(err)
	}
	at, err := OpenAccessToken([]Key{k}, tok, "https://gw/mcp", now)
	if err != nil || at.ClientID != "c1" || at.V != 1 {
		t.Fatalf("open: %v", err)
	}
	if _, err := OpenAccessToken([]Key{k}, tok, "https://gw/mcp", now.Add(time.Minute)); !errors.Is(err, ErrExpired) {
		t.Fatalf("at exp: %v", err)
	}
	if _, err := OpenAccessToken([]Key{k}, tok, "https://other/mcp", now); !errors.Is(err, ErrWrongResource) {
		t.Fatalf("other resource: %v", err)
	}
	noEntra := base
	noEntra.Entra = ""
	tok2, _ := SealAccessToken(k, noEntra)
	if _, err := OpenAccessToken([]Key{k}, tok2, "https://gw/mcp", now); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("no entra token: %v", err)
	}
	codeSealed, _ := Seal(k, PurposeCode, []byte(`{"v":1,"cid":"c1","res":"https://gw/mcp","exp":9999999999,"eat":"e"}`))
	if _, err := OpenAccessToken([]Key{k}, codeSealed, "https://gw/mcp", now); !errors.Is(err, ErrBadTag) {
		t.Fatalf("code payload accepted as access token: %v", err)
	}
}
