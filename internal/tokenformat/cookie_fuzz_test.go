package tokenformat

import (
	"errors"
	"testing"
)

// FuzzVerifyCookie: no cookie value makes VerifyCookie panic; a value verifies only under the
// purpose it was signed for and only when it is exactly what SignCookie makes of its payload
// (so a forged, re-encoded or re-purposed cookie never passes), and every failure is
// ErrBadCookie. The seeds are the cookies the gateway sets (consent grants, the CSRF nonce,
// the transaction binding) and their usual corruptions.
func FuzzVerifyCookie(f *testing.F) {
	key := fixedKey("k1").MAC
	samples := map[string]string{
		// consent-post.xml: up to 16 [grant, expiry] pairs
		PurposeConsent: `{"g":[["b8uQ7qkJt1VYc4m8G3M1i5Vb0y0pWq4q3i5Cw5kq2Q0",1893456000]],"exp":1893456000}`,
		// consent.xml: the CSRF nonce and the grant the page is for
		PurposeCSRF: `{"n":"q3Jb0e2pVt1nUuM8kXJ4wW0o6M4ZC1Zl7N4ym6Zq2aA","g":"b8uQ7qkJt1VYc4m8G3M1i5Vb0y0pWq4q3i5Cw5kq2Q0","exp":1893456000}`,
		// authorize.xml: the hash of the state toward Entra and a browser-binding nonce
		PurposeTx: `{"s":"7yqjPqNcy4bJ8b9c0ZzVpX3uR1wq2e5t6y7u8i9o0pA","b":"q3Jb0e2pVt1nUuM8kXJ4wW0o6M4ZC1Zl7N4ym6Zq2aA","exp":1893456000}`,
	}
	for purpose, payload := range samples {
		v := SignCookie(key, purpose, []byte(payload))
		f.Add(purpose, v)
		f.Add(purpose, v+".x")
		f.Add(purpose, v[:len(v)-1])
		f.Add(purpose, B64([]byte(payload)))
	}
	f.Add(PurposeConsent, "")
	f.Add(PurposeConsent, ".")
	f.Add(PurposeConsent, "e30.")
	f.Fuzz(func(t *testing.T, purpose, value string) {
		payload, err := VerifyCookie(key, purpose, value)
		if err != nil {
			if !errors.Is(err, ErrBadCookie) {
				t.Fatalf("failure is not ErrBadCookie: %v", err)
			}
			return
		}
		if SignCookie(key, purpose, payload) != value {
			t.Fatalf("a value SignCookie did not make verified")
		}
		for _, other := range []string{PurposeConsent, PurposeCSRF, PurposeTx, PurposeCSRFForm} {
			if other != purpose {
				if _, err := VerifyCookie(key, other, value); err == nil {
					t.Fatalf("a %s cookie verified as %s", purpose, other)
				}
			}
		}
	})
}
