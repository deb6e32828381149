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
	// hold, when set, makes each JWKS request announce itself on held and wait for release.
	down    atomic.Bool // JWKS requests fail with 503
	hold    atomic.Bool
	held    chan struct{}
	release chan struct{}
}

func newFakeEntra(t testing.TB) *fakeEntra {
	f := &fakeEntra{keys: map[string]*rsa.PrivateKey{}, held: make(chan struct{}, 1), release: make(chan struct{})}
	f.rollover(t)
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/"+tenant+"/discovery/v2.0/keys" {
			http.NotFound(w, r)
			return
		}
		f.fetches.Add(1)
		if f.down.Load() {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		if f.hold.Load() {
			f.held <- struct{}{}
			<-f.release
		}
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

// TestAdversarialClaims: claim shapes an attacker (or a misconfigured tenant) could present.
func TestAdversarialClaims(t *testing.T) {
	f := newFakeEntra(t)
	v := f.verifier(t, nil)
	now := time.Now()
	with := func(mod func(jwt.MapClaims)) string {
		c := f.v2Claims(now)
		mod(c)
		return f.sign(t, c)
	}
	cases := []struct {
		name    string
		token   string
		wantErr error // nil = accepted
	}{
		{"scope as a substring", with(func(c jwt.MapClaims) { c["scp"] = "access_as_user_x xaccess_as_user" }), ErrInsufficientScope},
		{"scope with other case", with(func(c jwt.MapClaims) { c["scp"] = "Access_As_User" }), ErrInsufficientScope},
		{"scope as an array", with(func(c jwt.MapClaims) { c["scp"] = []string{"access_as_user"} }), ErrInvalidToken},
		{"roles as a string", with(func(c jwt.MapClaims) { c["roles"] = "Tools.Mail" }), ErrInvalidToken},
		{"tid other tenant, issuer ours", with(func(c jwt.MapClaims) { c["tid"] = "cccccccc-0000-4000-8000-000000000003" }), ErrInvalidToken},
		{"tid missing", with(func(c jwt.MapClaims) { delete(c, "tid") }), ErrInvalidToken},
		{"issuer with trailing slash", with(func(c jwt.MapClaims) { c["iss"] = f.issuerV2() + "/" }), ErrInvalidToken},
		{"issuer of the common endpoint", with(func(c jwt.MapClaims) { c["iss"] = f.srv.URL + "/common/v2.0" }), ErrInvalidToken},
		{"audience with other case", with(func(c jwt.MapClaims) { c["aud"] = "API://" + app }), ErrInvalidToken},
		{"audience prefix", with(func(c jwt.MapClaims) { c["aud"] = app + "x" }), ErrInvalidToken},
		{"no audience", with(func(c jwt.MapClaims) { delete(c, "aud") }), ErrInvalidToken},
		{"oid empty", with(func(c jwt.MapClaims) { c["oid"] = "" }), ErrInvalidToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tc.token)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}

	// kid confusion: a kid that names our key in another spelling, or a jku/x5u header pointing
	// elsewhere, changes nothing; the key is looked up by exact kid in the tenant's JWKS only.
	c := f.v2Claims(now)
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	other := newFakeEntra(t)
	tok.Header["kid"] = strings.ToUpper(f.current)
	tok.Header["jku"] = other.srv.URL + "/" + tenant + "/discovery/v2.0/keys"
	s, _ := tok.SignedString(other.keys[other.current])
	if _, err := v.Verify(context.Background(), s); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("token with a jku and a case-changed kid: err = %v", err)
	}
	if other.fetches.Load() != 0 {
		t.Fatal("the verifier followed a jku header")
	}
}

// TestCacheIsPerToken: two tokens of one user with different roles never share a cache entry,
// and a token that failed verification is not cached (a later valid one is judged afresh).
func TestCacheIsPerToken(t *testing.T) {
	f := newFakeEntra(t)
	v := f.verifier(t, nil)
	now := time.Now()
	c1 := f.v2Claims(now)
	c1["roles"] = []string{}
	c2 := f.v2Claims(now)
	id1, err1 := v.Verify(context.Background(), f.sign(t, c1))
	id2, err2 := v.Verify(context.Background(), f.sign(t, c2))
	if err1 != nil || err2 != nil || id1.HasRole("Tools.Mail") || !id2.HasRole("Tools.Mail") {
		t.Fatalf("roles leaked between tokens: %v %v %v %v", id1.Roles, id2.Roles, err1, err2)
	}
	good := f.sign(t, f.v2Claims(now))
	tampered := good[:len(good)-4] + "AAAA"
	if _, err := v.Verify(context.Background(), tampered); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("tampered: %v", err)
	}
	if _, err := v.Verify(context.Background(), tampered); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("tampered, second time: %v", err)
	}
	if n := v.cache.len(); n != 2 {
		t.Fatalf("cache holds %d entries, want 2 (failures are never cached)", n)
	}
}

// TestRolloverWhileLimited: a request with the new kid that finds the refresh limiter empty
// (spent by the requests just before it, or by forged kids) must still wait for the refresh
// already in flight and use its keys, not fail with "unknown key".
func TestRolloverWhileLimited(t *testing.T) {
	f := newFakeEntra(t)
	v := f.verifier(t, func(o *Options) { o.UnknownKIDRefresh = time.Hour })
	now := time.Now()
	if _, err := v.Verify(context.Background(), f.sign(t, f.v2Claims(now))); err != nil {
		t.Fatal(err)
	}
	f.rollover(t)
	f.hold.Store(true)
	first := make(chan error, 1)
	go func() {
		_, err := v.Verify(context.Background(), f.sign(t, f.v2Claims(now)))
		first <- err
	}()
	<-f.held // the first request's refresh is in flight
	for v.keys.limiter.Allow() {
	} // the limiter is now empty
	second := make(chan error, 1)
	c := f.v2Claims(now)
	c["oid"] = "user-2"
	tok := f.sign(t, c)
	go func() {
		_, err := v.Verify(context.Background(), tok)
		second <- err
	}()
	close(f.release)
	if err := <-first; err != nil {
		t.Fatalf("first request: %v", err)
	}
	if err := <-second; err != nil {
		t.Fatalf("request with the new kid while the limiter was empty: %v", err)
	}
}

// TestRolloverWhileJWKSDown: a token with a new kid that cannot be checked because the JWKS is
// unreachable is a 503 (retry), not a 401 (which sends clients into a new sign-in that cannot
// help either).
func TestRolloverWhileJWKSDown(t *testing.T) {
	f := newFakeEntra(t)
	v := f.verifier(t, nil)
	now := time.Now()
	if _, err := v.Verify(context.Background(), f.sign(t, f.v2Claims(now))); err != nil {
		t.Fatal(err)
	}
	f.rollover(t)
	f.down.Store(true)
	_, err := v.Verify(context.Background(), f.sign(t, f.v2Claims(now)))
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalidToken) {
		t.Fatalf("new kid while the JWKS is down: err = %v, want ErrUnavailable", err)
	}
}
