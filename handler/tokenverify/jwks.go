package tokenverify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"
)

var (
	errUnknownKey      = errors.New("signing key not found in the tenant's JWKS")
	errKeysUnavailable = errors.New("the tenant's JWKS has not been loaded")
)

// jwks keeps the tenant's signing keys in a keyfunc-backed memory store.
//
// We drive refreshes ourselves instead of using keyfunc's HTTP storage because its unknown-kid
// refresh lets only one caller through the rate limiter: other requests that arrive with the new
// kid at the same moment (a burst right after a key rollover) would fail or wait a full interval.
// Here all of them share one fetch (singleflight), and the limiter only bounds how often a stream
// of unknown kids (e.g. forged tokens) can make us fetch.
type jwks struct {
	opts    Options
	store   *jwkset.MemoryJWKSet
	kf      keyfunc.Keyfunc
	group   singleflight.Group
	limiter *rate.Limiter
	fetches atomic.Int64

	mu          sync.Mutex
	loaded      bool
	fetchedAt   time.Time
	lastFailure time.Time     // of an initial load: retried at most every loadRetry
	generation  uint64        // successful fetches so far
	inflight    chan struct{} // closed when the running refresh ends; nil when none runs
}

// loadRetry spaces initial-load attempts while Entra is unreachable, so a request storm does
// not become a fetch storm.
const loadRetry = 2 * time.Second

func newJWKS(o Options) (*jwks, error) {
	store := jwkset.NewMemoryStorage()
	kf, err := keyfunc.New(keyfunc.Options{Storage: store})
	if err != nil {
		return nil, err
	}
	return &jwks{
		opts:    o,
		store:   store,
		kf:      kf,
		limiter: rate.NewLimiter(rate.Every(o.UnknownKIDRefresh), 3),
	}, nil
}

// keyfunc resolves the token's key, refreshing the set once if the kid is unknown.
func (k *jwks) keyfunc(ctx context.Context, t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		// Entra always names the key; without a kid keyfunc would try every key.
		return nil, fmt.Errorf("%w: token has no kid", jwt.ErrTokenUnverifiable)
	}
	if err := k.ensureLoaded(ctx); err != nil {
		return nil, err
	}
	gen := k.gen()
	key, err := k.kf.KeyfuncCtx(ctx)(t)
	if err == nil {
		k.maybeRefreshOld()
		return key, nil
	}
	if !errors.Is(err, jwkset.ErrKeyNotFound) {
		return nil, err
	}
	if !k.limiter.Allow() {
		// The limiter only bounds new fetches. A refresh that is running or finished since our
		// lookup (started by the request just before us, right after a rollover) may well hold
		// the key: wait for it and look again instead of failing.
		if !k.awaitRefresh(ctx, gen) {
			return nil, errUnknownKey
		}
		key, err = k.kf.KeyfuncCtx(ctx)(t)
		if err != nil {
			return nil, errUnknownKey
		}
		return key, nil
	}
	if _, err := k.refresh(ctx, "unknown kid"); err != nil {
		// We cannot tell a new key from a forged one: the client should retry (503), since
		// signing in again would bring a token with the same kid. The limiter still bounds fetches.
		return nil, fmt.Errorf("%w: refreshing for an unknown kid: %w", errKeysUnavailable, err)
	}
	key, err = k.kf.KeyfuncCtx(ctx)(t)
	if errors.Is(err, jwkset.ErrKeyNotFound) {
		return nil, errUnknownKey
	}
	return key, err
}

func (k *jwks) gen() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.generation
}

// awaitRefresh waits for a running refresh, and reports whether the key set changed since gen.
func (k *jwks) awaitRefresh(ctx context.Context, gen uint64) bool {
	k.mu.Lock()
	done := k.inflight
	k.mu.Unlock()
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return false
		}
	}
	return k.gen() != gen
}

// ensureLoaded fetches the key set if no fetch has succeeded yet.
func (k *jwks) ensureLoaded(ctx context.Context) error {
	k.mu.Lock()
	loaded, recentFailure := k.loaded, !k.lastFailure.IsZero() && k.opts.Now().Sub(k.lastFailure) < loadRetry
	k.mu.Unlock()
	if loaded {
		return nil
	}
	if recentFailure {
		return errKeysUnavailable
	}
	_, err := k.refresh(ctx, "initial load")
	if err != nil {
		k.mu.Lock()
		k.lastFailure = k.opts.Now()
		k.mu.Unlock()
		return fmt.Errorf("%w: %w", errKeysUnavailable, err)
	}
	return nil
}

// maybeRefreshOld refreshes in the background when the keys are older than MaxKeyAge.
func (k *jwks) maybeRefreshOld() {
	k.mu.Lock()
	old := k.opts.Now().Sub(k.fetchedAt) > k.opts.MaxKeyAge
	if old {
		k.fetchedAt = k.opts.Now() // one background refresh per period even if it fails
	}
	k.mu.Unlock()
	if old {
		go k.refresh(context.Background(), "periodic")
	}
}

// refresh fetches the JWKS; concurrent callers share one request.
func (k *jwks) refresh(ctx context.Context, reason string) (any, error) {
	ch := k.group.DoChan("jwks", func() (any, error) {
		done := make(chan struct{})
		k.mu.Lock()
		k.inflight = done
		k.mu.Unlock()
		defer func() {
			k.mu.Lock()
			k.inflight = nil
			k.mu.Unlock()
			close(done)
		}()
		// Detached from the first caller's context: the others wait on the same result.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		err := k.fetch(fctx)
		if err != nil {
			k.opts.Logger.WarnContext(ctx, "JWKS refresh failed", slog.String("reason", reason), slog.String("error", err.Error()))
			return nil, err
		}
		k.opts.Logger.InfoContext(ctx, "JWKS refreshed", slog.String("reason", reason))
		return nil, nil
	})
	select {
	case r := <-ch:
		return r.Val, r.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (k *jwks) fetch(ctx context.Context) error {
	k.fetches.Add(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.opts.JWKSURL, nil)
	if err != nil {
		return err
	}
	resp, err := k.opts.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", k.opts.JWKSURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", k.opts.JWKSURL, resp.StatusCode)
	}
	var set jwkset.JWKSMarshal
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return fmt.Errorf("GET %s: decoding key set: %w", k.opts.JWKSURL, err)
	}
	keys := make([]jwkset.JWK, 0, len(set.Keys))
	for _, m := range set.Keys {
		if m.KTY != jwkset.KtyRSA || m.KID == "" {
			continue // only RSA keys with an id can verify RS256 tokens here
		}
		m.X5C = nil // the certificate chain adds nothing to n/e and may carry expired certs
		jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil {
			k.opts.Logger.WarnContext(ctx, "JWKS key skipped", slog.String("kid", m.KID), slog.String("error", err.Error()))
			continue
		}
		keys = append(keys, jwk)
	}
	if len(keys) == 0 {
		return fmt.Errorf("GET %s: no usable RSA keys", k.opts.JWKSURL)
	}
	if err := k.store.KeyReplaceAll(ctx, keys); err != nil {
		return err
	}
	k.mu.Lock()
	k.loaded, k.fetchedAt = true, k.opts.Now()
	k.generation++
	k.mu.Unlock()
	return nil
}
