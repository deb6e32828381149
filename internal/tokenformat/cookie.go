package tokenformat

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"
)

// Cookie purposes (MAC domain separation between the three cookies and the CSRF form field).
const (
	PurposeConsent  = "mcp-consent.v1"
	PurposeCSRF     = "mcp-csrf.v1"
	PurposeCSRFForm = "mcp-csrf-form.v1"
	PurposeTx       = "mcp-tx.v1"
)

// Cookie names; the __Host- prefix makes browsers demand Secure, Path=/ and no Domain.
const (
	ConsentCookie = "__Host-mcp-consent"
	CSRFCookie    = "__Host-mcp-csrf"
	TxCookie      = "__Host-mcp-tx"
)

// ErrBadCookie is returned for any cookie that is malformed or whose signature does not verify.
var ErrBadCookie = errors.New("tokenformat: cookie signature invalid")

func mac(key []byte, s string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return B64(m.Sum(nil))
}

// SignCookie returns b64url(payload) "." b64url(HMAC(key, purpose "." b64url(payload))).
func SignCookie(key []byte, purpose string, payload []byte) string {
	p := B64(payload)
	return p + "." + mac(key, purpose+"."+p)
}

// VerifyCookie checks a signed cookie value and returns its payload.
func VerifyCookie(key []byte, purpose, value string) ([]byte, error) {
	p, tag, ok := strings.Cut(value, ".")
	if !ok || p == "" || strings.Contains(tag, ".") {
		return nil, ErrBadCookie
	}
	if subtle.ConstantTimeCompare([]byte(mac(key, purpose+"."+p)), []byte(tag)) != 1 {
		return nil, ErrBadCookie
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return nil, ErrBadCookie
	}
	return b, nil
}

// Grant identifies one consent: b64url(SHA256(UTF8(client_id "\n" redirect_uri))).
func Grant(clientID, redirectURI string) string {
	h := sha256.Sum256([]byte(clientID + "\n" + redirectURI))
	return B64(h[:])
}

// CSRFFormToken is the hidden form value that pairs with the CSRF cookie's nonce.
func CSRFFormToken(key []byte, nonce string) string { return mac(key, PurposeCSRFForm+"."+nonce) }

// S256 is the PKCE code challenge of a verifier: b64url(SHA256(ASCII(verifier))).
func S256(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return B64(h[:])
}
