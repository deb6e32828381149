package store

import (
	"errors"
	"regexp"
	"strconv"
	"testing"
)

func TestSecretsAndIDs(t *testing.T) {
	s := NewSecret()
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(s) || s == NewSecret() {
		t.Fatalf("NewSecret: unexpected shape (length %d) or repeated", len(s))
	}
	if id := NewID(); !regexp.MustCompile(`^[A-Z2-7]{26}$`).MatchString(id) {
		t.Fatalf("NewID: unexpected shape %q", id)
	}
	// RFC 7636 appendix B vector: SHA-256 of the verifier, base64url.
	if got := HashSecret("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); got != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Fatalf("HashSecret = %s", got)
	}
}

// TestApplyRotationForgetsOldestSpent: the spent list is bounded; a handle older than
// MaxSpentHandles rotations is unknown (no revocation), a recent one is reuse.
func TestApplyRotationForgetsOldestSpent(t *testing.T) {
	f := Family{ID: "f", ClientID: "c", CurrentHash: "h0"}
	for i := 1; i <= MaxSpentHandles+5; i++ {
		next, _, err := ApplyRotation(f, Rotation{FamilyID: "f", PresentedHash: f.CurrentHash, ClientID: "c", NextHash: "h" + strconv.Itoa(i)})
		if err != nil {
			t.Fatalf("rotation %d: %v", i, err)
		}
		f = *next
	}
	if len(f.SpentHashes) != MaxSpentHandles || f.Generation != MaxSpentHandles+5 {
		t.Fatalf("%d spent hashes kept, generation %d", len(f.SpentHashes), f.Generation)
	}
	if _, w, err := ApplyRotation(f, Rotation{PresentedHash: "h0", ClientID: "c"}); !errors.Is(err, ErrNotFound) || w != nil {
		t.Fatalf("forgotten handle: %v (write %v)", err, w != nil)
	}
	_, w, err := ApplyRotation(f, Rotation{PresentedHash: "h10", ClientID: "c", Now: 99})
	if !errors.Is(err, ErrReuse) || w == nil || !w.Revoked || w.RevokedAt != 99 {
		t.Fatalf("recent spent handle: %v", err)
	}
}

// TestFamilyDecisions: the payload-update and revocation rules both stores apply.
func TestFamilyDecisions(t *testing.T) {
	base := Family{ID: "f", ClientID: "c", CurrentHash: "h1", SpentHashes: []string{"h0"}, Payload: "p0"}
	for _, tc := range []struct {
		name         string
		f            Family
		hash, client string
		want         error
	}{
		{"current handle, own client", base, "h1", "c", nil},
		{"spent handle", base, "h0", "c", ErrNotFound},
		{"other client", base, "h1", "x", ErrMismatch},
		{"revoked", Family{ID: "f", ClientID: "c", CurrentHash: "h1", Revoked: true}, "h1", "c", ErrRevoked},
	} {
		f := tc.f
		err := ApplyPayloadUpdate(&f, tc.hash, tc.client, "p1", 7)
		if err != tc.want {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
		if changed := f.Payload == "p1" && f.UpdatedAt == 7; changed != (tc.want == nil) {
			t.Errorf("%s: family changed = %v, want %v", tc.name, changed, tc.want == nil)
		}
	}

	f := base
	if !ApplyRevocation(&f, 9) || !f.Revoked || f.RevokedAt != 9 || f.UpdatedAt != 9 {
		t.Fatalf("first revocation: %+v", f)
	}
	if ApplyRevocation(&f, 10) || f.RevokedAt != 9 {
		t.Fatalf("revoking again must write nothing: %+v", f)
	}
}
