// Package storetest is the contract every store.Store implementation must pass: the same
// behaviour for records, expiry, exactly-once consumption and refresh rotation, whether the
// state lives in a bbolt file or in Cosmos DB.
//
// An implementation's test calls Run with a factory that opens a fresh, empty store whose
// notion of "now" is the given clock:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, now func() time.Time) store.Store {
//			st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), &bolt.Options{Now: now})
//			if err != nil { t.Fatal(err) }
//			t.Cleanup(func() { st.Close() })
//			return st
//		})
//	}
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"example.com/graphmcp/handler/store"
)

// Factory opens a fresh empty store that reads time from now.
type Factory func(t *testing.T, now func() time.Time) store.Store

// Clock is a manually advanced clock for expiry tests (no sleeping).
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock set to a fixed instant.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// Concurrency is the number of concurrent consumers in the exactly-once tests.
const Concurrency = 50

// Run runs the whole contract against fresh stores from open.
func Run(t *testing.T, open Factory) {
	t.Run("Clients", func(t *testing.T) { testClients(t, open) })
	t.Run("Transactions", func(t *testing.T) { testTransactions(t, open) })
	t.Run("Codes", func(t *testing.T) { testCodes(t, open) })
	t.Run("Families", func(t *testing.T) { testFamilies(t, open) })
	t.Run("ExactlyOnceCodes", func(t *testing.T) { testExactlyOnceCodes(t, open) })
	t.Run("ExactlyOnceTransactions", func(t *testing.T) { testExactlyOnceTransactions(t, open) })
	t.Run("ExactlyOnceRotation", func(t *testing.T) { testExactlyOnceRotation(t, open) })
	t.Run("Release", func(t *testing.T) { testRelease(t, open) })
	t.Run("ConcurrentRelease", func(t *testing.T) { testConcurrentRelease(t, open) })
}

func ctx(t *testing.T) context.Context { return t.Context() }

// SampleClient returns a valid registration expiring ttl after now.
func SampleClient(now time.Time, ttl time.Duration) *store.Client {
	return &store.Client{
		ClientID: store.NewID(), Kind: store.KindDCR,
		Metadata: store.Metadata{
			ClientName:    "Sample client",
			RedirectURIs:  []string{"http://127.0.0.1:6276/oauth/callback", "https://app.example.com/cb"},
			GrantTypes:    []string{"authorization_code", "refresh_token"},
			ResponseTypes: []string{"code"}, TokenEndpointAuthMethod: "none",
		},
		IssuedAt: store.Unix(now), ExpiresAt: store.Unix(now.Add(ttl)),
	}
}

func mustErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func testClients(t *testing.T, open Factory) {
	clock := NewClock()
	st := open(t, clock.Now)
	c := SampleClient(clock.Now(), time.Hour)
	if err := st.CreateClient(ctx(t), c); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	got, err := st.GetClient(ctx(t), c.ClientID)
	if err != nil {
		t.Fatalf("GetClient: %v", err)
	}
	if fmt.Sprint(*got) != fmt.Sprint(*c) {
		t.Fatalf("GetClient returned %+v, want %+v", *got, *c)
	}
	dup := *c
	dup.ClientName = "other"
	mustErr(t, "CreateClient duplicate", st.CreateClient(ctx(t), &dup), store.ErrConflict)
	if got, _ := st.GetClient(ctx(t), c.ClientID); got == nil || got.ClientName != c.ClientName {
		t.Fatal("a refused duplicate overwrote the registration")
	}
	_, err = st.GetClient(ctx(t), "no-such-client")
	mustErr(t, "GetClient unknown", err, store.ErrNotFound)

	// Sliding expiry: extend forward, never backward.
	later := c.ExpiresAt + 3600
	if err := st.ExtendClient(ctx(t), c.ClientID, later); err != nil {
		t.Fatalf("ExtendClient: %v", err)
	}
	if err := st.ExtendClient(ctx(t), c.ClientID, c.ExpiresAt); err != nil {
		t.Fatalf("ExtendClient backward: %v", err)
	}
	if got, _ := st.GetClient(ctx(t), c.ClientID); got == nil || got.ExpiresAt != later {
		t.Fatalf("after extend: %+v, want expiry %d", got, later)
	}
	mustErr(t, "ExtendClient unknown", st.ExtendClient(ctx(t), "no-such-client", later), store.ErrNotFound)

	clock.Advance(2*time.Hour + time.Second)
	_, err = st.GetClient(ctx(t), c.ClientID)
	mustErr(t, "GetClient expired", err, store.ErrNotFound)
	mustErr(t, "ExtendClient expired", st.ExtendClient(ctx(t), c.ClientID, later+7200), store.ErrNotFound)
	// An expired id may be registered again (it is gone as far as anyone can tell).
	again := SampleClient(clock.Now(), time.Hour)
	again.ClientID = c.ClientID
	if err := st.CreateClient(ctx(t), again); err != nil {
		t.Fatalf("CreateClient over an expired record: %v", err)
	}
	if err := st.Ping(ctx(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func newTransaction(now time.Time) *store.Transaction {
	return &store.Transaction{ID: store.NewSecret(), ClientID: "client-1", Payload: "opaque-transaction-payload",
		CreatedAt: store.Unix(now), ExpiresAt: store.Unix(now.Add(10 * time.Minute))}
}

func testTransactions(t *testing.T, open Factory) {
	clock := NewClock()
	st := open(t, clock.Now)
	tx := newTransaction(clock.Now())
	if err := st.CreateTransaction(ctx(t), tx); err != nil {
		t.Fatalf("CreateTransaction: %v", err)
	}
	mustErr(t, "CreateTransaction duplicate", st.CreateTransaction(ctx(t), tx), store.ErrConflict)
	got, err := st.ConsumeTransaction(ctx(t), tx.ID)
	if err != nil || *got != *tx {
		t.Fatalf("ConsumeTransaction: %+v, %v", got, err)
	}
	_, err = st.ConsumeTransaction(ctx(t), tx.ID)
	mustErr(t, "ConsumeTransaction twice", err, store.ErrNotFound)
	_, err = st.ConsumeTransaction(ctx(t), "unknown")
	mustErr(t, "ConsumeTransaction unknown", err, store.ErrNotFound)

	old := newTransaction(clock.Now())
	if err := st.CreateTransaction(ctx(t), old); err != nil {
		t.Fatal(err)
	}
	clock.Advance(10 * time.Minute)
	_, err = st.ConsumeTransaction(ctx(t), old.ID)
	mustErr(t, "ConsumeTransaction expired", err, store.ErrNotFound)
}

func newCode(now time.Time) (string, *store.Code) {
	code := store.NewSecret()
	return code, &store.Code{Hash: store.HashSecret(code), ClientID: "client-1",
		RedirectURI: "http://127.0.0.1:6276/oauth/callback", CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256", Resource: "https://apim.example.net/mcp", Scope: "openid",
		Payload: "opaque-code-payload", CreatedAt: store.Unix(now), ExpiresAt: store.Unix(now.Add(5 * time.Minute))}
}

func testCodes(t *testing.T, open Factory) {
	clock := NewClock()
	st := open(t, clock.Now)
	_, c := newCode(clock.Now())
	if err := st.CreateCode(ctx(t), c); err != nil {
		t.Fatalf("CreateCode: %v", err)
	}
	mustErr(t, "CreateCode duplicate", st.CreateCode(ctx(t), c), store.ErrConflict)
	got, err := st.ConsumeCode(ctx(t), c.Hash)
	if err != nil || *got != *c {
		t.Fatalf("ConsumeCode: %+v, %v", got, err)
	}
	_, err = st.ConsumeCode(ctx(t), c.Hash)
	mustErr(t, "ConsumeCode replay", err, store.ErrNotFound)

	_, old := newCode(clock.Now())
	if err := st.CreateCode(ctx(t), old); err != nil {
		t.Fatal(err)
	}
	clock.Advance(5*time.Minute + time.Second)
	_, err = st.ConsumeCode(ctx(t), old.Hash)
	mustErr(t, "ConsumeCode expired", err, store.ErrNotFound)
}

func newFamily(now time.Time) (string, *store.Family) {
	handle := store.NewSecret()
	return handle, &store.Family{ID: store.NewID(), ClientID: "client-1", Resource: "https://apim.example.net/mcp",
		Scope: "openid", Payload: "entra-refresh-v1", CurrentHash: store.HashSecret(handle),
		CreatedAt: store.Unix(now), UpdatedAt: store.Unix(now), ExpiresAt: store.Unix(now.Add(24 * time.Hour))}
}

func rotate(st store.Store, f *store.Family, presented, client, payload string, now time.Time) (string, *store.Family, error) {
	next := store.NewSecret()
	got, err := st.RotateFamily(context.Background(), store.Rotation{FamilyID: f.ID, PresentedHash: store.HashSecret(presented),
		ClientID: client, NextHash: store.HashSecret(next), Payload: payload, Now: store.Unix(now)})
	return next, got, err
}

func testFamilies(t *testing.T, open Factory) {
	clock := NewClock()
	st := open(t, clock.Now)
	h0, f := newFamily(clock.Now())
	if err := st.CreateFamily(ctx(t), f); err != nil {
		t.Fatalf("CreateFamily: %v", err)
	}
	mustErr(t, "CreateFamily duplicate", st.CreateFamily(ctx(t), f), store.ErrConflict)

	// Another client presenting a valid handle: refused, family untouched.
	_, _, err := rotate(st, f, h0, "client-2", "", clock.Now())
	mustErr(t, "rotate by another client", err, store.ErrMismatch)
	// A handle never issued: refused, family untouched.
	_, _, err = rotate(st, f, "never-issued", "client-1", "", clock.Now())
	mustErr(t, "rotate unknown handle", err, store.ErrNotFound)
	// Its own client redeeming it for another resource (another gateway over this state):
	// refused, family untouched; a guessed handle learns nothing about the binding.
	wrongResource := func(presented string) error {
		_, err := st.RotateFamily(ctx(t), store.Rotation{FamilyID: f.ID, PresentedHash: store.HashSecret(presented), ClientID: "client-1",
			Resource: "https://other-gateway.example.net/mcp", NextHash: store.HashSecret(store.NewSecret()), Now: store.Unix(clock.Now())})
		return err
	}
	mustErr(t, "rotate for another resource", wrongResource(h0), store.ErrResourceMismatch)
	mustErr(t, "rotate unknown handle for another resource", wrongResource("never-issued"), store.ErrNotFound)
	if g, err := st.GetFamily(ctx(t), f.ID); err != nil || g.Revoked || g.CurrentHash != f.CurrentHash || g.Generation != 0 {
		t.Fatalf("a refused resource changed the family: err %v", err)
	}

	// Its own client for its own resource (f.Resource): rotated.
	h1 := store.NewSecret()
	got, err := st.RotateFamily(ctx(t), store.Rotation{FamilyID: f.ID, PresentedHash: store.HashSecret(h0), ClientID: "client-1",
		Resource: f.Resource, NextHash: store.HashSecret(h1), Now: store.Unix(clock.Now())})
	if err != nil {
		t.Fatalf("RotateFamily: %v", err)
	}
	if got.Generation != 1 || got.Payload != f.Payload || got.CurrentHash != store.HashSecret(h1) {
		t.Fatalf("after rotation: generation %d, current handle updated %v", got.Generation, got.CurrentHash == store.HashSecret(h1))
	}
	// The payload can be replaced while the handle is current, only by its client.
	mustErr(t, "UpdateFamilyPayload other client",
		st.UpdateFamilyPayload(ctx(t), f.ID, store.HashSecret(h1), "client-2", "x"), store.ErrMismatch)
	mustErr(t, "UpdateFamilyPayload spent handle",
		st.UpdateFamilyPayload(ctx(t), f.ID, store.HashSecret(h0), "client-1", "x"), store.ErrNotFound)
	if err := st.UpdateFamilyPayload(ctx(t), f.ID, store.HashSecret(h1), "client-1", "entra-refresh-v2"); err != nil {
		t.Fatalf("UpdateFamilyPayload: %v", err)
	}
	h2, got, err := rotate(st, f, h1, "client-1", "entra-refresh-v3", clock.Now())
	if err != nil || got.Payload != "entra-refresh-v3" || got.Generation != 2 {
		t.Fatalf("second rotation: %v", err)
	}
	if stored, err := st.GetFamily(ctx(t), f.ID); err != nil || stored.Payload != "entra-refresh-v3" {
		t.Fatalf("GetFamily after rotation with payload: %v", err)
	}

	// Reuse of a spent handle revokes the whole family: the current handle dies too.
	_, _, err = rotate(st, f, h0, "client-1", "", clock.Now())
	mustErr(t, "reuse of a spent handle", err, store.ErrReuse)
	_, _, err = rotate(st, f, h2, "client-1", "", clock.Now())
	mustErr(t, "rotate after reuse", err, store.ErrRevoked)
	if got, err := st.GetFamily(ctx(t), f.ID); err != nil || !got.Revoked {
		t.Fatalf("family after reuse: revoked=%v err=%v", got != nil && got.Revoked, err)
	}
	mustErr(t, "UpdateFamilyPayload revoked",
		st.UpdateFamilyPayload(ctx(t), f.ID, store.HashSecret(h2), "client-1", "x"), store.ErrRevoked)

	// Revocation (RFC 7009) is idempotent and unknown families are not an error.
	hB, fB := newFamily(clock.Now())
	if err := st.CreateFamily(ctx(t), fB); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := st.RevokeFamily(ctx(t), fB.ID); err != nil {
			t.Fatalf("RevokeFamily: %v", err)
		}
	}
	if err := st.RevokeFamily(ctx(t), "no-such-family"); err != nil {
		t.Fatalf("RevokeFamily unknown: %v", err)
	}
	_, _, err = rotate(st, fB, hB, "client-1", "", clock.Now())
	mustErr(t, "rotate revoked family", err, store.ErrRevoked)

	// Expiry.
	hC, fC := newFamily(clock.Now())
	if err := st.CreateFamily(ctx(t), fC); err != nil {
		t.Fatal(err)
	}
	clock.Advance(24 * time.Hour)
	_, _, err = rotate(st, fC, hC, "client-1", "", clock.Now())
	mustErr(t, "rotate expired family", err, store.ErrNotFound)
	_, err = st.GetFamily(ctx(t), fC.ID)
	mustErr(t, "GetFamily expired", err, store.ErrNotFound)
}

// race runs fn Concurrency times at once and returns the number of nil results and the errors.
func race(fn func() error) (int, []error) {
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		mu    sync.Mutex
		wins  int
		errs  []error
	)
	for range Concurrency {
		wg.Go(func() {
			<-start
			err := fn()
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
			} else {
				errs = append(errs, err)
			}
		})
	}
	close(start)
	wg.Wait()
	return wins, errs
}

func checkOnce(t *testing.T, what string, wins int, errs []error, allowed ...error) {
	t.Helper()
	if wins != 1 || len(errs) != Concurrency-1 {
		t.Fatalf("%s: %d winners and %d losers, want 1 and %d (errors: %v)", what, wins, len(errs), Concurrency-1, errs)
	}
	for _, err := range errs {
		ok := false
		for _, a := range allowed {
			ok = ok || errors.Is(err, a)
		}
		if !ok {
			t.Fatalf("%s: loser got %v, want one of %v", what, err, allowed)
		}
	}
}

func testExactlyOnceCodes(t *testing.T, open Factory) {
	clock := NewClock()
	st := open(t, clock.Now)
	_, c := newCode(clock.Now())
	if err := st.CreateCode(ctx(t), c); err != nil {
		t.Fatal(err)
	}
	wins, errs := race(func() error { _, err := st.ConsumeCode(context.Background(), c.Hash); return err })
	checkOnce(t, "ConsumeCode", wins, errs, store.ErrNotFound)
}

func testExactlyOnceTransactions(t *testing.T, open Factory) {
	clock := NewClock()
	st := open(t, clock.Now)
	tx := newTransaction(clock.Now())
	if err := st.CreateTransaction(ctx(t), tx); err != nil {
		t.Fatal(err)
	}
	wins, errs := race(func() error { _, err := st.ConsumeTransaction(context.Background(), tx.ID); return err })
	checkOnce(t, "ConsumeTransaction", wins, errs, store.ErrNotFound)
}

func testExactlyOnceRotation(t *testing.T, open Factory) {
	clock := NewClock()
	st := open(t, clock.Now)
	h0, f := newFamily(clock.Now())
	if err := st.CreateFamily(ctx(t), f); err != nil {
		t.Fatal(err)
	}
	wins, errs := race(func() error { _, _, err := rotate(st, f, h0, "client-1", "", clock.Now()); return err })
	// Concurrent presentation of one handle is reuse: every loser sees the handle spent (or the
	// family already revoked by another loser), so the family ends revoked — deterministically.
	checkOnce(t, "RotateFamily", wins, errs, store.ErrReuse, store.ErrRevoked)
	if got, err := st.GetFamily(ctx(t), f.ID); err != nil || !got.Revoked {
		t.Fatalf("family after concurrent reuse: revoked=%v err=%v", got != nil && got.Revoked, err)
	}
}

// pendingFamily creates a family and rotates its first handle without completing the
// rotation, as the gateway does before redeeming the upstream refresh token.
func pendingFamily(t *testing.T, st store.Store, now time.Time) (h0, h1 string, f *store.Family) {
	t.Helper()
	h0, f = newFamily(now)
	if err := st.CreateFamily(ctx(t), f); err != nil {
		t.Fatal(err)
	}
	h1, _, err := rotate(st, f, h0, "client-1", "", now)
	if err != nil {
		t.Fatalf("RotateFamily: %v", err)
	}
	return h0, h1, f
}

func release(st store.Store, f *store.Family, h, client string) error {
	return st.ReleaseRotation(context.Background(), f.ID, store.HashSecret(h), client)
}

// testRelease: a rotation not yet completed can be undone by its own client, once in effect
// however often it is asked; the released handle is void, the one it spent works again and
// rotates normally; a completed rotation is never undone, so reuse detection is as strong as
// without release.
func testRelease(t *testing.T, open Factory) {
	clock := NewClock()
	st := open(t, clock.Now)
	h0, h1, f := pendingFamily(t, st, clock.Now())

	mustErr(t, "release by another client", release(st, f, h1, "client-2"), store.ErrMismatch)
	mustErr(t, "release of the spent handle", release(st, f, h0, "client-1"), store.ErrNotFound)
	mustErr(t, "release of a handle never issued", release(st, f, "never-issued", "client-1"), store.ErrNotFound)
	mustErr(t, "release in an unknown family", st.ReleaseRotation(ctx(t), "no-such-family", store.HashSecret(h1), "client-1"), store.ErrNotFound)
	for i := range 2 { // a retried release changes nothing more
		if err := release(st, f, h1, "client-1"); err != nil {
			t.Fatalf("ReleaseRotation #%d: %v", i+1, err)
		}
	}
	got, err := st.GetFamily(ctx(t), f.ID)
	if err != nil || got.Revoked || got.CurrentHash != store.HashSecret(h0) || len(got.SpentHashes) != 0 || got.Generation != 0 || got.PendingHash != "" {
		t.Fatalf("after release: err %v, revoked %v, h0 current %v, spent %d, generation %d", err, got.Revoked, got.CurrentHash == store.HashSecret(h0), len(got.SpentHashes), got.Generation)
	}
	// The released handle is void: not current, not spent (the client never had it).
	_, _, err = rotate(st, f, h1, "client-1", "", clock.Now())
	mustErr(t, "rotate the released handle", err, store.ErrNotFound)
	mustErr(t, "update with the released handle", st.UpdateFamilyPayload(ctx(t), f.ID, store.HashSecret(h1), "client-1", "x"), store.ErrNotFound)
	// The handle it spent works again, once, and its rotation completes normally.
	h2, _, err := rotate(st, f, h0, "client-1", "", clock.Now())
	if err != nil {
		t.Fatalf("rotate after release: %v", err)
	}
	if err := st.UpdateFamilyPayload(ctx(t), f.ID, store.HashSecret(h2), "client-1", "entra-refresh-v2"); err != nil {
		t.Fatalf("UpdateFamilyPayload: %v", err)
	}
	mustErr(t, "release of a completed rotation", release(st, f, h2, "client-1"), store.ErrCompleted)
	mustErr(t, "release of a handle released before the rotation completed", release(st, f, h1, "client-1"), store.ErrNotFound)
	// Reuse detection is untouched: the handle spent by the completed rotation revokes the family.
	_, _, err = rotate(st, f, h0, "client-1", "", clock.Now())
	mustErr(t, "reuse after a completed rotation", err, store.ErrReuse)
	mustErr(t, "release in a revoked family", release(st, f, h2, "client-1"), store.ErrRevoked)

	// A rotation that carried its payload is complete at once.
	hA, fA := newFamily(clock.Now())
	if err := st.CreateFamily(ctx(t), fA); err != nil {
		t.Fatal(err)
	}
	hA1, _, err := rotate(st, fA, hA, "client-1", "entra-refresh-v2", clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	mustErr(t, "release of a rotation with payload", release(st, fA, hA1, "client-1"), store.ErrCompleted)

	// A replay of the spent handle while the rotation is pending is reuse, as ever: the family
	// is revoked and release cannot bring it back.
	hB0, hB1, fB := pendingFamily(t, st, clock.Now())
	_, _, err = rotate(st, fB, hB0, "client-1", "", clock.Now())
	mustErr(t, "replay while the rotation is pending", err, store.ErrReuse)
	mustErr(t, "release after the replay", release(st, fB, hB1, "client-1"), store.ErrRevoked)
}

// testConcurrentRelease: concurrent releases of one rotation all succeed and undo it once;
// a release racing the update that completes the rotation, or a replay of the handle it
// spent (a stolen copy), ends in exactly one of the two consistent outcomes.
func testConcurrentRelease(t *testing.T, open Factory) {
	clock := NewClock()
	st := open(t, clock.Now)
	h0, h1, f := pendingFamily(t, st, clock.Now())
	if wins, errs := race(func() error { return release(st, f, h1, "client-1") }); wins != Concurrency {
		t.Fatalf("concurrent releases: %d succeeded, errors %v", wins, errs)
	}
	if g, err := st.GetFamily(ctx(t), f.ID); err != nil || g.CurrentHash != store.HashSecret(h0) || len(g.SpentHashes) != 0 || g.Generation != 0 {
		t.Fatalf("after concurrent releases: %v", err)
	}

	both := func(a, b func() error) (errA, errB error) {
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() { <-start; errA = a() })
		wg.Go(func() { <-start; errB = b() })
		close(start)
		wg.Wait()
		return errA, errB
	}
	for range 10 {
		// release vs the update that completes the rotation: exactly one wins.
		_, h1, f := pendingFamily(t, st, clock.Now())
		relErr, updErr := both(func() error { return release(st, f, h1, "client-1") },
			func() error {
				return st.UpdateFamilyPayload(context.Background(), f.ID, store.HashSecret(h1), "client-1", "v2")
			})
		if !(relErr == nil && errors.Is(updErr, store.ErrNotFound) || errors.Is(relErr, store.ErrCompleted) && updErr == nil) {
			t.Fatalf("release vs update: release %v, update %v; want exactly one to win", relErr, updErr)
		}

		// release vs a replay of the spent handle: either the release came first and the
		// replay is an ordinary use of the current handle, or the replay is reuse, the family
		// is revoked and the release refused. Never both, never a live family with h0 spent twice.
		h0, h1, f = pendingFamily(t, st, clock.Now())
		relErr, rotErr := both(func() error { return release(st, f, h1, "client-1") },
			func() error { _, _, err := rotate(st, f, h0, "client-1", "", clock.Now()); return err })
		g, err := st.GetFamily(ctx(t), f.ID)
		switch {
		case err != nil:
			t.Fatal(err)
		case relErr == nil && rotErr == nil:
			if g.Revoked || g.Generation != 1 || !slices.Contains(g.SpentHashes, store.HashSecret(h0)) {
				t.Fatalf("release then replay: revoked %v generation %d", g.Revoked, g.Generation)
			}
		case errors.Is(relErr, store.ErrRevoked) && errors.Is(rotErr, store.ErrReuse):
			if !g.Revoked {
				t.Fatal("replay during a pending rotation did not revoke the family")
			}
		default:
			t.Fatalf("release vs replay: release %v, replay %v", relErr, rotErr)
		}
	}
}
