package tokenverify

import (
	"context"
	"testing"
	"time"
)

// verifiedOnce returns a verifier against a fake Entra and a valid token it has verified once
// (so its signing keys are fetched and the token is cached).
func verifiedOnce(b *testing.B) (*Verifier, string) {
	f := newFakeEntra(b)
	v := f.verifier(b, nil)
	tok := f.sign(b, f.v2Claims(time.Now()))
	if _, err := v.Verify(context.Background(), tok); err != nil {
		b.Fatal(err)
	}
	return v, tok
}

// BenchmarkVerifyCached is the hot path: a token seen before costs a SHA-256 and a map lookup.
func BenchmarkVerifyCached(b *testing.B) {
	v, tok := verifiedOnce(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(context.Background(), tok); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerifyUncached measures a first sight: parse, RS256 verification, claim checks.
func BenchmarkVerifyUncached(b *testing.B) {
	v, tok := verifiedOnce(b)
	b.ReportAllocs()
	for b.Loop() {
		v.cache.delete(sha(tok))
		if _, err := v.Verify(context.Background(), tok); err != nil {
			b.Fatal(err)
		}
	}
}
