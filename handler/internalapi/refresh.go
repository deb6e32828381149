package internalapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"example.com/graphmcp/handler/store"
)

// A refresh token is "<family id>.<secret>": the family id (26 base32 characters, random)
// locates the family record; the 256-bit secret is what proves possession, and only its
// SHA-256 is stored. Rotation replaces the secret; spent secrets stay recorded so that a
// replay is recognised as reuse and revokes the family.

func splitHandle(h string) (familyID, secret string, ok bool) {
	familyID, secret, ok = strings.Cut(h, ".")
	if !ok || len(familyID) != 26 || !isSecret(secret) {
		return "", "", false
	}
	for i := 0; i < len(familyID); i++ {
		c := familyID[i]
		if !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return "", "", false
		}
	}
	return familyID, secret, true
}

func (a *api) familyExpiry(now time.Time, createdAt store.Time) store.Time {
	return min(store.Unix(now.Add(a.o.RefreshIdleTTL)), createdAt+int64(a.o.RefreshMaxLifetime/time.Second))
}

var errRefreshInvalid = invalidGrant("refresh_token_invalid", "the refresh token is invalid or expired; authorize again")

// refreshError maps store errors of rotate/update to stable reasons.
func (a *api) refreshError(err error) *apiError {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errRefreshInvalid
	case errors.Is(err, store.ErrReuse):
		return invalidGrant("refresh_token_reused", "this refresh token was already used; the whole grant is revoked: authorize again")
	case errors.Is(err, store.ErrRevoked):
		return invalidGrant("grant_revoked", "the grant behind this refresh token was revoked; authorize again")
	case errors.Is(err, store.ErrMismatch):
		return invalidGrant("client_mismatch", "the refresh token was issued to another client")
	case errors.Is(err, store.ErrCompleted):
		return invalidGrant("rotation_completed", "the rotation that issued this refresh token was completed; it cannot be released")
	case errors.Is(err, store.ErrResourceMismatch):
		return invalidGrant("resource_mismatch", "the refresh token was issued for another resource (another gateway); authorize again at this one")
	}
	return a.storeError(err)
}

// presentedRefresh is the body of rotate and update: a refresh token presented by the client
// it was issued to, with the policy's payload.
type presentedRefresh struct {
	RefreshToken string `json:"refresh_token"`
	ClientID     string `json:"client_id"`
	Payload      string `json:"payload"`
	// Resource (rotate only) is the RFC 8707 resource of the gateway redeeming the token; the
	// family must have been created for it. Omitted: not checked (a caller that has none).
	Resource string `json:"resource"`
}

// decodePresented decodes and checks a presentedRefresh (the payload is optional for rotate,
// required for update) and splits its token into family id and secret.
func (a *api) decodePresented(body []byte, payloadRequired bool) (req presentedRefresh, familyID, secret string, e *apiError) {
	if e := decode(body, &req); e != nil {
		return req, "", "", e
	}
	if e := firstErr(field("refresh_token", req.RefreshToken, true, maxIDBytes),
		field("client_id", req.ClientID, true, maxIDBytes), field("resource", req.Resource, false, maxIDBytes),
		a.payload(req.Payload, payloadRequired)); e != nil {
		return req, "", "", e
	}
	familyID, secret, ok := splitHandle(req.RefreshToken)
	if !ok {
		return req, "", "", errRefreshInvalid
	}
	return req, familyID, secret, nil
}

// createRefresh: POST /internal/v1/refresh/create {"client_id","payload","resource","scope"?}
// → {"refresh_token","expires_in"}. The resource is required: a family is bound to the gateway
// (RFC 8707 resource) that issued it, so another gateway over the same state cannot redeem it.
func (a *api) createRefresh(ctx context.Context, body []byte) (int, any, *apiError) {
	var req struct {
		ClientID string `json:"client_id"`
		Payload  string `json:"payload"`
		Resource string `json:"resource"`
		Scope    string `json:"scope"`
	}
	if e := decode(body, &req); e != nil {
		return 0, nil, e
	}
	if e := firstErr(field("client_id", req.ClientID, true, maxIDBytes), field("resource", req.Resource, true, maxIDBytes),
		field("scope", req.Scope, false, maxScopeBytes), a.payload(req.Payload, true)); e != nil {
		return 0, nil, e
	}
	now := a.o.Now()
	secret := store.NewSecret()
	f := &store.Family{ID: store.NewID(), ClientID: req.ClientID, Resource: req.Resource, Scope: req.Scope,
		Payload: req.Payload, CurrentHash: store.HashSecret(secret), CreatedAt: store.Unix(now), UpdatedAt: store.Unix(now)}
	f.ExpiresAt = a.familyExpiry(now, f.CreatedAt)
	if err := a.st.CreateFamily(ctx, f); err != nil {
		return 0, nil, a.storeError(err)
	}
	return http.StatusOK, map[string]any{"refresh_token": f.ID + "." + secret, "expires_in": f.ExpiresAt - store.Unix(now)}, nil
}

// rotateRefresh: POST /internal/v1/refresh/rotate {"refresh_token","client_id","resource"?,"payload"?}
// → {"refresh_token","payload","resource","scope","expires_in"}: the presented token is spent,
// a new one is issued; presenting a spent one revokes the family. A token presented for another
// resource than its family's is refused (resource_mismatch) and spends nothing.
func (a *api) rotateRefresh(ctx context.Context, body []byte) (int, any, *apiError) {
	req, familyID, secret, e := a.decodePresented(body, false)
	if e != nil {
		return 0, nil, e
	}
	now := a.o.Now()
	next := store.NewSecret()
	f, err := a.st.RotateFamily(ctx, store.Rotation{FamilyID: familyID, PresentedHash: store.HashSecret(secret),
		ClientID: req.ClientID, Resource: req.Resource, NextHash: store.HashSecret(next), Payload: req.Payload, Now: store.Unix(now),
		ExpiresAt: func(createdAt store.Time) store.Time { return a.familyExpiry(now, createdAt) }})
	if err != nil {
		return 0, nil, a.refreshError(err)
	}
	return http.StatusOK, map[string]any{"refresh_token": f.ID + "." + next, "payload": f.Payload,
		"resource": f.Resource, "scope": f.Scope, "expires_in": f.ExpiresAt - store.Unix(now)}, nil
}

// updateRefresh: POST /internal/v1/refresh/update {"refresh_token","client_id","payload"} →
// {"updated":true}: stores the new (policy-encrypted) upstream refresh token after a rotation,
// while the presented refresh token is still the current one.
func (a *api) updateRefresh(ctx context.Context, body []byte) (int, any, *apiError) {
	req, familyID, secret, e := a.decodePresented(body, true)
	if e != nil {
		return 0, nil, e
	}
	if req.Resource != "" {
		// the binding was checked by the rotate that issued this token; an unused field would hide a policy bug
		return 0, nil, badRequest("resource is not a field of refresh/update; the rotate before it checks the resource")
	}
	if err := a.st.UpdateFamilyPayload(ctx, familyID, store.HashSecret(secret), req.ClientID, req.Payload); err != nil {
		return 0, nil, a.refreshError(err)
	}
	return http.StatusOK, map[string]any{"updated": true}, nil
}

// releaseRefresh: POST /internal/v1/refresh/release {"refresh_token","client_id"} →
// {"released":true}: undoes the rotation that issued this (new, undelivered) refresh token while
// it is not completed by update, because the upstream redemption failed transiently: the token
// presented to rotate is current again, so the client can retry with it. Repeating the call is
// harmless; a completed rotation is refused (rotation_completed) and reuse detection is unchanged.
func (a *api) releaseRefresh(ctx context.Context, body []byte) (int, any, *apiError) {
	req, familyID, secret, e := a.decodePresented(body, false)
	if e != nil {
		return 0, nil, e
	}
	if req.Resource != "" || req.Payload != "" {
		// the rotate before it checked the resource; a payload here would be silently dropped
		return 0, nil, badRequest("refresh/release takes only refresh_token and client_id")
	}
	if err := a.st.ReleaseRotation(ctx, familyID, store.HashSecret(secret), req.ClientID); err != nil {
		return 0, nil, a.refreshError(err)
	}
	return http.StatusOK, map[string]any{"released": true}, nil
}

// revokeRefresh: POST /internal/v1/refresh/revoke {"refresh_token","client_id"?} → {"revoked":bool}.
// RFC 7009: an unknown or invalid token is not an error (200, revoked false). The family is
// revoked only when the secret is one it issued and, if given, client_id is its client.
func (a *api) revokeRefresh(ctx context.Context, body []byte) (int, any, *apiError) {
	var req struct {
		RefreshToken string `json:"refresh_token"`
		ClientID     string `json:"client_id"`
		// Resource is the revoking gateway's RFC 8707 resource: a family issued for another one
		// (another gateway over the same state) is not its to revoke.
		Resource string `json:"resource"`
	}
	if e := decode(body, &req); e != nil {
		return 0, nil, e
	}
	if e := firstErr(field("refresh_token", req.RefreshToken, true, maxIDBytes), field("client_id", req.ClientID, false, maxIDBytes),
		field("resource", req.Resource, false, maxIDBytes)); e != nil {
		return 0, nil, e
	}
	notRevoked := map[string]any{"revoked": false}
	familyID, secret, ok := splitHandle(req.RefreshToken)
	if !ok {
		return http.StatusOK, notRevoked, nil
	}
	f, err := a.st.GetFamily(ctx, familyID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusOK, notRevoked, nil
	case err != nil:
		return 0, nil, a.storeError(err)
	}
	h := store.HashSecret(secret)
	issued := f.CurrentHash == h
	for _, s := range f.SpentHashes {
		issued = issued || s == h
	}
	if !issued || (req.ClientID != "" && req.ClientID != f.ClientID) || (req.Resource != "" && req.Resource != f.Resource) {
		return http.StatusOK, notRevoked, nil
	}
	if err := a.st.RevokeFamily(ctx, familyID); err != nil {
		return 0, nil, a.storeError(err)
	}
	return http.StatusOK, map[string]any{"revoked": true}, nil
}
