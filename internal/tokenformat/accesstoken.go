package tokenformat

import (
	"encoding/json"
	"errors"
	"time"
)

// AccessToken is the payload sealed inside an MCP access token (purpose mcp-at.v1).
type AccessToken struct {
	V        int    `json:"v"`
	ClientID string `json:"cid"`
	Resource string `json:"res"`
	ObjectID string `json:"oid"`
	Scope    string `json:"scp"`
	IssuedAt int64  `json:"iat"`
	Expiry   int64  `json:"exp"`
	Entra    string `json:"eat"` // the Entra access token forwarded to the function
}

// Errors from OpenAccessToken beyond those of Open.
var (
	ErrExpired       = errors.New("tokenformat: access token expired")
	ErrWrongResource = errors.New("tokenformat: access token is for another resource")
	ErrIncomplete    = errors.New("tokenformat: access token payload incomplete")
)

// SealAccessToken seals t (V defaults to 1).
func SealAccessToken(k Key, t AccessToken) (string, error) {
	if t.V == 0 {
		t.V = 1
	}
	b, err := json.Marshal(t)
	if err != nil {
		return "", err
	}
	return Seal(k, PurposeAccessToken, b)
}

// OpenAccessToken applies every check the /mcp gate applies (docs/security-model.md §4).
func OpenAccessToken(keys []Key, token, resource string, now time.Time) (*AccessToken, error) {
	pt, err := Open(keys, PurposeAccessToken, token)
	if err != nil {
		return nil, err
	}
	var t AccessToken
	if err := json.Unmarshal(pt, &t); err != nil {
		return nil, ErrMalformed
	}
	if t.V != 1 || t.ClientID == "" || t.Entra == "" {
		return nil, ErrIncomplete
	}
	if t.Resource != resource {
		return nil, ErrWrongResource
	}
	if t.Expiry <= now.Unix() {
		return nil, ErrExpired
	}
	return &t, nil
}
