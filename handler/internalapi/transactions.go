package internalapi

import (
	"context"
	"errors"
	"net/http"

	"example.com/graphmcp/handler/store"
)

// createTransaction: POST /internal/v1/transactions/create {"client_id","payload","ttl_seconds"?}
// → {"state","expires_in","expires_at"}. The state is what the policy sends to Entra ID.
func (a *api) createTransaction(ctx context.Context, body []byte) (int, any, *apiError) {
	var req struct {
		ClientID   string `json:"client_id"`
		Payload    string `json:"payload"`
		TTLSeconds int64  `json:"ttl_seconds"`
	}
	if e := decode(body, &req); e != nil {
		return 0, nil, e
	}
	d, e := ttl(req.TTLSeconds, MaxTransactionTTL)
	if e = firstErr(e, field("client_id", req.ClientID, true, maxIDBytes), a.payload(req.Payload, true)); e != nil {
		return 0, nil, e
	}
	now := a.o.Now()
	t := &store.Transaction{ID: store.NewSecret(), ClientID: req.ClientID, Payload: req.Payload,
		CreatedAt: store.Unix(now), ExpiresAt: store.Unix(now.Add(d))}
	if err := a.st.CreateTransaction(ctx, t); err != nil {
		return 0, nil, a.storeError(err)
	}
	return http.StatusOK, map[string]any{"state": t.ID, "expires_in": int64(d.Seconds()), "expires_at": t.ExpiresAt}, nil
}

// consumeTransaction: POST /internal/v1/transactions/consume {"state"} → {"client_id","payload"},
// exactly once.
func (a *api) consumeTransaction(ctx context.Context, body []byte) (int, any, *apiError) {
	var req struct {
		State string `json:"state"`
	}
	if e := decode(body, &req); e != nil {
		return 0, nil, e
	}
	if e := field("state", req.State, true, maxIDBytes); e != nil {
		return 0, nil, e
	}
	unknown := invalidGrant("state_invalid", "unknown, expired or already used state; start the authorization again")
	if !isSecret(req.State) {
		return 0, nil, unknown
	}
	t, err := a.st.ConsumeTransaction(ctx, req.State)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return 0, nil, unknown
	case err != nil:
		return 0, nil, a.storeError(err)
	}
	return http.StatusOK, map[string]any{"client_id": t.ClientID, "payload": t.Payload}, nil
}

// payload checks an opaque payload: its meaning is the policies' business, but it is still a
// string field of the contract — bounded, and without control characters (sealed payloads are
// base64url), so nothing a policy did not mean to store gets stored.
func (a *api) payload(p string, required bool) *apiError {
	return field("payload", p, required, a.o.MaxPayloadBytes)
}

// isSecret reports whether s has the shape of store.NewSecret (43 base64url characters), so
// obviously forged values never reach the store.
func isSecret(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
