package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"time"
)

// Time is a point in time stored at second precision as Unix seconds, so that both backends
// and the internal API (whose consumers are C# 7 policy expressions) see the same value.
type Time = int64

// Unix converts a time.Time to a store Time.
func Unix(t time.Time) Time { return t.Unix() }

// Client is an OAuth client: an RFC 7591 registration (Kind "dcr") or a resolved Client ID
// Metadata Document (Kind "cimd", never stored, cached by package cimd). Its JSON is flat: the
// embedded Metadata's fields sit beside client_id.
type Client struct {
	ClientID string `json:"client_id"`
	Kind     string `json:"kind"`
	Metadata
	IssuedAt  Time `json:"client_id_issued_at"`
	ExpiresAt Time `json:"expires_at"`
}

// Metadata is the RFC 7591 §2 client metadata the gateway keeps: what a registration request
// or a metadata document may set (package clientmeta decodes and validates it) and what the
// registration response echoes back (RFC 7591 §3.2.1). One list, so the three cannot drift.
type Metadata struct {
	ClientName              string   `json:"client_name,omitempty"`
	ClientURI               string   `json:"client_uri,omitempty"`
	RedirectURIs            []string `json:"redirect_uris"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	Scope                   string   `json:"scope,omitempty"`
	ApplicationType         string   `json:"application_type,omitempty"`
	SoftwareID              string   `json:"software_id,omitempty"`
	SoftwareVersion         string   `json:"software_version,omitempty"`
}

// Client kinds.
const (
	KindDCR  = "dcr"
	KindCIMD = "cimd"
)

// Transaction is an authorization in progress: the random state sent to Entra ID and what the
// policy needs when Entra calls back (Payload, opaque: the client's redirect, PKCE challenge,
// state, resource, APIM's own PKCE verifier toward Entra ...).
type Transaction struct {
	ID        string `json:"id"`
	ClientID  string `json:"client_id"`
	Payload   string `json:"payload"`
	CreatedAt Time   `json:"created_at"`
	ExpiresAt Time   `json:"expires_at"`
}

// Code is an authorization code, keyed by the SHA-256 of the code (HashSecret); the code itself
// is never stored. The bound fields are checked when it is redeemed.
type Code struct {
	Hash                string `json:"hash"`
	ClientID            string `json:"client_id"`
	RedirectURI         string `json:"redirect_uri"`
	CodeChallenge       string `json:"code_challenge"`
	CodeChallengeMethod string `json:"code_challenge_method"`
	Resource            string `json:"resource,omitempty"`
	Scope               string `json:"scope,omitempty"`
	Payload             string `json:"payload"`
	CreatedAt           Time   `json:"created_at"`
	ExpiresAt           Time   `json:"expires_at"`
}

// Family is a refresh-token family: one grant, a chain of single-use handles. Only the current
// handle's hash rotates; spent hashes are kept (bounded by MaxSpentHandles) so that presenting
// one again is recognised as reuse and revokes the family (OAuth 2.1 §4.3.1, RFC 9700 §4.14).
type Family struct {
	ID          string   `json:"id"`
	ClientID    string   `json:"client_id"`
	Resource    string   `json:"resource,omitempty"`
	Scope       string   `json:"scope,omitempty"`
	Payload     string   `json:"payload"`
	CurrentHash string   `json:"current_hash"`
	SpentHashes []string `json:"spent_hashes,omitempty"`
	// PendingHash is the hash of the handle that the latest rotation spent while that rotation
	// is not completed (no UpdateFamilyPayload yet, and it carried no payload): ReleaseRotation
	// may still undo it. Empty once completed.
	PendingHash string `json:"pending_hash,omitempty"`
	// ReleasedHash is the hash of the handle whose rotation ReleaseRotation undid, until the
	// next rotation, so a repeated release (a retried request) is recognised and changes nothing.
	ReleasedHash string `json:"released_hash,omitempty"`
	Generation   int    `json:"generation"`
	Revoked      bool   `json:"revoked"`
	RevokedAt    Time   `json:"revoked_at,omitempty"`
	CreatedAt    Time   `json:"created_at"`
	UpdatedAt    Time   `json:"updated_at"`
	ExpiresAt    Time   `json:"expires_at"`
}

// MaxSpentHandles bounds the spent-handle list of a family; older spent handles are forgotten
// and then fail as unknown (invalid_grant) without revoking the family.
const MaxSpentHandles = 64

// Rotation is the input of RotateFamily.
type Rotation struct {
	FamilyID      string
	PresentedHash string // hash of the handle the client presented
	ClientID      string // the client presenting it
	Resource      string // the redeeming gateway's RFC 8707 resource: must equal the family's ("" = unchecked)
	NextHash      string // hash of the handle to issue
	Payload       string // new payload; empty keeps the current one
	Now           Time
	// ExpiresAt, when set, computes the family's new expiry from its creation time
	// (sliding idle lifetime capped by a maximum lifetime).
	ExpiresAt func(createdAt Time) Time
}

// ApplyRotation is the decision both implementations share: given the stored family, it
// returns the updated family, or an error with the family to write anyway (non-nil when the
// reuse must be persisted as a revocation).
//
//   - revoked family → ErrRevoked
//   - presented hash spent earlier → ErrReuse, and the family comes back revoked (write it)
//   - presented hash unknown → ErrNotFound
//   - other client → ErrMismatch (nothing written: a client cannot revoke another's family)
//   - other resource → ErrResourceMismatch (nothing written: a handle replayed at another
//     gateway is refused there, and the family stays usable where it was granted)
//
// The bindings are checked only for a handle the family issued; any other is ErrNotFound,
// so a guessed handle learns nothing about the family.
func ApplyRotation(f Family, r Rotation) (next *Family, toWrite *Family, err error) {
	if f.Revoked {
		return nil, nil, ErrRevoked
	}
	issued := f.CurrentHash == r.PresentedHash || slices.Contains(f.SpentHashes, r.PresentedHash)
	if f.ClientID != r.ClientID {
		if issued {
			return nil, nil, ErrMismatch
		}
		return nil, nil, ErrNotFound
	}
	if r.Resource != "" && f.Resource != r.Resource {
		if issued {
			return nil, nil, ErrResourceMismatch
		}
		return nil, nil, ErrNotFound
	}
	if f.CurrentHash != r.PresentedHash {
		if slices.Contains(f.SpentHashes, r.PresentedHash) {
			f.Revoked, f.RevokedAt, f.UpdatedAt = true, r.Now, r.Now
			return nil, &f, ErrReuse
		}
		return nil, nil, ErrNotFound
	}
	f.SpentHashes = append(append([]string(nil), f.SpentHashes...), f.CurrentHash)
	if len(f.SpentHashes) > MaxSpentHandles {
		f.SpentHashes = f.SpentHashes[len(f.SpentHashes)-MaxSpentHandles:]
	}
	// A rotation that carries its payload is complete; one without waits for the
	// UpdateFamilyPayload after the upstream redemption and may be released until then.
	f.PendingHash, f.ReleasedHash = f.CurrentHash, ""
	f.CurrentHash = r.NextHash
	f.Generation++
	f.UpdatedAt = r.Now
	if r.Payload != "" {
		f.Payload = r.Payload
		f.PendingHash = ""
	}
	if r.ExpiresAt != nil {
		f.ExpiresAt = r.ExpiresAt(f.CreatedAt)
	}
	return &f, &f, nil
}

// RotateInPlace is ApplyRotation for an implementation's update loop: f is the stored family
// and becomes what must be written when write is true; next is what RotateFamily returns.
func RotateInPlace(f *Family, r Rotation) (next *Family, write bool, err error) {
	next, toWrite, err := ApplyRotation(*f, r)
	if toWrite != nil {
		*f = *toWrite
	}
	return next, toWrite != nil, err
}

// ApplyPayloadUpdate is UpdateFamilyPayload's decision, shared by both implementations: only
// the family's own client, presenting its current handle, may replace the payload of a family
// that is not revoked. On success f is updated and must be written.
func ApplyPayloadUpdate(f *Family, handleHash, clientID, payload string, now Time) error {
	switch {
	case f.Revoked:
		return ErrRevoked
	case f.ClientID != clientID:
		return ErrMismatch
	case f.CurrentHash != handleHash:
		return ErrNotFound
	}
	f.Payload, f.UpdatedAt, f.PendingHash = payload, now, ""
	return nil
}

// ApplyRelease is ReleaseRotation's decision, shared by both implementations: it undoes the
// rotation that issued handleHash when that rotation is not completed, so the handle it spent
// is current again and handleHash is void (the gateway never delivered it). On success f is
// updated and write reports whether it must be written (false for a repeated release).
//
//   - revoked family → ErrRevoked (a replay of the spent handle while the rotation was pending
//     revoked it: release cannot undo a detected reuse)
//   - other client → ErrMismatch for a handle the family issued, else ErrNotFound
//   - handleHash released before → nothing to do (idempotent)
//   - handleHash current but its rotation completed (updated, or rotated with a payload) →
//     ErrCompleted: the client may hold it, so the handle it replaced stays spent
//   - handleHash not current (unknown, or spent by a later rotation) → ErrNotFound
func ApplyRelease(f *Family, handleHash, clientID string, now Time) (write bool, err error) {
	if f.Revoked {
		return false, ErrRevoked
	}
	if f.ClientID != clientID {
		if f.CurrentHash == handleHash || f.ReleasedHash == handleHash || slices.Contains(f.SpentHashes, handleHash) {
			return false, ErrMismatch
		}
		return false, ErrNotFound
	}
	switch {
	case f.ReleasedHash == handleHash:
		return false, nil
	case f.CurrentHash != handleHash:
		return false, ErrNotFound
	case f.PendingHash == "":
		return false, ErrCompleted
	}
	// The rotation appended the spent hash last; take it back out so the handle is current
	// (and not "spent", whose presentation would revoke the family).
	if i := slices.Index(f.SpentHashes, f.PendingHash); i >= 0 {
		f.SpentHashes = slices.Delete(slices.Clone(f.SpentHashes), i, i+1)
	}
	f.CurrentHash, f.ReleasedHash, f.PendingHash = f.PendingHash, handleHash, ""
	f.Generation--
	f.UpdatedAt = now
	return true, nil
}

// ApplyRevocation is RevokeFamily's decision: it marks f revoked at now and reports whether
// it must be written (false when it was revoked already; revoking is idempotent).
func ApplyRevocation(f *Family, now Time) (write bool) {
	if f.Revoked {
		return false
	}
	f.Revoked, f.RevokedAt, f.UpdatedAt = true, now, now
	return true
}

// HashSecret returns the storage key of a secret (code, refresh handle): base64url(SHA-256).
// Secrets are 256-bit random, so a plain hash is enough: there is nothing to brute-force.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// NewSecret returns 256 random bits, base64url-encoded (43 characters).
func NewSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewID returns a 128-bit random identifier (26 characters, base32).
func NewID() string { return rand.Text() }

// Expired reports whether a record with this expiry is gone at now.
func Expired(expiresAt, now Time) bool { return expiresAt != 0 && now >= expiresAt }
