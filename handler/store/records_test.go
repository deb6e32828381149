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
