package internalapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"

	"example.com/graphmcp/handler/cimd"
	"example.com/graphmcp/handler/redirecturi"
	"example.com/graphmcp/handler/store"
)

// createCode: POST /internal/v1/codes/create → {"code","expires_in"}. The code is 256-bit
// random; only its SHA-256 is stored, with the data it is bound to.
func (a *api) createCode(ctx context.Context, body []byte) (int, any, *apiError) {
	var req struct {
		ClientID            string `json:"client_id"`
		RedirectURI         string `json:"redirect_uri"`
		CodeChallenge       string `json:"code_challenge"`
		CodeChallengeMethod string `json:"code_challenge_method"`
		Resource            string `json:"resource"`
		Scope               string `json:"scope"`
		Payload             string `json:"payload"`
		TTLSeconds          int64  `json:"ttl_seconds"`
	}
	if e := decode(body, &req); e != nil {
		return 0, nil, e
	}
	d, e := ttl(req.TTLSeconds, MaxCodeTTL)
	if e = firstErr(e,
		field("client_id", req.ClientID, true, maxIDBytes),
		field("redirect_uri", req.RedirectURI, true, redirecturi.MaxLength),
		field("resource", req.Resource, false, maxIDBytes),
		field("scope", req.Scope, false, maxScopeBytes),
		a.payload(req.Payload, true)); e != nil {
		return 0, nil, e
	}
	if req.CodeChallengeMethod != "S256" {
		return 0, nil, badRequest("code_challenge_method must be S256 (plain is not accepted)")
	}
	if !isSecret(req.CodeChallenge) {
		return 0, nil, badRequest("code_challenge must be the 43-character base64url SHA-256 of the verifier")
	}
	now := a.o.Now()
	code := store.NewSecret()
	c := &store.Code{Hash: store.HashSecret(code), ClientID: req.ClientID, RedirectURI: req.RedirectURI,
		CodeChallenge: req.CodeChallenge, CodeChallengeMethod: "S256", Resource: req.Resource, Scope: req.Scope,
		Payload: req.Payload, CreatedAt: store.Unix(now), ExpiresAt: store.Unix(now.Add(d))}
	if err := a.st.CreateCode(ctx, c); err != nil {
		return 0, nil, a.storeError(err)
	}
	// The client is in use: slide its registration's expiry (best effort; the code is issued).
	if !cimd.IsClientIDURL(req.ClientID) {
		if err := a.st.ExtendClient(ctx, req.ClientID, a.clientExpiry(now)); err != nil && !errors.Is(err, store.ErrNotFound) {
			a.log.WarnContext(ctx, "could not extend client registration expiry", "error", err.Error())
		}
	}
	return http.StatusOK, map[string]any{"code": code, "expires_in": int64(d.Seconds())}, nil
}

// consumeCode: POST /internal/v1/codes/consume → {"client_id","redirect_uri","resource","scope","payload"}.
// The code is consumed first (exactly once), then every binding is checked; a code presented
// with a wrong binding is burnt, so a stolen code cannot be retried with other guesses.
func (a *api) consumeCode(ctx context.Context, body []byte) (int, any, *apiError) {
	var req struct {
		Code         string `json:"code"`
		ClientID     string `json:"client_id"`
		RedirectURI  string `json:"redirect_uri"`
		CodeVerifier string `json:"code_verifier"`
		Resource     string `json:"resource"`
	}
	if e := decode(body, &req); e != nil {
		return 0, nil, e
	}
	if e := firstErr(
		field("code", req.Code, true, maxIDBytes),
		field("client_id", req.ClientID, true, maxIDBytes),
		field("redirect_uri", req.RedirectURI, false, redirecturi.MaxLength),
		field("code_verifier", req.CodeVerifier, true, 128),
		field("resource", req.Resource, false, maxIDBytes)); e != nil {
		return 0, nil, e
	}
	if !validVerifier(req.CodeVerifier) {
		return 0, nil, badRequest("code_verifier must be 43-128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1)")
	}
	unknown := invalidGrant("code_invalid", "the authorization code is invalid, expired or already used")
	if !isSecret(req.Code) {
		return 0, nil, unknown
	}
	c, err := a.st.ConsumeCode(ctx, store.HashSecret(req.Code))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return 0, nil, unknown
	case err != nil:
		return 0, nil, a.storeError(err)
	}
	switch {
	case c.ClientID != req.ClientID:
		return 0, nil, invalidGrant("client_mismatch", "the authorization code was issued to another client")
	case req.RedirectURI != "" && req.RedirectURI != c.RedirectURI:
		return 0, nil, invalidGrant("redirect_uri_mismatch", "redirect_uri differs from the one in the authorization request")
	case !pkceS256(req.CodeVerifier, c.CodeChallenge):
		return 0, nil, invalidGrant("pkce_failed", "code_verifier does not match the code_challenge")
	case req.Resource != "" && req.Resource != c.Resource:
		return 0, nil, &apiError{status: http.StatusBadRequest, Code: "invalid_target", Reason: "resource_mismatch",
			Description: "resource differs from the one in the authorization request (RFC 8707)"}
	}
	return http.StatusOK, map[string]any{"client_id": c.ClientID, "redirect_uri": c.RedirectURI,
		"resource": c.Resource, "scope": c.Scope, "payload": c.Payload}, nil
}

// pkceS256 checks BASE64URL(SHA256(verifier)) == challenge in constant time.
func pkceS256(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}
