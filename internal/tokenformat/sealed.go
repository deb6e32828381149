package tokenformat

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Purposes separate the kinds of sealed value: the purpose is part of the MAC input, so a sealed
// authorization-code payload can never be presented as an access token, and so on.
const (
	PurposeAccessToken = "mcp-at.v1"
	PurposeCode        = "mcp-code.v1"
	PurposeRefresh     = "mcp-rt.v1"
	// PurposeTransaction seals the authorization transaction the gateway keeps in the state
	// service between /authorize and /oauth-callback (client request, PKCE verifier toward Entra).
	PurposeTransaction = "mcp-txn.v1"
)

// MaxSealedLength bounds what the gate accepts before doing any crypto.
const MaxSealedLength = 8192

// Errors returned by Open; the gate maps all of them to 401 invalid_token.
var (
	ErrMalformed  = errors.New("tokenformat: malformed sealed value")
	ErrUnknownKey = errors.New("tokenformat: unknown key id")
	ErrBadTag     = errors.New("tokenformat: authentication tag mismatch")
	ErrDecrypt    = errors.New("tokenformat: ciphertext does not decrypt")
)

var kidPattern = regexp.MustCompile(`^[A-Za-z0-9-]{1,32}$`)

// Key is one generation of token keys: an AES-256 key and an HMAC-SHA256 key under a key id.
type Key struct {
	ID  string
	Enc []byte // 32 bytes
	MAC []byte // 32 bytes
}

// NewKey returns a key with fresh random material under id.
func NewKey(id string) (Key, error) {
	if !kidPattern.MatchString(id) {
		return Key{}, fmt.Errorf("tokenformat: key id %q must match %s", id, kidPattern)
	}
	k := Key{ID: id, Enc: make([]byte, 32), MAC: make([]byte, 32)}
	if _, err := rand.Read(k.Enc); err != nil {
		return Key{}, err
	}
	if _, err := rand.Read(k.MAC); err != nil {
		return Key{}, err
	}
	return k, nil
}

// EncBase64 and MACBase64 give the key material in the form the named values hold (standard base64).
func (k Key) EncBase64() string { return base64.StdEncoding.EncodeToString(k.Enc) }
func (k Key) MACBase64() string { return base64.StdEncoding.EncodeToString(k.MAC) }

func (k Key) check() error {
	if !kidPattern.MatchString(k.ID) || len(k.Enc) != 32 || len(k.MAC) != 32 {
		return errors.New("tokenformat: key needs an id matching [A-Za-z0-9-]{1,32} and two 32-byte keys")
	}
	return nil
}

// B64 is base64url without padding, the encoding of every binary field.
func B64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// Tag computes the HMAC-SHA256 tag over ASCII(purpose "." kid "." body), base64url.
func Tag(macKey []byte, purpose, kid, body string) string {
	m := hmac.New(sha256.New, macKey)
	m.Write([]byte(purpose + "." + kid + "." + body))
	return B64(m.Sum(nil))
}

// Seal encrypts plaintext under k with a random IV and returns kid.b64url(iv||ct).b64url(tag).
func Seal(k Key, purpose string, plaintext []byte) (string, error) {
	iv := make([]byte, aes.BlockSize)
	if _, err := rand.Read(iv); err != nil {
		return "", err
	}
	return SealWithIV(k, purpose, plaintext, iv)
}

// SealWithIV is Seal with a caller-chosen IV, for test vectors only: reusing an IV leaks plaintext
// relations, so production code calls Seal.
func SealWithIV(k Key, purpose string, plaintext, iv []byte) (string, error) {
	if err := k.check(); err != nil {
		return "", err
	}
	if len(iv) != aes.BlockSize {
		return "", errors.New("tokenformat: IV must be 16 bytes")
	}
	block, err := aes.NewCipher(k.Enc)
	if err != nil {
		return "", err
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	buf := make([]byte, len(plaintext)+pad)
	copy(buf, plaintext)
	for i := len(plaintext); i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	out := make([]byte, aes.BlockSize+len(buf))
	copy(out, iv)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(out[aes.BlockSize:], buf)
	body := B64(out)
	return k.ID + "." + body + "." + Tag(k.MAC, purpose, k.ID, body), nil
}

// Open verifies and decrypts a sealed value with whichever of keys has its key id. The tag is
// checked (in constant time) before anything is decrypted.
func Open(keys []Key, purpose, sealed string) ([]byte, error) {
	if len(sealed) > MaxSealedLength {
		return nil, ErrMalformed
	}
	parts := strings.Split(sealed, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return nil, ErrMalformed
	}
	var key *Key
	for i := range keys {
		if keys[i].ID == parts[0] {
			key = &keys[i]
			break
		}
	}
	if key == nil {
		return nil, ErrUnknownKey
	}
	want := Tag(key.MAC, purpose, key.ID, parts[1])
	if subtle.ConstantTimeCompare([]byte(want), []byte(parts[2])) != 1 {
		return nil, ErrBadTag
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || len(raw) < 2*aes.BlockSize || len(raw)%aes.BlockSize != 0 {
		return nil, ErrMalformed
	}
	block, err := aes.NewCipher(key.Enc)
	if err != nil {
		return nil, err
	}
	pt := make([]byte, len(raw)-aes.BlockSize)
	cipher.NewCBCDecrypter(block, raw[:aes.BlockSize]).CryptBlocks(pt, raw[aes.BlockSize:])
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > aes.BlockSize {
		return nil, ErrDecrypt
	}
	for _, b := range pt[len(pt)-pad:] {
		if int(b) != pad {
			return nil, ErrDecrypt
		}
	}
	return pt[:len(pt)-pad], nil
}
