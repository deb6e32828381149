// Package obo exchanges a user's access token for a Microsoft Graph token with the OAuth 2.0
// on-behalf-of flow, secretlessly: the client credential is a managed-identity token presented
// as a federated client assertion (see [ManagedIdentityAssertion]).
//
// One [Client] (one MSAL confidential client, hence one token cache) serves the whole process.
// MSAL answers repeated requests for the same user from its cache (partitioned by a hash of the
// user token) until 5 minutes before the Graph token expires. What MSAL does not do is collapse
// concurrent misses: twenty simultaneous first calls of one user would send twenty OBO requests.
// [Client.Token] therefore runs concurrent misses for the same (user token, scopes) through a
// singleflight group, and the assertion callback through another, so a cold burst costs one OBO
// request per user and one managed-identity request in total.
//
//	assert := obo.ManagedIdentityAssertion(mi, "api://AzureADTokenExchange")
//	c, err := obo.New(&obo.Options{Authority: "https://login.microsoftonline.com/" + tid, ClientID: appID, Assertion: assert})
//	tok, err := c.Token(ctx, userToken, []string{"https://graph.microsoft.com/User.Read"})
//	var consent *obo.ConsentRequiredError
//	if errors.As(err, &consent) { /* tell the user what to consent to */ }
package obo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"golang.org/x/sync/singleflight"
)

// Options configures a [Client].
type Options struct {
	// Authority is the tenant's authority URL, e.g. https://login.microsoftonline.com/<tenant id>.
	Authority string
	// ClientID is the API's app registration, the OBO client.
	ClientID string
	// Assertion returns a client assertion (a managed-identity token for the FIC audience). It is
	// called only when MSAL must send a token request.
	Assertion func(ctx context.Context) (string, error)
	// HTTPClient is shared with other Entra calls for connection reuse. Default http.DefaultClient.
	HTTPClient *http.Client
	// MaxCachedUsers bounds MSAL's in-memory cache, which keeps one partition per distinct user
	// token and never evicts: once this many distinct user tokens have been seen, the next one
	// starts a fresh MSAL client (and cache), so memory stays bounded at the price of one more
	// OBO request per active user. Default 20000.
	MaxCachedUsers int
}

// RequestTimeout bounds one OBO exchange, including the managed-identity request.
const RequestTimeout = 60 * time.Second

// Client acquires Graph tokens on behalf of users. Safe for concurrent use.
type Client struct {
	newMSAL  func() (confidential.Client, error)
	maxUsers int
	gen      atomic.Pointer[generation]
	mu       sync.Mutex // serialises rotation
	group    singleflight.Group
	requests atomic.Int64 // token requests that reached MSAL's network path
	rotated  atomic.Int64

	// For Warm.
	clientID  string
	assertion func(ctx context.Context) (string, error)
}

// generation is one MSAL client with its cache and the user tokens it has seen.
type generation struct {
	msal  confidential.Client
	seen  sync.Map // [32]byte → struct{}
	users atomic.Int64
}

// New creates the process-wide OBO client. It makes no network call.
func New(opts *Options) (*Client, error) {
	if opts == nil || opts.Authority == "" || opts.ClientID == "" || opts.Assertion == nil {
		return nil, errors.New("obo: Authority, ClientID and Assertion are required")
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	c := &Client{maxUsers: opts.MaxCachedUsers, clientID: opts.ClientID, assertion: opts.Assertion}
	if c.maxUsers <= 0 {
		c.maxUsers = 20000
	}
	assertion := opts.Assertion
	cred := confidential.NewCredFromAssertionCallback(func(ctx context.Context, _ confidential.AssertionRequestOptions) (string, error) {
		c.requests.Add(1)
		return assertion(ctx)
	})
	c.newMSAL = func() (confidential.Client, error) {
		return confidential.New(opts.Authority, opts.ClientID, cred,
			confidential.WithHTTPClient(hc),
			// Instance discovery would call login.microsoftonline.com for any other host; the
			// authority is configured explicitly, so there is nothing to discover.
			confidential.WithInstanceDiscovery(false))
	}
	m, err := c.newMSAL()
	if err != nil {
		return nil, fmt.Errorf("obo: creating the MSAL client for %s: %w", opts.Authority, err)
	}
	c.gen.Store(&generation{msal: m})
	return c, nil
}

// Warm does ahead of time the work the first [Client.Token] call would otherwise wait for:
// MSAL resolves the tenant's endpoints (one OIDC discovery request to Entra, which also opens
// the keep-alive connection the OBO requests reuse), and the client assertion is fetched (one
// managed-identity request; the credential caches the token for its lifetime and concurrent
// callers share the request, so this adds no request). It sends no token request to Entra.
// Errors are returned for logging only: the first Token call retries whatever failed.
func (c *Client) Warm(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() {
		_, err := c.assertion(ctx)
		errc <- err
	}()
	// AuthCodeURL is MSAL's one public call that resolves (and caches) the authority's
	// endpoints without a token request; the URL itself is not used.
	_, err := c.gen.Load().msal.AuthCodeURL(ctx, c.clientID, "https://localhost", []string{"openid"})
	if aerr := <-errc; aerr != nil {
		err = errors.Join(err, fmt.Errorf("obo: fetching the client assertion: %w", aerr))
	}
	return err
}

// Rotations reports how many times the MSAL cache was dropped to bound memory.
func (c *Client) Rotations() int64 { return c.rotated.Load() }

// generationFor returns the MSAL generation to use for a user token, starting a new one when
// the current one has seen MaxCachedUsers distinct tokens.
func (c *Client) generationFor(sum [32]byte) *generation {
	g := c.gen.Load()
	if _, seen := g.seen.Load(sum); seen {
		return g
	}
	if g.users.Load() >= int64(c.maxUsers) {
		c.mu.Lock()
		if cur := c.gen.Load(); cur == g {
			if m, err := c.newMSAL(); err == nil { // cannot fail: same arguments as in New
				c.gen.Store(&generation{msal: m})
				c.rotated.Add(1)
			}
		}
		g = c.gen.Load()
		c.mu.Unlock()
	}
	if _, loaded := g.seen.LoadOrStore(sum, struct{}{}); !loaded {
		g.users.Add(1)
	}
	return g
}

// NetworkRequests reports how many times MSAL needed a client assertion, i.e. sent a token request.
func (c *Client) NetworkRequests() int64 { return c.requests.Load() }

// Token returns an access token for scopes on behalf of the user whose access token is userToken.
func (c *Client) Token(ctx context.Context, userToken string, scopes []string) (string, error) {
	sum := sha256.Sum256([]byte(userToken))
	key := hex.EncodeToString(sum[:]) + "\x00" + strings.Join(scopes, " ")
	g := c.generationFor(sum)
	ch := c.group.DoChan(key, func() (any, error) {
		// The shared call must not die with the first caller's request, but is bounded.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RequestTimeout)
		defer cancel()
		res, err := g.msal.AcquireTokenOnBehalfOf(sctx, userToken, scopes)
		if err != nil {
			return "", classify(err, scopes)
		}
		return res.AccessToken, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// ConsentRequiredError means Entra refused OBO because the user (or an admin) has not consented
// to the scopes, or the user must interact (MFA, conditional access) first, or only an
// administrator can make the scopes grantable.
type ConsentRequiredError struct {
	Scopes      []string // the scopes that were requested
	Code        string   // AADSTS code, e.g. "AADSTS65001"
	Interaction bool     // interaction_required (MFA, conditional access) rather than consent
	// Admin: AADSTS65005, the app registration does not list the permission among its API
	// permissions (or the tenant needs an administrator's consent for it). The user's own
	// consent prompt ends in the same error, so no consent link can help; an administrator must.
	Admin bool
}

func (e *ConsentRequiredError) Error() string {
	if e.Admin {
		return fmt.Sprintf("an administrator must add or consent to %s for the app (%s)", strings.Join(e.Scopes, ", "), e.Code)
	}
	if e.Interaction {
		return fmt.Sprintf("Entra requires the user to sign in interactively again (%s) before %s can be used", e.Code, strings.Join(e.Scopes, ", "))
	}
	return fmt.Sprintf("consent is missing for %s (%s)", strings.Join(e.Scopes, ", "), e.Code)
}

// Error is any other OBO failure; its text is Entra's error code and AADSTS code only.
type Error struct {
	Code    string // OAuth error, e.g. "invalid_client"
	AADSTS  string
	wrapped error
}

func (e *Error) Error() string {
	s := "on-behalf-of token request failed"
	if e.Code != "" {
		s += ": " + e.Code
	}
	if e.AADSTS != "" {
		s += " (" + e.AADSTS + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.wrapped }

var (
	aadstsRE = regexp.MustCompile(`AADSTS\d+`)
	errorRE  = regexp.MustCompile(`"error"\s*:\s*"([a-z_]+)"`)
	subRE    = regexp.MustCompile(`"suberror"\s*:\s*"([a-z_]+)"`)
)

// consentCodes are AADSTS codes that mean "consent missing or interaction required".
var consentCodes = map[string]bool{
	"AADSTS65001": true, // not consented
	"AADSTS65004": true, // user declined consent
	"AADSTS50076": true, // MFA required
	"AADSTS50079": true, // MFA registration required
	"AADSTS53003": true, // blocked by conditional access
}

// classify maps an MSAL error (whose text carries Entra's JSON body) to a typed error.
func classify(err error, scopes []string) error {
	msg := err.Error()
	code := ""
	if m := errorRE.FindStringSubmatch(msg); m != nil {
		code = m[1]
	}
	sub := ""
	if m := subRE.FindStringSubmatch(msg); m != nil {
		sub = m[1]
	}
	aadsts := aadstsRE.FindString(msg)
	switch {
	case aadsts == "AADSTS65005":
		return &ConsentRequiredError{Scopes: scopes, Code: aadsts, Admin: true}
	case sub == "consent_required" || code == "consent_required" || aadsts == "AADSTS65001" || aadsts == "AADSTS65004":
		return &ConsentRequiredError{Scopes: scopes, Code: firstNonEmpty(aadsts, "consent_required")}
	case code == "interaction_required" || sub == "basic_action" || sub == "additional_action" || consentCodes[aadsts]:
		return &ConsentRequiredError{Scopes: scopes, Code: firstNonEmpty(aadsts, "interaction_required"), Interaction: true}
	}
	return &Error{Code: code, AADSTS: aadsts, wrapped: err}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
