// Package store keeps the OAuth gateway's durable and must-be-atomic state: client
// registrations, authorization transactions (the state sent to Entra ID), single-use
// authorization codes and refresh-token families.
//
// The APIM policies own the OAuth protocol; they reach this state only through the handler's
// internal API (package internalapi), which calls a [Store]. Two implementations pass the same
// contract suite (package storetest):
//
//   - store/bolt: a bbolt file — the default when no Cosmos endpoint is configured;
//   - store/cosmos: Azure Cosmos DB through azcosmos with a managed identity (no keys).
//
// Every record carries ExpiresAt; implementations treat an expired record as absent on read,
// whatever their backend's own TTL machinery does (the Cosmos emulator has none).
//
// Consumption is exactly-once: of N concurrent ConsumeCode calls for one code, one returns the
// record and the others return [ErrNotFound]. Payloads are opaque strings (the policies encrypt
// token material before sending it); the store never interprets or logs them.
//
// A minimal session:
//
//	st, _ := bolt.Open(path, nil)
//	defer st.Close()
//	_ = st.CreateCode(ctx, &store.Code{Hash: store.HashSecret(code), ClientID: id, Payload: p, ExpiresAt: exp})
//	c, err := st.ConsumeCode(ctx, store.HashSecret(code)) // err == nil exactly once
package store

import (
	"context"
	"errors"
)

// Store is the state the OAuth gateway needs. Implementations are safe for concurrent use.
type Store interface {
	// CreateClient stores a new registration. ErrConflict if the id exists.
	CreateClient(ctx context.Context, c *Client) error
	// GetClient returns a registration. ErrNotFound if absent or expired.
	GetClient(ctx context.Context, clientID string) (*Client, error)
	// ExtendClient moves a registration's expiry forward (sliding expiry of unused
	// registrations). It never shortens it. ErrNotFound if absent or expired.
	ExtendClient(ctx context.Context, clientID string, expiresAt Time) error

	// CreateTransaction stores an authorization transaction. ErrConflict if the id exists.
	CreateTransaction(ctx context.Context, t *Transaction) error
	// ConsumeTransaction removes and returns a transaction; exactly one caller wins.
	// ErrNotFound if absent, expired or already consumed.
	ConsumeTransaction(ctx context.Context, id string) (*Transaction, error)

	// CreateCode stores an authorization code by its hash. ErrConflict if the hash exists.
	CreateCode(ctx context.Context, c *Code) error
	// ConsumeCode removes and returns a code; exactly one caller wins.
	// ErrNotFound if absent, expired or already consumed.
	ConsumeCode(ctx context.Context, hash string) (*Code, error)

	// CreateFamily stores a new refresh-token family. ErrConflict if the id exists.
	CreateFamily(ctx context.Context, f *Family) error
	// RotateFamily replaces the family's current handle hash with next.HandleHash when
	// presentedHash is current, and records presentedHash as spent; exactly one caller wins.
	// See [Rotation] for inputs and the errors it returns.
	RotateFamily(ctx context.Context, r Rotation) (*Family, error)
	// UpdateFamilyPayload sets the payload while handleHash is still the current handle.
	UpdateFamilyPayload(ctx context.Context, familyID, handleHash, clientID, payload string) error
	// ReleaseRotation undoes the not yet completed rotation that issued handleHash (the
	// upstream redemption after it failed transiently): the handle it spent is current again
	// and handleHash is void. Repeating it is harmless. See [ApplyRelease] for the errors.
	ReleaseRotation(ctx context.Context, familyID, handleHash, clientID string) error
	// RevokeFamily marks a family revoked. Revoking an absent or revoked family is not an error.
	RevokeFamily(ctx context.Context, familyID string) error
	// GetFamily returns a family (revoked ones too). ErrNotFound if absent or expired.
	GetFamily(ctx context.Context, familyID string) (*Family, error)

	// Ping checks that the backend answers; ErrUnavailable otherwise.
	Ping(ctx context.Context) error
	// Close releases resources.
	Close() error
}

// Errors every implementation returns (wrapped, so use errors.Is).
var (
	// ErrNotFound: the record does not exist, expired, or was consumed.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a record with this key exists already.
	ErrConflict = errors.New("store: already exists")
	// ErrReuse: a rotated refresh handle was presented again; the family is now revoked.
	ErrReuse = errors.New("store: refresh handle reused; family revoked")
	// ErrRevoked: the refresh family was revoked earlier.
	ErrRevoked = errors.New("store: refresh family revoked")
	// ErrCompleted: the rotation to be released was completed (its handle may have reached the
	// client); it cannot be undone.
	ErrCompleted = errors.New("store: refresh rotation already completed")
	// ErrMismatch: the record exists but is bound to another client.
	ErrMismatch = errors.New("store: record bound to another client")
	// ErrResourceMismatch: the refresh family exists but was granted for another resource
	// (RFC 8707): another gateway over the same state must not redeem it.
	ErrResourceMismatch = errors.New("store: refresh family bound to another resource")
	// ErrUnavailable: the backend did not answer, throttled us past our retries, or failed;
	// nothing was changed as far as the caller can tell. Retry later.
	ErrUnavailable = errors.New("store: backend unavailable")
)
