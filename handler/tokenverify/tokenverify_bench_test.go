package tokenverify

import (
	"context"
	"testing"
	"time"
)

// BenchmarkVerifyCached is the hot path: a token seen before costs a SHA-256 and a map lookup.
func BenchmarkVerifyCached(b *testing.B) {
	f := newFakeEntra(b)
	v := f.verifier(b, nil)
	c := v2Claims(time.Now())
	c["iss"] = f.srv.URL + "/" + tenant + "/v2.0"
	tok := f.sign(b, c)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		b.Fatal(err)
	}
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
	f := newFakeEntra(b)
	v := f.verifier(b, nil)
	c := v2Claims(time.Now())
	c["iss"] = f.srv.URL + "/" + tenant + "/v2.0"
	tok := f.sign(b, c)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		v.cache.delete(sha(tok))
		if _, err := v.Verify(context.Background(), tok); err != nil {
			b.Fatal(err)
		}
	}
}
