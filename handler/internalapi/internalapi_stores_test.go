package internalapi

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/graphmcp/handler/cimd"
	"example.com/graphmcp/handler/store"
	"example.com/graphmcp/handler/store/cosmos"
	"example.com/graphmcp/handler/store/cosmos/cosmostest"
	"example.com/graphmcp/handler/store/storetest"
	"example.com/graphmcp/internal/freeport"
)

func newCosmos(t *testing.T, endpoint, database string, now func() time.Time, opTimeout time.Duration) store.Store {
	t.Helper()
	st, err := cosmos.New(endpoint, cosmostest.Credential{}, &cosmos.Options{
		Database: database, CreateIfMissing: true,
		ClientOptions: cosmostest.ClientOptions(), Now: now, OpTimeout: opTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// raceHTTP sends the same request Concurrency times at once and tallies the answers.
func raceHTTP(t *testing.T, h http.Handler, op string, body any) map[string]int {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		start = make(chan struct{})
		tally = map[string]int{}
	)
	for range storetest.Concurrency {
		wg.Go(func() {
			<-start
			// Not call(): t.Fatal must not run on a goroutine other than the test's.
			req := httptest.NewRequest(http.MethodPost, "/internal/v1/"+op, bytes.NewReader(raw))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var resp struct {
				Error string `json:"error"`
			}
			key := "OK"
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
				key = "unparsable response"
			} else if rec.Code != http.StatusOK {
				key = resp.Error
			}
			mu.Lock()
			tally[key]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return tally
}

func wantOnce(t *testing.T, what string, tally map[string]int) {
	t.Helper()
	if tally["OK"] != 1 || tally["invalid_grant"] != storetest.Concurrency-1 {
		t.Fatalf("%s: %v, want 1 OK and %d invalid_grant", what, tally, storetest.Concurrency-1)
	}
}

// bothStores opens a fresh store of each kind (Cosmos DB on its emulator).
func bothStores(t *testing.T) map[string]func(*testing.T, func() time.Time) store.Store {
	endpoint := cosmostest.Start(t)
	return map[string]func(*testing.T, func() time.Time) store.Store{
		"bolt": func(t *testing.T, now func() time.Time) store.Store { return newBolt(t, now) },
		"cosmos": func(t *testing.T, now func() time.Time) store.Store {
			return newCosmos(t, endpoint, cosmostest.NewDatabaseName(), now, 20*time.Second)
		},
	}
}

// TestExactlyOnceOverHTTP: 50 concurrent redemptions of one code, one state and one refresh
// token through the API → exactly one success and 49 invalid_grant, on both stores; the
// concurrent refresh reuse revokes the family.
func TestExactlyOnceOverHTTP(t *testing.T) {
	for name, open := range bothStores(t) {
		t.Run(name, func(t *testing.T) {
			clock := storetest.NewClock()
			h := New(open(t, clock.Now), nil, &Options{Now: clock.Now})

			code := call(t, h, "codes/create", newCodeReq("c1")).str("code")
			wantOnce(t, "codes/consume", raceHTTP(t, h, "codes/consume", consumeReq(code, "c1")))

			state := call(t, h, "transactions/create", map[string]any{"client_id": "c1", "payload": "p"}).str("state")
			wantOnce(t, "transactions/consume", raceHTTP(t, h, "transactions/consume", map[string]any{"state": state}))

			rt := call(t, h, "refresh/create", map[string]any{"client_id": "c1", "payload": "p", "resource": "https://apim.example.net/mcp"}).str("refresh_token")
			wantOnce(t, "refresh/rotate", raceHTTP(t, h, "refresh/rotate", map[string]any{"refresh_token": rt, "client_id": "c1"}))
			expect(t, "family after concurrent reuse", call(t, h, "refresh/rotate", map[string]any{"refresh_token": rt, "client_id": "c1"}),
				"Bad Request invalid_grant/grant_revoked")
		})
	}
}

// TestStoreUnavailable: Cosmos unreachable, answering 503, throttling past the retries, or
// dropping connections → every operation answers 503 store_unavailable with Retry-After, and
// the API works again once Cosmos does.
func TestStoreUnavailable(t *testing.T) {
	proxy := cosmostest.NewFaultProxy(t, cosmostest.Start(t))
	clock := storetest.NewClock()
	db := cosmostest.NewDatabaseName()
	// Faults are observed through a 1 s operation deadline (it bounds azcosmos' 1 s sleeps
	// between retries of dropped reads); expected successes use a generous one.
	h := New(newCosmos(t, proxy.URL, db, clock.Now, time.Second), nil, &Options{Now: clock.Now})
	healthy := New(newCosmos(t, proxy.URL, db, clock.Now, 20*time.Second), nil, &Options{Now: clock.Now})
	client := register(t, healthy)

	ops := map[string]any{
		"clients/register":     []byte(inspectorDCR),
		"clients/get":          map[string]any{"client_id": client},
		"transactions/create":  map[string]any{"client_id": client, "payload": "p"},
		"transactions/consume": map[string]any{"state": store.NewSecret()},
		"codes/consume":        consumeReq(store.NewSecret(), client),
		"refresh/rotate":       map[string]any{"refresh_token": store.NewID() + "." + store.NewSecret(), "client_id": client},
		"health":               map[string]any{},
	}
	for _, f := range []cosmostest.Fault{cosmostest.Unavailable, cosmostest.Throttle, cosmostest.Drop} {
		proxy.Set(f, -1)
		for op, body := range ops {
			if f == cosmostest.Drop && op != "clients/register" && op != "health" {
				continue // each dropped read waits out the operation deadline; two operations show it
			}
			r := call(t, h, op, body)
			expect(t, op, r, "Service Unavailable store_unavailable")
			if r.header.Get("Retry-After") == "" {
				t.Fatalf("%s: 503 without Retry-After", op)
			}
		}
	}
	proxy.Set(cosmostest.Pass, 0)
	expect(t, "health after recovery", call(t, healthy, "health", map[string]any{}), "OK")
	expect(t, "get after recovery", call(t, healthy, "clients/get", map[string]any{"client_id": client}), "OK")

	// Nothing listening at all.
	port, err := freeport.Pick()
	if err != nil {
		t.Fatal(err)
	}
	dead := fmt.Sprintf("http://127.0.0.1:%d/", port)
	st, err := cosmos.New(dead, cosmostest.Credential{}, &cosmos.Options{Database: "x", ClientOptions: cosmostest.ClientOptions(), OpTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h = New(st, nil, nil)
	for op, body := range ops {
		expect(t, "unreachable "+op, call(t, h, op, body), "Service Unavailable store_unavailable")
	}
}

// TestCIMDClients: a client_id that is an https URL resolves through the fetcher; the API
// then treats it like a registration, and refuses documents the fetcher refuses.
func TestCIMDClients(t *testing.T) {
	var base string
	mux := http.NewServeMux()
	mux.HandleFunc("/good.json", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"client_id":"` + base + `/good.json","client_name":"Doc Client","redirect_uris":["https://app.example.com/cb"]}`))
	})
	mux.HandleFunc("/bad.json", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"client_id":"` + base + `/other.json","client_name":"Doc Client","redirect_uris":["https://app.example.com/cb"]}`))
	})
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	base = srv.URL
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	clock := storetest.NewClock()
	h := New(newBolt(t, clock.Now), cimd.New(&cimd.Options{RootCAs: pool, AllowLoopbackForTesting: true}), &Options{Now: clock.Now})

	r := call(t, h, "clients/check-redirect", map[string]any{"client_id": base + "/good.json", "redirect_uri": "https://app.example.com/cb"})
	expect(t, "good document", r, "OK")
	if r.str("client_kind") != "cimd" || r.str("display_name") != "Doc Client" || r.str("redirect_host") != "app.example.com" || r.body["loopback_only"] != false ||
		r.str("document_host") != strings.TrimPrefix(base, "https://") {
		t.Fatalf("cimd client: %v", r.body)
	}
	expect(t, "unregistered redirect", call(t, h, "clients/check-redirect", map[string]any{"client_id": base + "/good.json", "redirect_uri": "https://app.example.com/x"}),
		"Bad Request invalid_redirect_uri/not_registered")
	expect(t, "mismatched client_id", call(t, h, "clients/get", map[string]any{"client_id": base + "/bad.json"}), "Bad Request invalid_client/metadata_invalid")
	expect(t, "missing document", call(t, h, "clients/get", map[string]any{"client_id": base + "/missing.json"}), "Bad Request invalid_client/metadata_fetch_failed")
	expect(t, "no path", call(t, h, "clients/get", map[string]any{"client_id": base + "/"}), "Bad Request invalid_client/metadata_url_invalid")
}

// TestReleaseOverHTTP: the gateway's sequence when Entra fails transiently after a rotation —
// rotate, release the new token, retry with the same old token — on both stores, and what an
// attacker holding a copy of a token can and cannot do with release in the picture.
func TestReleaseOverHTTP(t *testing.T) {
	for name, open := range bothStores(t) {
		t.Run(name, func(t *testing.T) {
			clock := storetest.NewClock()
			h := New(open(t, clock.Now), nil, &Options{Now: clock.Now})
			const resource = "https://apim.example.net/mcp"
			create := func() string {
				return call(t, h, "refresh/create", map[string]any{"client_id": "c1", "payload": "enc:rt1", "resource": resource}).str("refresh_token")
			}
			rotate := func(what, rt string, want string) string {
				t.Helper()
				r := call(t, h, "refresh/rotate", map[string]any{"refresh_token": rt, "client_id": "c1", "resource": resource})
				expect(t, what, r, want)
				return r.str("refresh_token")
			}
			release := func(rt, client string) result {
				return call(t, h, "refresh/release", map[string]any{"refresh_token": rt, "client_id": client})
			}
			update := func(rt string) result {
				return call(t, h, "refresh/update", map[string]any{"refresh_token": rt, "client_id": "c1", "payload": "enc:rt2"})
			}

			rt0 := create()
			rt1 := rotate("rotate", rt0, "OK")
			expect(t, "release by another client", release(rt1, "c2"), "Bad Request invalid_grant/client_mismatch")
			expect(t, "release of the presented token", release(rt0, "c1"), "Bad Request invalid_grant/refresh_token_invalid")
			expect(t, "release with a resource", call(t, h, "refresh/release", map[string]any{"refresh_token": rt1, "client_id": "c1", "resource": resource}),
				"Bad Request invalid_request")
			for i := range 2 {
				if r := release(rt1, "c1"); r.status != http.StatusOK || r.body["released"] != true {
					t.Fatalf("release #%d: %s %v", i+1, r.errCode(), r.body)
				}
			}
			// The released token never reached the client: unusable, and presenting it revokes nothing.
			rotate("rotate the released token", rt1, "Bad Request invalid_grant/refresh_token_invalid")
			expect(t, "update with the released token", update(rt1), "Bad Request invalid_grant/refresh_token_invalid")
			// The client's retry with the same token works, once, and completes normally.
			rt2 := rotate("retry with the same token", rt0, "OK")
			expect(t, "update", update(rt2), "OK")
			expect(t, "release of a completed rotation", release(rt2, "c1"), "Bad Request invalid_grant/rotation_completed")
			// Reuse detection is unchanged: the token spent by a completed rotation revokes the family.
			rotate("reuse after a completed rotation", rt0, "Bad Request invalid_grant/refresh_token_reused")
			rotate("newest after reuse", rt2, "Bad Request invalid_grant/grant_revoked")
			expect(t, "release in a revoked family", release(rt2, "c1"), "Bad Request invalid_grant/grant_revoked")

			// A stolen copy of the presented token replayed while the rotation is pending is reuse,
			// exactly as without release: the family is revoked and release cannot revive it.
			rt0 = create()
			rt1 = rotate("rotate", rt0, "OK")
			rotate("replay while pending", rt0, "Bad Request invalid_grant/refresh_token_reused")
			expect(t, "release after the replay", release(rt1, "c1"), "Bad Request invalid_grant/grant_revoked")
			rotate("retry after the replay", rt0, "Bad Request invalid_grant/grant_revoked")

			// Concurrent releases (a retried request) all answer released; one rotation is undone.
			rt0 = create()
			rt1 = rotate("rotate", rt0, "OK")
			if tally := raceHTTP(t, h, "refresh/release", map[string]any{"refresh_token": rt1, "client_id": "c1"}); tally["OK"] != storetest.Concurrency {
				t.Fatalf("concurrent releases: %v", tally)
			}
			rt2 = rotate("retry after concurrent releases", rt0, "OK")
			rotate("second use of the retried token", rt0, "Bad Request invalid_grant/refresh_token_reused")
		})
	}
}
