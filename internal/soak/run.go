package soak

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"example.com/graphmcp/devstack/entra"
	"example.com/graphmcp/handler/store"
	"example.com/graphmcp/handler/store/bolt"
	"example.com/graphmcp/handler/store/cosmos"
	"example.com/graphmcp/handler/store/cosmos/cosmostest"
	"example.com/graphmcp/internal/localstack"
	"example.com/graphmcp/internal/tokenformat"
)

// Config is one soak run. Zero fields take the defaults.
type Config struct {
	// Store is StoreBolt (the embedded file) or StoreCosmos (the emulator behind the fault proxy).
	Store string
	// Duration is the load with the fault schedule, after every client has signed in once.
	Duration time.Duration
	// Clients run concurrently (default 64) and share Users (default 16) signed-in users.
	Clients, Users int
	// MaxRequests bounds the HTTP requests of the load phase (default 200000).
	MaxRequests int64
	// NoCIMD makes every client register. By default every eighth client instead names a
	// Client ID Metadata Document (cimd.go).
	NoCIMD bool
	// Logf receives progress lines. Default: discard.
	Logf func(format string, args ...any)
}

// statsInterval is the handler's RUNTIME_STATS_INTERVAL during a soak.
const statsInterval = 250 * time.Millisecond

// runner is the shared state of one run.
type runner struct {
	cfg     Config
	st      *localstack.Stack
	router  *cimdRouter
	proxy   *cosmostest.FaultProxy
	rec     *recorder
	led     *ledger
	keys    []tokenformat.Key
	base    http.RoundTripper
	clients []*client

	gateway, gatewayHost, entraHost string

	requests   atomic.Int64
	cosmosHits atomic.Int64 // Cosmos item requests the fault proxy failed
	gate       sync.RWMutex // clients hold it for reading while they act; Lock pauses them all

	// refreshRound is raised when an Entra fault starts: every client that holds a refresh
	// token then rotates it once, so the fault meets refreshes whatever the clients' timing.
	refreshRound atomic.Int64

	mu      sync.Mutex
	down    []window   // spans in which the handler was down
	marks   []phaseRun // when each phase ran
	samples []Sample
}

type phaseRun struct {
	name       string
	start, end time.Time
}

func (r *runner) spend() bool { return r.requests.Load() < r.cfg.MaxRequests }

// countingTransport counts every request of the run against MaxRequests.
type countingTransport struct {
	base http.RoundTripper
	n    *atomic.Int64
}

func (c countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(req)
}

// Run starts the whole local stack for cfg.Store, runs the soak and checks the invariants. It
// fails tb only when the stack cannot be built; broken invariants are in the Report.
func Run(tb testing.TB, cfg Config) *Report {
	tb.Helper()
	if cfg.Clients <= 0 {
		cfg.Clients = 64
	}
	if cfg.Users <= 0 {
		cfg.Users = 16
	}
	if cfg.MaxRequests <= 0 {
		cfg.MaxRequests = 200000
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	cat, err := LoadCatalogue()
	if err != nil {
		tb.Fatalf("soak: reading the policies' documented answers: %v", err)
	}
	r := &runner{cfg: cfg, led: newLedger()}
	var logs logSet
	ho := localstack.HandlerOptions{Restart: true, Env: map[string]string{"RUNTIME_STATS_INTERVAL": statsInterval.String()}}
	var cosmosEndpoint, cosmosDB string
	if cfg.Store == StoreCosmos {
		cosmosEndpoint = cosmostest.StartWithOutput(tb, logs.writer("cosmosdb-server"))
		r.proxy = cosmostest.NewFaultProxy(tb, cosmosEndpoint)
		cosmosDB = cosmostest.NewDatabaseName()
		ho.CosmosEndpoint, ho.CosmosDatabase = r.proxy.URL, cosmosDB
	}
	users := soakUsers(cfg.Users)
	gwLog := logs.writer("gateway")
	dir := tb.TempDir()
	// Rate limits far above the load: a 429 would be documented, but this soak is about faults.
	gw := localstack.GatewayOptions{RegisterRateLimit: 1 << 20, TokenRateLimit: 1 << 20, MCPRateLimit: 1 << 20}
	if !cfg.NoCIMD {
		if r.router, err = startCIMDRouter(); err != nil {
			tb.Fatalf("soak: %v", err)
		}
		defer r.router.Close()
		gw.FunctionBaseURL = r.router.URL()
	}
	st, err := localstack.Start(context.Background(), &localstack.Options{
		Dir: dir, Users: users, Handler: ho, Stdout: gwLog, Stderr: gwLog, Gateway: gw})
	if err != nil {
		tb.Fatalf("soak: starting the local stack (%s store): %v", cfg.Store, err)
	}
	closed := false
	closeStack := func() {
		if !closed {
			closed = true
			st.Close()
		}
	}
	defer closeStack()
	r.st, r.keys = st, st.Keys
	if r.router != nil {
		if err := r.router.connect(st); err != nil {
			closeStack()
			tb.Fatalf("soak: the metadata document host: %v", err)
		}
	}
	r.gateway = st.GatewayURL()
	r.rec = newRecorder(r.gateway, st.Entra.URL(), cat)
	r.gatewayHost, r.entraHost = hostOf(r.gateway), hostOf(st.Entra.URL())
	base := st.CA.HTTPClient().Transport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = cfg.Clients * 2
	r.base = countingTransport{base, &r.requests}
	for _, v := range []string{st.FunctionKey, st.MSI.Header(), st.Keys[0].EncBase64(), st.Keys[0].MACBase64(), b64std(st.CookieKey)} {
		r.rec.secret("configured secret", v)
	}
	for _, u := range users {
		r.rec.secret("user password", u.Password)
	}
	for i := range cfg.Clients {
		r.clients = append(r.clients, newClient(r, i, users[i%len(users)]))
	}

	rep := &Report{Store: cfg.Store, Clients: cfg.Clients, Users: cfg.Users, Duration: cfg.Duration}
	ctx := context.Background()
	stopSampling := r.sample()

	// Warm-up (not part of Duration): every client registers, signs in and calls a tool once.
	t0 := time.Now()
	if n := r.untilToolWorks(ctx, 3*time.Minute); n < cfg.Clients {
		rep.violate("warm-up: only %d of %d clients got a tool call through with no fault injected", n, cfg.Clients)
	}
	rep.WarmUp = time.Since(t0)
	cfg.Logf("soak %s: %d clients signed in and called a tool in %s", cfg.Store, cfg.Clients, rep.WarmUp.Round(time.Millisecond))
	rep.Baseline = r.quietSample()

	// The load, with the fault schedule.
	r.requests.Store(0)
	r.load(ctx)
	rep.LoadRequests = r.requests.Load()
	r.requests.Store(0) // MaxRequests bounds the load; recovery has its own bound in time

	// Recovery: with every fault off, each client must get a tool call through again with the
	// registration it has (a client never registers twice).
	t1 := time.Now()
	rep.Recovered = r.untilToolWorks(ctx, 3*time.Minute)
	rep.RecoveryTime = time.Since(t1)
	for _, c := range r.clients {
		if c.registrations > 1 {
			rep.ReRegistered++
		}
	}
	rep.End = r.quietSample()
	stopSampling()
	rep.Samples = r.samples

	rep.Registrations, rep.LostRegistrations = r.checkRegistrations(ctx)
	logs.addHandlers(st)
	if err := logs.addGatewayEvents(st); err != nil {
		rep.violate("gateway events unreadable: %v", err)
	}
	rep.Restarts = st.Host.Restarts()
	closeStack()

	// Families, from the store's own records.
	var fst store.Store
	if cfg.Store == StoreCosmos {
		fst, err = cosmos.New(cosmosEndpoint, cosmostest.Credential{}, &cosmos.Options{Database: cosmosDB, ClientOptions: cosmostest.ClientOptions()})
	} else {
		fst, err = bolt.Open(filepath.Join(dir, "state.db"), nil)
	}
	if err != nil {
		rep.violate("cannot open the store to check the refresh families: %v", err)
	} else {
		rep.Families = r.led.checkFamilies(ctx, fst)
		fst.Close()
	}
	rep.finish(r, &logs)
	return rep
}

func hostOf(s string) string { u, _ := url.Parse(s); return u.Host }

// soakUsers are the directory users: every one has consented to the tools' Graph scopes, and
// every other one holds the mail role. Clients share them (Clients/Users clients per user).
func soakUsers(n int) []entra.User {
	var out []entra.User
	for i := range n {
		u := entra.User{
			ObjectID: uuid.NewString(), UserPrincipalName: fmt.Sprintf("soak%02d@contoso.test", i),
			DisplayName: fmt.Sprintf("Soak User %02d", i), GivenName: "Soak", Surname: fmt.Sprintf("User %02d", i),
			Mail: fmt.Sprintf("soak%02d@contoso.test", i), JobTitle: "Tester", Password: "pw-" + random(12),
			GraphConsent: []string{"User.Read", "Calendars.Read", "Mail.ReadBasic", "Files.Read"},
		}
		if i%2 == 0 {
			u.Roles = []string{"Tools.Mail"}
		}
		out = append(out, u)
	}
	return out
}

// untilToolWorks runs every client until it has a successful tool call (or the bound passes)
// and returns how many made it.
func (r *runner) untilToolWorks(ctx context.Context, bound time.Duration) int {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	var n atomic.Int64
	r.eachClient(func(c *client) {
		c.toolOK = false
		for ctx.Err() == nil && !c.toolOK {
			r.act(ctx, c)
		}
		if c.toolOK {
			n.Add(1)
		}
	})
	return int(n.Load())
}

// eachClient runs f for every client at once and returns when all have returned.
func (r *runner) eachClient(f func(c *client)) {
	var wg sync.WaitGroup
	for _, c := range r.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(c)
		}()
	}
	wg.Wait()
}

// act makes one step of c while the run is not paused, backing off after a failure.
func (r *runner) act(ctx context.Context, c *client) {
	r.gate.RLock()
	err := c.step(ctx)
	r.gate.RUnlock()
	switch {
	case err == nil:
		c.ok()
	case errors.Is(err, errStopped):
		time.Sleep(50 * time.Millisecond)
	default:
		var ra time.Duration
		if e := c.tr.latest(false); e != nil && e.Answer.Status == http.StatusTooManyRequests {
			ra = time.Second
		}
		c.backoff(ctx, ra)
	}
}

// load runs every client for Duration while the schedule injects and clears faults.
func (r *runner) load(ctx context.Context) {
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		r.eachClient(func(c *client) {
			for !stop.Load() {
				r.act(ctx, c)
			}
		})
		close(done)
	}()
	start := time.Now()
	phases := r.schedule()
	for i, p := range phases {
		at := start.Add(time.Duration(p.At * float64(r.cfg.Duration)))
		time.Sleep(time.Until(at))
		pr := phaseRun{name: p.Name, start: time.Now()}
		if i > 0 && phases[i-1].Off != nil {
			phases[i-1].Off()
		}
		if p.On != nil {
			if err := p.On(ctx); err != nil {
				r.led.violation(fmt.Sprintf("fault %s: %v", p.Name, err))
			}
		}
		r.mu.Lock()
		if n := len(r.marks); n > 0 {
			r.marks[n-1].end = pr.start
		}
		r.marks = append(r.marks, pr)
		r.mu.Unlock()
		r.cfg.Logf("soak %s: phase %s", r.cfg.Store, p.Name)
	}
	time.Sleep(time.Until(start.Add(r.cfg.Duration)))
	if last := phases[len(phases)-1]; last.Off != nil {
		last.Off()
	}
	stop.Store(true)
	<-done
	r.mu.Lock()
	r.marks[len(r.marks)-1].end = time.Now()
	r.mu.Unlock()
}

// checkRegistrations reads every registration a client received through the internal API
// (behind the Functions host, with the function key, as the gateway does).
func (r *runner) checkRegistrations(ctx context.Context) (made, lost int) {
	hc := &http.Client{Timeout: 30 * time.Second}
	for id := range r.led.registrations {
		made++
		body, _ := json.Marshal(map[string]string{"client_id": id})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, r.st.Host.URL()+"/internal/v1/clients/get", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("x-functions-key", r.st.FunctionKey)
		resp, err := hc.Do(req)
		if err != nil {
			lost++
			continue
		}
		var got struct {
			ClientID string `json:"client_id"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || got.ClientID != id {
			lost++
		}
	}
	return made, lost
}

// quietSample pauses every client, lets in-flight work finish and the handler settle for a
// few statistics intervals, and samples it.
func (r *runner) quietSample() Sample {
	r.gate.Lock()
	defer r.gate.Unlock()
	r.base.(countingTransport).base.(*http.Transport).CloseIdleConnections()
	time.Sleep(4 * statsInterval)
	return r.sampleNow()
}

func b64std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
