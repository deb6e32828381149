package soak

import (
	"context"
	"fmt"
	"time"

	"example.com/graphmcp/devstack/entra"
	"example.com/graphmcp/handler/store/cosmos/cosmostest"
)

// phase is one window of the fault schedule: from At (a fraction of the load duration) until
// the next phase starts. On starts the fault (it may wait, e.g. for the host to restart the
// handler), Off ends it.
type phase struct {
	Name string
	At   float64
	On   func(ctx context.Context) error
	Off  func()
}

// window is a span of time in which the handler was down: the Functions host then answers
// /mcp with a bare 502, which the gate passes on.
type window struct{ from, to time.Time }

// Store kinds a soak runs against.
const (
	StoreBolt   = "bbolt"
	StoreCosmos = "cosmos"
)

// schedule is the fault plan: every fault the issue lists, one after the other so each
// phase's numbers show its effect, then a quiet recovery phase.
func (r *runner) schedule() []phase {
	d := r.cfg.Duration
	// A hang must end within its phase; Entra's own callers give up only after 30 s.
	hang := min(time.Second, d/40)
	entraFault := func(f *entra.TokenFault) func(context.Context) error {
		return func(context.Context) error {
			r.st.Entra.SetTokenFault(f)
			r.refreshRound.Add(1) // every client refreshes into the fault
			return nil
		}
	}
	entraOff := func() { r.st.Entra.SetTokenFault(nil) }
	all := []string{entra.GrantAuthorizationCode, entra.GrantRefreshToken, entra.GrantOBO}
	n := r.cfg.Clients
	p := []phase{
		{Name: "steady", At: 0},
		// Graph first, while every client is calling tools (the Entra faults below make many
		// sign in again). Graph faults are budgets, not windows: the handler waits out each
		// Retry-After (and backs off after a 503) before it retries, so a window, or a budget
		// of one per client, would stall every client for seconds and starve the next phases.
		{Name: "graph-429", At: 0.06, On: func(context.Context) error { r.st.Graph.Throttle(max(1, n/4), time.Second); return nil },
			Off: func() { r.st.Graph.Throttle(0, 0) }},
		{Name: "graph-503", At: 0.14, On: func(context.Context) error { r.st.Graph.Fail(max(1, n/2), 503); return nil },
			Off: func() { r.st.Graph.Fail(0, 0) }},
		{Name: "entra-5xx", At: 0.22, On: entraFault(&entra.TokenFault{Grants: all, Status: 503}), Off: entraOff},
		{Name: "entra-timeout", At: 0.30, On: entraFault(&entra.TokenFault{Grants: all, Hang: hang}), Off: entraOff},
	}
	if r.proxy != nil {
		cosmos := func(f cosmostest.Fault, n int, latency time.Duration) (func(context.Context) error, func()) {
			return func(context.Context) error { r.proxy.SetLatency(latency); r.proxy.Set(f, n); return nil },
				func() {
					r.cosmosHits.Add(int64(r.proxy.Hits()))
					r.proxy.SetLatency(0)
					r.proxy.Set(cosmostest.Pass, 0)
				}
		}
		on429, off429 := cosmos(cosmostest.Throttle, -1, 0)
		on503, off503 := cosmos(cosmostest.Unavailable, -1, 0)
		// Slow answers, and a few answers lost after the write happened.
		onDrop, offDrop := cosmos(cosmostest.DropResponse, 8, 200*time.Millisecond)
		p = append(p,
			phase{Name: "cosmos-429", At: 0.38, On: on429, Off: off429},
			phase{Name: "cosmos-503", At: 0.44, On: on503, Off: off503},
			phase{Name: "cosmos-slow-drop", At: 0.50, On: onDrop, Off: offDrop},
		)
	} else {
		p = append(p, phase{Name: "state-restart", At: 0.38, On: r.restartStateService})
	}
	// Last, because calls that need a managed-identity token wait out its retries: the
	// identity endpoint goes down the moment the restarted handler is up, so the new process
	// finds no token cached.
	p = append(p, phase{Name: "crash+mi-down", At: 0.58, On: func(ctx context.Context) error {
		err := r.crashHandler(ctx)
		r.st.MSI.SetDown(true)
		return err
	}, Off: func() { r.st.MSI.SetDown(false) }})
	return append(p, phase{Name: "recovery", At: 0.76})
}

// crashHandler kills the handler (SIGKILL, like a crash) and waits until the Functions-host
// stand-in has started it again.
func (r *runner) crashHandler(ctx context.Context) error {
	return r.restartHandler(ctx, func() { r.st.CurrentHandler().Kill() })
}

// restartStateService stops the handler (and with it the state service over the bbolt file)
// the way a platform restart does (SIGTERM, graceful) and waits for the host to start it again.
func (r *runner) restartStateService(ctx context.Context) error {
	return r.restartHandler(ctx, func() { _ = r.st.CurrentHandler().Stop() })
}

func (r *runner) restartHandler(ctx context.Context, stop func()) error {
	before := r.st.Host.Restarts()
	w := window{from: time.Now()}
	defer func() {
		w.to = time.Now()
		r.mu.Lock()
		r.down = append(r.down, w)
		r.mu.Unlock()
	}()
	stop()
	// A bound on a hang, not a timing expectation: the host retries with backoff meanwhile.
	deadline := time.Now().Add(2 * time.Minute)
	for r.st.Host.Restarts() == before {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the Functions host did not restart the handler: %v", r.st.Host.LastLaunchError())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
