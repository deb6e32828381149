// Package tokenverify validates Entra ID access tokens issued for this API and turns them into
// an [Identity].
//
// The checks, in order: RS256 signature against the tenant's JWKS (fetched once, cached, and
// refreshed when a token names an unknown key id — rate-limited, see [Options]); issuer in its v1
// (https://sts.windows.net/<tid>/) or v2 (<authority>/<tid>/v2.0) form; audience equal to the
// app's client ID or its api:// URI; tid equal to the configured tenant; exp (required) and nbf
// with a small leeway; the API scope present in scp. Verified tokens are cached by the SHA-256 of
// their text until they expire, so a client's repeated calls cost a hash and a map lookup.
//
//	v, err := tokenverify.New(&tokenverify.Options{TenantID: tid, ClientID: appID})
//	id, err := v.Verify(ctx, rawToken)
//	switch {
//	case errors.Is(err, tokenverify.ErrInsufficientScope): // 403
//	case err != nil: // 401 invalid_token; err's text is safe to show the client
//	}
//
// Tokens issued for Microsoft Graph (the OBO result) are never validated here: they are opaque to
// everyone but Graph.
package tokenverify

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Identity is the caller a valid token stands for.
type Identity struct {
	ObjectID  string // oid: the stable user key within the tenant
	TenantID  string
	Name      string
	UPN       string // preferred_username (v2) or upn/unique_name (v1); for display only
	ClientApp string // azp (v2) or appid (v1): the client that obtained the token
	Scopes    []string
	Roles     []string
	ExpiresAt time.Time
}

// HasRole reports whether the token carries the app role.
func (id *Identity) HasRole(role string) bool { return slices.Contains(id.Roles, role) }

// HasScope reports whether the token carries the delegated scope.
func (id *Identity) HasScope(scope string) bool { return slices.Contains(id.Scopes, scope) }

var (
	// ErrInvalidToken marks every failure that must be answered with 401 invalid_token.
	ErrInvalidToken = errors.New("invalid token")
	// ErrInsufficientScope marks a valid token that lacks the API scope (403 insufficient_scope).
	ErrInsufficientScope = errors.New("insufficient scope")
	// ErrUnavailable means the token could not be checked because the tenant's signing keys
	// could not be loaded (503: the client should retry, not re-authenticate).
	ErrUnavailable = errors.New("signing keys unavailable")
)

// Error is a verification failure. Its Description is written for the client and never
// contains token material.
type Error struct {
	Kind        error // ErrInvalidToken, ErrInsufficientScope or ErrUnavailable
	Description string
	cause       error
}

func (e *Error) Error() string { return e.Description }
func (e *Error) Unwrap() []error {
	if e.cause != nil {
		return []error{e.Kind, e.cause}
	}
	return []error{e.Kind}
}

func invalid(desc string, cause error) error {
	return &Error{Kind: ErrInvalidToken, Description: desc, cause: cause}
}

// Options configures a [Verifier]. TenantID and ClientID are required.
type Options struct {
	TenantID string // the only tenant whose tokens are accepted
	ClientID string // our app registration: aud must be it or "api://"+it
	// APIScope is the delegated scope every token must carry in scp. Default "access_as_user".
	APIScope string
	// AuthorityHost is the Entra host URL. Default "https://login.microsoftonline.com/".
	AuthorityHost string
	// V1IssuerHost is the host part of v1 issuers. Default "https://sts.windows.net/".
	V1IssuerHost string
	// JWKSURL overrides the key set location. Default AuthorityHost + tenant + "/discovery/v2.0/keys".
	JWKSURL string
	// HTTPClient fetches the JWKS. Default: a client with a 10 s timeout.
	HTTPClient *http.Client
	// Leeway tolerates clock skew on exp and nbf. Default 2 minutes.
	Leeway time.Duration
	// UnknownKIDRefresh bounds JWKS refreshes caused by tokens with an unknown key id: at most
	// one per this interval after a small burst of 3. Default 1 minute. Concurrent requests with
	// the same unknown kid share one refresh.
	UnknownKIDRefresh time.Duration
	// MaxKeyAge triggers a background JWKS refresh when the keys are older. Default 24 h
	// (Entra's guidance), so removed keys stop being trusted within a day.
	MaxKeyAge time.Duration
	// CacheSize bounds the number of verified tokens kept. Default 10000.
	CacheSize int
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives JWKS refresh events. Default slog.Default().
	Logger *slog.Logger
}

// MaxTokenBytes bounds the accepted token size; Entra tokens are a few KB.
const MaxTokenBytes = 16 << 10

// Verifier validates access tokens; it is safe for concurrent use.
type Verifier struct {
	opts      Options
	issuerV1  string
	issuerV2  string
	audiences []string
	keys      *jwks
	parser    *jwt.Parser
	cache     *cache
}

// New returns a Verifier. It does not contact Entra; call [Verifier.Prefetch] to load the keys
// before the first request.
func New(opts *Options) (*Verifier, error) {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if o.TenantID == "" || o.ClientID == "" {
		return nil, errors.New("tokenverify: TenantID and ClientID are required")
	}
	if o.APIScope == "" {
		o.APIScope = "access_as_user"
	}
	if o.AuthorityHost == "" {
		o.AuthorityHost = "https://login.microsoftonline.com/"
	}
	if !strings.HasSuffix(o.AuthorityHost, "/") {
		o.AuthorityHost += "/"
	}
	if o.V1IssuerHost == "" {
		o.V1IssuerHost = "https://sts.windows.net/"
	}
	if !strings.HasSuffix(o.V1IssuerHost, "/") {
		o.V1IssuerHost += "/"
	}
	if o.JWKSURL == "" {
		o.JWKSURL = o.AuthorityHost + o.TenantID + "/discovery/v2.0/keys"
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Leeway == 0 {
		o.Leeway = 2 * time.Minute
	}
	if o.UnknownKIDRefresh == 0 {
		o.UnknownKIDRefresh = time.Minute
	}
	if o.MaxKeyAge == 0 {
		o.MaxKeyAge = 24 * time.Hour
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 10000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	v := &Verifier{
		opts:      o,
		issuerV1:  o.V1IssuerHost + o.TenantID + "/",
		issuerV2:  o.AuthorityHost + o.TenantID + "/v2.0",
		audiences: []string{o.ClientID, "api://" + o.ClientID},
		cache:     newCache(o.CacheSize),
	}
	var err error
	v.keys, err = newJWKS(o)
	if err != nil {
		return nil, err
	}
	v.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithAudience(v.audiences...),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(o.Leeway),
		jwt.WithTimeFunc(o.Now),
	)
	return v, nil
}

// Prefetch loads the JWKS in the background so the first request does not wait for it. The
// returned channel is closed once the request for the key set has been written to Entra (or
// the fetch ended without writing it): a caller that starts other outbound work at start-up
// (the server's warm-up) can let the JWKS request go first on a busy CPU without waiting for
// Entra's answer.
func (v *Verifier) Prefetch(ctx context.Context) <-chan struct{} {
	sent := make(chan struct{})
	var once sync.Once
	done := func() { once.Do(func() { close(sent) }) }
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { done() }})
	go func() {
		defer done()
		_ = v.keys.ensureLoaded(ctx)
	}()
	return sent
}

// JWKSFetches reports how many times the key set was fetched (for tests and benchmarks).
func (v *Verifier) JWKSFetches() int64 { return v.keys.fetches.Load() }

// claims are the Entra access-token claims we read.
type claims struct {
	jwt.RegisteredClaims
	TenantID          string   `json:"tid"`
	ObjectID          string   `json:"oid"`
	Scope             string   `json:"scp"`
	Roles             []string `json:"roles"`
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferred_username"`
	UPN               string   `json:"upn"`
	UniqueName        string   `json:"unique_name"`
	AZP               string   `json:"azp"`
	AppID             string   `json:"appid"`
}

// Verify validates raw and returns the caller's identity. Errors are *[Error]; their text is safe
// to return to the client.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Identity, error) {
	if raw == "" {
		return nil, invalid("no access token", nil)
	}
	if len(raw) > MaxTokenBytes {
		return nil, invalid("access token is too large", nil)
	}
	key := sha256.Sum256([]byte(raw))
	now := v.opts.Now()
	if id, ok := v.cache.get(key); ok {
		if now.After(id.ExpiresAt.Add(v.opts.Leeway)) {
			v.cache.delete(key)
			return nil, invalid("the access token has expired; obtain a new one", jwt.ErrTokenExpired)
		}
		return v.checkScope(id)
	}

	var c claims
	_, err := v.parser.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) { return v.keys.keyfunc(ctx, t) })
	if err != nil {
		return nil, describe(err)
	}
	if c.Issuer != v.issuerV1 && c.Issuer != v.issuerV2 {
		return nil, invalid("the access token was not issued by the expected Entra tenant (issuer mismatch)", jwt.ErrTokenInvalidIssuer)
	}
	if !strings.EqualFold(c.TenantID, v.opts.TenantID) {
		return nil, invalid("the access token belongs to a different tenant", jwt.ErrTokenInvalidClaims)
	}
	if c.ObjectID == "" {
		return nil, invalid("the access token has no oid claim (app-only tokens are not accepted)", jwt.ErrTokenRequiredClaimMissing)
	}
	id := &Identity{
		ObjectID:  c.ObjectID,
		TenantID:  strings.ToLower(c.TenantID),
		Name:      c.Name,
		UPN:       firstNonEmpty(c.PreferredUsername, c.UPN, c.UniqueName),
		ClientApp: firstNonEmpty(c.AZP, c.AppID),
		Scopes:    strings.Fields(c.Scope),
		Roles:     c.Roles,
		ExpiresAt: c.ExpiresAt.Time,
	}
	v.cache.put(key, id, now)
	return v.checkScope(id)
}

func (v *Verifier) checkScope(id *Identity) (*Identity, error) {
	if !id.HasScope(v.opts.APIScope) {
		return id, &Error{Kind: ErrInsufficientScope, Description: fmt.Sprintf("the access token lacks the scope %q of this API", v.opts.APIScope)}
	}
	return id, nil
}

// describe maps a jwt error to a client-safe description.
func describe(err error) error {
	switch {
	case errors.Is(err, errKeysUnavailable):
		return &Error{Kind: ErrUnavailable, Description: "the tenant's signing keys cannot be loaded right now; retry shortly", cause: err}
	case errors.Is(err, errUnknownKey):
		return invalid("the access token is signed with an unknown key", err)
	case errors.Is(err, jwt.ErrTokenMalformed):
		return invalid("the access token is malformed", err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return invalid("the access token signature is invalid (only RS256 with a key from the tenant's JWKS is accepted)", err)
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return invalid("the access token cannot be verified (only RS256 with a key from the tenant's JWKS is accepted)", err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return invalid("the access token has expired; obtain a new one", err)
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return invalid("the access token is not valid yet (nbf is in the future)", err)
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return invalid("the access token was issued for a different audience", err)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return invalid("the access token lacks a required claim (exp)", err)
	}
	return invalid("the access token is invalid", err)
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
