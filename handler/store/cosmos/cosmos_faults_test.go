package cosmos_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"example.com/graphmcp/handler/store"
	"example.com/graphmcp/handler/store/cosmos"
	"example.com/graphmcp/handler/store/cosmos/cosmostest"
	"example.com/graphmcp/handler/store/storetest"
	"example.com/graphmcp/internal/freeport"
)

func openVia(t *testing.T, endpoint, database string, timeout time.Duration) *cosmos.Store {
	t.Helper()
	st, err := cosmos.New(endpoint, cosmostest.Credential{}, &cosmos.Options{
		Database: database, CreateIfMissing: true,
		ClientOptions: cosmostest.ClientOptions(), OpTimeout: timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestFaults: 503, 429 and dropped connections surface as ErrUnavailable after the retries,
// and a failed registration leaves nothing behind; short bursts of 429/503 are absorbed.
func TestFaults(t *testing.T) {
	proxy := cosmostest.NewFaultProxy(t, cosmostest.Start(t))
	// A short operation deadline: azcosmos sleeps 1 s between same-region retries of reads on
	// connection errors, and the deadline is what bounds them (the API's answer is then 503).
	// Operations expected to succeed go through a second client with a generous deadline, so a
	// loaded CI machine cannot turn them into failures.
	db := cosmostest.NewDatabaseName()
	st := openVia(t, proxy.URL, db, time.Second)
	ok := openVia(t, proxy.URL, db, 20*time.Second)
	now := time.Now()

	for _, f := range []cosmostest.Fault{cosmostest.Unavailable, cosmostest.Throttle, cosmostest.Drop} {
		proxy.Set(f, -1)
		c := storetest.SampleClient(now, time.Hour)
		if err := st.CreateClient(t.Context(), c); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("fault %d: CreateClient error %v, want ErrUnavailable", f, err)
		}
		if _, err := st.ConsumeCode(t.Context(), "some-hash"); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("fault %d: ConsumeCode error %v, want ErrUnavailable", f, err)
		}
		if err := st.Ping(t.Context()); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("fault %d: Ping error %v, want ErrUnavailable", f, err)
		}
		if f == cosmostest.Throttle && proxy.Hits() < 4 {
			t.Fatalf("429: %d throttled requests, want retries with backoff", proxy.Hits())
		}
		proxy.Set(cosmostest.Pass, 0)
		if _, err := ok.GetClient(t.Context(), c.ClientID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("fault %d: a failed registration left something behind: %v", f, err)
		}
	}

	// Transient throttling is retried with backoff (writes too: a 429 means "not done").
	proxy.Set(cosmostest.Throttle, 2)
	c0 := storetest.SampleClient(now, time.Hour)
	if err := ok.CreateClient(t.Context(), c0); err != nil {
		t.Fatalf("429 twice: CreateClient %v, want success after retries", err)
	}
	// azcosmos retries a 503 only in another region (writes never: they may have landed), so
	// a single 503 surfaces as ErrUnavailable, and the next call works again.
	proxy.Set(cosmostest.Unavailable, 1)
	if _, err := st.GetClient(t.Context(), c0.ClientID); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("503 once: %v, want ErrUnavailable", err)
	}
	if got, err := ok.GetClient(t.Context(), c0.ClientID); err != nil || len(got.RedirectURIs) != 2 {
		t.Fatalf("after a 503: %v", err)
	}

	// The write lands but its answer is lost: the caller sees ErrUnavailable, and the record
	// exists completely (one item per registration), never partially.
	proxy.Set(cosmostest.LoseResponse, 1)
	c := storetest.SampleClient(now, time.Hour)
	err := ok.CreateClient(t.Context(), c)
	proxy.Set(cosmostest.Pass, 0)
	got, gerr := ok.GetClient(t.Context(), c.ClientID)
	switch {
	case err == nil && gerr == nil, errors.Is(err, store.ErrUnavailable) && gerr == nil:
		if len(got.RedirectURIs) != 2 || got.ClientName != c.ClientName {
			t.Fatalf("registration half-written: %+v", got)
		}
	case errors.Is(err, store.ErrConflict) && gerr == nil:
		// The pipeline retried the create after the lost answer and found it written.
	default:
		t.Fatalf("lost response: create %v, get %v", err, gerr)
	}
}

func TestUnreachable(t *testing.T) {
	port, err := freeport.Pick() // nothing listens there now: connection refused
	if err != nil {
		t.Fatal(err)
	}
	st, err := cosmos.New(fmt.Sprintf("http://127.0.0.1:%d/", port), cosmostest.Credential{}, &cosmos.Options{
		Database: "x", ClientOptions: cosmostest.ClientOptions(), OpTimeout: 3 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Ping(t.Context()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ping: %v, want ErrUnavailable", err)
	}
	if _, err := st.ConsumeTransaction(t.Context(), "x"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("ConsumeTransaction: %v, want ErrUnavailable", err)
	}
}

// TestWriteRetries: a create (fixed id) and an ETag-guarded replace are repeated after a single
// 503, a bounded number of times; when the 503 hid a write that landed, the repeat's 409/412 is
// recognised as our own success (a refresh rotation is not mistaken for reuse). A delete is
// never repeated: its outcome would be ambiguous.
func TestWriteRetries(t *testing.T) {
	proxy := cosmostest.NewFaultProxy(t, cosmostest.Start(t))
	st := openVia(t, proxy.URL, cosmostest.NewDatabaseName(), 20*time.Second)
	ctx := t.Context()
	now := time.Now()

	for _, f := range []cosmostest.Fault{cosmostest.Unavailable, cosmostest.LoseResponse} {
		proxy.SetFor(http.MethodPost, f, 1)
		c := storetest.SampleClient(now, time.Hour)
		if err := st.CreateClient(ctx, c); err != nil || proxy.Hits() != 1 {
			t.Fatalf("fault %d once on create: %v after %d faults, want success", f, err, proxy.Hits())
		}
		if got, err := st.GetClient(ctx, c.ClientID); err != nil || got.ClientName != c.ClientName {
			t.Fatalf("fault %d once on create: stored %+v, %v", f, got, err)
		}
		// A real conflict still is one, also after a repeat.
		proxy.SetFor(http.MethodPost, f, 1)
		other := *storetest.SampleClient(now, time.Hour)
		other.ClientID, other.ClientName = c.ClientID, "Another client"
		if err := st.CreateClient(ctx, &other); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("fault %d once on a conflicting create: %v, want ErrConflict", f, err)
		}

		proxy.SetFor(http.MethodPut, f, 1)
		later := c.ExpiresAt + 3600
		if err := st.ExtendClient(ctx, c.ClientID, later); err != nil || proxy.Hits() != 1 {
			t.Fatalf("fault %d once on replace: %v after %d faults", f, err, proxy.Hits())
		}
		if got, err := st.GetClient(ctx, c.ClientID); err != nil || got.ExpiresAt != later {
			t.Fatalf("fault %d once on replace: stored expiry %v, %v", f, got, err)
		}

		// Rotation whose success was hidden by the 503: the caller gets the rotated family,
		// and the next rotation (with the new handle) works.
		h0 := store.NewSecret()
		fam := &store.Family{ID: store.NewID(), ClientID: "client-1", Payload: "p0", CurrentHash: store.HashSecret(h0),
			CreatedAt: store.Unix(now), UpdatedAt: store.Unix(now), ExpiresAt: store.Unix(now.Add(time.Hour))}
		if err := st.CreateFamily(ctx, fam); err != nil {
			t.Fatal(err)
		}
		h1 := store.NewSecret()
		proxy.SetFor(http.MethodPut, f, 1)
		got, err := st.RotateFamily(ctx, store.Rotation{FamilyID: fam.ID, PresentedHash: store.HashSecret(h0), ClientID: "client-1",
			NextHash: store.HashSecret(h1), Payload: "p1", Now: store.Unix(now)})
		if err != nil || got.Revoked || got.CurrentHash != store.HashSecret(h1) {
			t.Fatalf("fault %d once on rotation: %+v, %v", f, got, err)
		}
		if _, err := st.RotateFamily(ctx, store.Rotation{FamilyID: fam.ID, PresentedHash: store.HashSecret(h1), ClientID: "client-1",
			NextHash: store.HashSecret(store.NewSecret()), Now: store.Unix(now)}); err != nil {
			t.Fatalf("fault %d: the rotation after a hidden success: %v", f, err)
		}
	}

	// Bounded: a 503 that persists fails after 1 + 2 attempts.
	proxy.SetFor(http.MethodPost, cosmostest.Unavailable, -1)
	if err := st.CreateClient(ctx, storetest.SampleClient(now, time.Hour)); !errors.Is(err, store.ErrUnavailable) || proxy.Hits() != 3 {
		t.Fatalf("persistent 503: %v after %d attempts, want ErrUnavailable after 3", err, proxy.Hits())
	}

	// Deletes are not repeated: the consume fails, and the code is still there to consume.
	code := &store.Code{Hash: store.HashSecret(store.NewSecret()), ClientID: "client-1", RedirectURI: "https://app.example/cb",
		CodeChallenge: "x", CodeChallengeMethod: "S256", CreatedAt: store.Unix(now), ExpiresAt: store.Unix(now.Add(time.Minute))}
	proxy.Set(cosmostest.Pass, 0)
	if err := st.CreateCode(ctx, code); err != nil {
		t.Fatal(err)
	}
	proxy.SetFor(http.MethodDelete, cosmostest.Unavailable, 1)
	if _, err := st.ConsumeCode(ctx, code.Hash); !errors.Is(err, store.ErrUnavailable) || proxy.Hits() != 1 {
		t.Fatalf("503 on delete: %v after %d attempts, want ErrUnavailable after 1", err, proxy.Hits())
	}
	if _, err := st.ConsumeCode(ctx, code.Hash); err != nil {
		t.Fatalf("consume after a failed delete: %v", err)
	}
}
