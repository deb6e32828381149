package entra

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// keyring holds the signing key and every key used before it. The JWKS publishes
// only the current key (so relying parties see the old kid vanish after a
// rollover), while the stand-in itself and the Graph stand-in keep trusting old
// keys until the tokens they signed expire — as Microsoft's own services do.
type keyring struct {
	mu      sync.RWMutex
	current *rsa.PrivateKey
	kid     string
	all     map[string]*rsa.PublicKey
}

func newKeyring() (*keyring, error) {
	k := &keyring{all: map[string]*rsa.PublicKey{}}
	return k, k.rollover()
}

func (k *keyring) rollover() error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("entra: generate signing key: %w", err)
	}
	kid := thumbprint(&key.PublicKey)
	k.mu.Lock()
	k.current, k.kid = key, kid
	k.all[kid] = &key.PublicKey
	k.mu.Unlock()
	return nil
}

func (k *keyring) signer() (*rsa.PrivateKey, string) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current, k.kid
}

// thumbprint is a stable, URL-safe kid derived from the public key, like
// Entra's x5t-based kids.
func thumbprint(pub *rsa.PublicKey) string {
	sum := sha256.Sum256(append(pub.N.Bytes(), big.NewInt(int64(pub.E)).Bytes()...))
	return base64.RawURLEncoding.EncodeToString(sum[:15])
}

// RolloverKeys switches to a new signing key with a new kid. The JWKS then
// lists only the new key.
func (s *Server) RolloverKeys() {
	if err := s.keys.rollover(); err != nil {
		panic(err) // crypto/rand failure: nothing sensible to continue with
	}
}

// CurrentKID returns the kid of the current signing key.
func (s *Server) CurrentKID() string {
	_, kid := s.keys.signer()
	return kid
}

// Sign signs arbitrary claims with the current key and kid (RS256). Tests use
// it to forge edge cases: expired, wrong audience, missing scope, ...
func (s *Server) Sign(claims jwt.MapClaims) string {
	key, kid := s.keys.signer()
	return s.SignWithKey(claims, key, kid)
}

// SignWithKey signs claims with any key under any kid (e.g. a stranger's key
// under our kid to produce a bad signature).
func (s *Server) SignWithKey(claims jwt.MapClaims, key *rsa.PrivateKey, kid string) string {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = kid
	raw, err := t.SignedString(key)
	if err != nil {
		panic(fmt.Sprintf("entra: sign: %v", err)) // only on a broken key, a test bug
	}
	return raw
}

// TrustedKeyfunc resolves a token's kid against every key this server has
// signed with (current and rolled-over). Package graph uses it: Graph trusts
// tokens until they expire, regardless of what the JWKS currently lists.
func (s *Server) TrustedKeyfunc(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	s.keys.mu.RLock()
	defer s.keys.mu.RUnlock()
	if pub, ok := s.keys.all[kid]; ok {
		return pub, nil
	}
	return nil, errors.New("unknown signing key id")
}

// verify checks signature (RS256 only, trusted keys), exp (required) and nbf
// against the server clock, with Entra's 5 min skew.
func (s *Server) verify(raw string) (jwt.MapClaims, error) {
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, s.TrustedKeyfunc,
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(5*time.Minute),
		jwt.WithTimeFunc(s.now))
	return claims, err
}

// jwk is one entry of the JWKS, in the fields Entra publishes.
type jwk struct {
	Kty    string `json:"kty"`
	Use    string `json:"use"`
	Kid    string `json:"kid"`
	N      string `json:"n"`
	E      string `json:"e"`
	Issuer string `json:"issuer"`
}

func (s *Server) jwks() map[string][]jwk {
	key, kid := s.keys.signer()
	pub := key.PublicKey
	return map[string][]jwk{"keys": {{
		Kty: "RSA", Use: "sig", Kid: kid,
		N:      base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E:      base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		Issuer: s.IssuerV2(),
	}}}
}
