package tokenverify

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	tenant = "aaaaaaaa-0000-4000-8000-000000000001"
	app    = "bbbbbbbb-0000-4000-8000-000000000002"
)

// fakeEntra serves a JWKS whose keys the test can roll over, and counts fetches.
type fakeEntra struct {
	srv     *httptest.Server
	mu      sync.Mutex
	keys    map[string]*rsa.PrivateKey
	current string
	fetches atomic.Int64
}

func newFakeEntra(t testing.TB) *fakeEntra {
	f := &fakeEntra{keys: map[string]*rsa.PrivateKey{}}
	f.rollover(t)
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/"+tenant+"/discovery/v2.0/keys" {
			http.NotFound(w, r)
			return
		}
		f.fetches.Add(1)
		f.mu.Lock()
		defer f.mu.Unlock()
		var keys []map[string]string
		for kid, k := range f.keys {
			keys = append(keys, map[string]string{"kty": "RSA", "use": "sig", "kid": kid,
				"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
				"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// rollover replaces the signing key: the old kid leaves the JWKS, as after an Entra rollover.
func (f *fakeEntra) rollover(t testing.TB) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	kid := "kid-" + base64.RawURLEncoding.EncodeToString(k.N.Bytes()[:6])
	f.keys = map[string]*rsa.PrivateKey{kid: k}
	f.current = kid
}

func (f *fakeEntra) sign(t testing.TB, c jwt.MapClaims) string {
	f.mu.Lock()
	k, kid := f.keys[f.current], f.current
	f.mu.Unlock()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fakeEntra) publicKeyPEMish() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, _ := x509.MarshalPKIXPublicKey(&f.keys[f.current].PublicKey)
	return b
}

func (f *fakeEntra) verifier(t testing.TB, mod func(*Options)) *Verifier {
	o := &Options{TenantID: tenant, ClientID: app, AuthorityHost: f.srv.URL + "/", HTTPClient: f.srv.Client(), Logger: slog.New(slog.DiscardHandler)}
	if mod != nil {
		mod(o)
	}
	v, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// issuerV2 is the v2.0 issuer of tokens from this fake tenant.
func (f *fakeEntra) issuerV2() string { return f.srv.URL + "/" + tenant + "/v2.0" }

// v2Claims are the claims of a valid v2.0 access token for our API issued by this fake, at now.
func (f *fakeEntra) v2Claims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": f.issuerV2(),
		"aud": app, "tid": tenant, "oid": "user-1", "scp": "access_as_user other",
		"roles": []string{"Tools.Mail"}, "name": "Adele", "preferred_username": "adele@contoso.test",
		"azp": "client-1", "exp": now.Add(time.Hour).Unix(), "nbf": now.Add(-time.Minute).Unix(), "iat": now.Unix(), "ver": "2.0",
	}
}

func TestVerify(t *testing.T) {
	f := newFakeEntra(t)
	v := f.verifier(t, nil)
	now := time.Now()
	iss1 := "https://sts.windows.net/" + tenant + "/"
	with := func(mod func(jwt.MapClaims)) string {
		c := f.v2Claims(now)
		mod(c)
		return f.sign(t, c)
	}
	hs256 := func() string {
		c := f.v2Claims(now)
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
		tok.Header["kid"] = f.current
		s, _ := tok.SignedString(f.publicKeyPEMish())
		return s
	}
	none := func() string {
		c := f.v2Claims(now)
		s, _ := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
		return s
	}
	other := newFakeEntra(t) // same kid shape, different key
	foreign := func() string {
		c := f.v2Claims(now)
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
		tok.Header["kid"] = f.current // a known kid, wrong key
		s, _ := tok.SignedString(other.keys[other.current])
		return s
	}

	cases := []struct {
		name    string
		token   string
		wantErr error
		desc    string
	}{
		{"v2 ok", with(func(jwt.MapClaims) {}), nil, ""},
		{"v1 ok with api:// audience", with(func(c jwt.MapClaims) { c["iss"] = iss1; c["aud"] = "api://" + app; c["ver"] = "1.0" }), nil, ""},
		{"empty", "", ErrInvalidToken, "no access token"},
		{"malformed", "not.a.jwt", ErrInvalidToken, "malformed"},
		{"wrong signature", foreign(), ErrInvalidToken, "signature is invalid"},
		{"alg none", none(), ErrInvalidToken, "only RS256"},
		{"HS256 with the public key", hs256(), ErrInvalidToken, "only RS256"},
		{"wrong audience", with(func(c jwt.MapClaims) { c["aud"] = "api://someone-else" }), ErrInvalidToken, "different audience"},
		{"wrong issuer", with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example/" + tenant + "/v2.0" }), ErrInvalidToken, "issuer"},
		{"wrong tenant", with(func(c jwt.MapClaims) { c["tid"] = "cccccccc-0000-4000-8000-000000000003" }), ErrInvalidToken, "different tenant"},
		{"expired", with(func(c jwt.MapClaims) { c["exp"] = now.Add(-10 * time.Minute).Unix() }), ErrInvalidToken, "expired"},
		{"expired within leeway", with(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() }), nil, ""},
		{"no exp", with(func(c jwt.MapClaims) { delete(c, "exp") }), ErrInvalidToken, "required claim"},
		{"not yet valid", with(func(c jwt.MapClaims) { c["nbf"] = now.Add(10 * time.Minute).Unix() }), ErrInvalidToken, "not valid yet"},
		{"app-only token", with(func(c jwt.MapClaims) { delete(c, "oid") }), ErrInvalidToken, "oid"},
		{"missing scope", with(func(c jwt.MapClaims) { c["scp"] = "other" }), ErrInsufficientScope, "access_as_user"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, err := v.Verify(context.Background(), tc.token)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if id.ObjectID != "user-1" || id.TenantID != tenant || !id.HasRole("Tools.Mail") || id.UPN != "adele@contoso.test" {
					t.Fatalf("identity = %+v", id)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.desc) {
				t.Fatalf("err %q does not mention %q", err, tc.desc)
			}
			if strings.Contains(err.Error(), "eyJ") {
				t.Fatal("error text contains token material")
			}
		})
	}
}

func TestCacheServesUntilExpiry(t *testing.T) {
	f := newFakeEntra(t)
	now := time.Now()
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	v := f.verifier(t, func(o *Options) { o.Now = func() time.Time { return *clock.Load() } })
	c := f.v2Claims(now)
	tok := f.sign(t, c)
	for range 5 {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := v.cache.len(); n != 1 {
		t.Fatalf("cache holds %d entries, want 1", n)
	}
	later := now.Add(time.Hour + 3*time.Minute) // past exp + 2m leeway
	clock.Store(&later)
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("cached token after expiry: err = %v", err)
	}
}

func TestKeyRolloverOneRefreshUnderBurst(t *testing.T) {
	f := newFakeEntra(t)
	v := f.verifier(t, nil)
	now := time.Now()
	claims := f.v2Claims(now)
	if _, err := v.Verify(context.Background(), f.sign(t, claims)); err != nil {
		t.Fatal(err)
	}
	before := f.fetches.Load()
	f.rollover(t)
	// 20 concurrent requests with distinct tokens signed by the new key: all succeed, one fetch.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		c := f.v2Claims(now)
		c["oid"] = "user-" + string(rune('a'+i))
		tok := f.sign(t, c)
		wg.Go(func() {
			if _, err := v.Verify(context.Background(), tok); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("request after rollover failed: %v", err)
	}
	if got := f.fetches.Load() - before; got != 1 {
		t.Fatalf("JWKS fetches after rollover = %d, want 1", got)
	}
}

func TestUnknownKIDRefreshIsRateLimited(t *testing.T) {
	f := newFakeEntra(t)
	v := f.verifier(t, func(o *Options) { o.UnknownKIDRefresh = time.Hour })
	c := f.v2Claims(time.Now())
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	if _, err := v.Verify(context.Background(), f.sign(t, c)); err != nil {
		t.Fatal(err)
	}
	before := f.fetches.Load()
	for i := range 10 {
		tok.Header["kid"] = "forged-" + string(rune('a'+i))
		s, _ := tok.SignedString(f.keys[f.current])
		if _, err := v.Verify(context.Background(), s); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("unknown kid accepted: %v", err)
		}
	}
	if got := f.fetches.Load() - before; got != 3 { // the limiter's burst
		t.Fatalf("JWKS fetches for 10 unknown kids = %d, want 3", got)
	}
}

func sha(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func TestKeysUnavailable(t *testing.T) {
	f := newFakeEntra(t)
	v := f.verifier(t, func(o *Options) { o.JWKSURL = f.srv.URL + "/missing" })
	c := f.v2Claims(time.Now())
	_, err := v.Verify(context.Background(), f.sign(t, c))
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalidToken) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

// FuzzVerify: arbitrary input never panics and never verifies (the fuzzer cannot forge RS256).
func FuzzVerify(f *testing.F) {
	fe := newFakeEntra(f)
	v := fe.verifier(f, nil)
	c := fe.v2Claims(time.Now())
	good := fe.sign(f, c)
	parts := strings.Split(good, ".")
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(parts[0] + ".e30." + parts[2])
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c.d")
	f.Fuzz(func(t *testing.T, raw string) {
		if raw == good {
			return
		}
		if id, err := v.Verify(context.Background(), raw); err == nil {
			t.Fatalf("fuzzed token verified: %+v", id)
		}
	})
}
