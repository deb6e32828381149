package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// results are the figures of one run of every phase.
type results struct {
	o                   options
	ready               []time.Duration // start → ready, one per cold run
	pingAt, jwksAt      []time.Duration // start → GET / 200, start → JWKS request
	firstCall           time.Duration   // first tools/call after ready, stand-ins slowed
	startToFirstResult  time.Duration
	burstUsers          int
	oboRequests, miReqs int64
	maxRate             float64 // calls/s, closed loop
	cpuPerCall          time.Duration
	allocPerCall        float64         // bytes; < 0 when unknown
	openRate            float64         // offered calls/s
	openDone            float64         // achieved calls/s
	openLat             []time.Duration // from send to reply
	openLate            []time.Duration // send time minus scheduled time
	openInside          []time.Duration // the handler's own duration_ms of each call
	openErrors          int64
	soakRSS             []int64 // sampled every soakEvery
	soakGoroutines      []int   // empty when unknown
	soakCalls           int64
	soakErrors          int64
	ran                 []string // phases run
}

const soakEvery = 5 * time.Second

func (b *bench) all() (*results, error) {
	r := &results{o: b.o, allocPerCall: -1}
	steps := []struct {
		name, flag string
		f          func(*results) error
	}{{"start → ready", "cold", b.cold}, {"first call", "first", b.firstCall}, {"throughput", "throughput", b.throughput},
		{"open loop", "open", b.openLoop}, {"soak", "soak", b.soakRun}}
	want := strings.Split(b.o.phases, ",")
	for _, s := range steps {
		if !slices.Contains(want, s.flag) {
			continue
		}
		r.ran = append(r.ran, s.flag)
		fmt.Fprintf(osStderr, "handlerbench: %s …\n", s.name)
		if err := s.f(r); err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return r, nil
}

// cold starts the process coldRuns times without added latency.
func (b *bench) cold(r *results) error {
	b.setLatency(0, 0, 0)
	for range b.o.coldRuns {
		jwks0 := b.st.Entra.Counts().JWKS
		p, err := b.start()
		if err != nil {
			return err
		}
		d, ping, jwks, err := b.waitReadyParts(p, jwks0)
		p.stop()
		if err != nil {
			return err
		}
		r.ready, r.pingAt, r.jwksAt = append(r.ready, d), append(r.pingAt, ping), append(r.jwksAt, jwks)
	}
	return nil
}

// firstCall: stand-ins slowed, one call as soon as the handler is ready, then a concurrent
// cold burst of 20 more users × 3 calls; counts the OBO and managed-identity requests of all.
func (b *bench) firstCall(r *results) error {
	b.setLatency(b.o.entraLatency, b.o.miLatency, b.o.graphLatency)
	defer b.setLatency(0, 0, 0)
	c0, mi0, jwks0 := b.st.Entra.Counts().OBO, b.st.MSI.Count(), b.st.Entra.Counts().JWKS
	p, err := b.start()
	if err != nil {
		return err
	}
	defer p.stop()
	if _, err := b.waitReady(p, jwks0); err != nil {
		return err
	}
	t0 := time.Now()
	if err := b.call(context.Background(), p, 0); err != nil {
		return err
	}
	r.firstCall = time.Since(t0)
	r.startToFirstResult = time.Since(p.started)
	r.burstUsers = min(21, len(b.tokens))
	var wg sync.WaitGroup
	errs := make(chan error, 3*r.burstUsers)
	for i := range 3 * (r.burstUsers - 1) {
		wg.Go(func() {
			if err := b.call(context.Background(), p, 1+i%(r.burstUsers-1)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	r.oboRequests, r.miReqs = b.st.Entra.Counts().OBO-c0, b.st.MSI.Count()-mi0
	return nil
}

// warm starts a handler and makes one call per user, so OBO tokens are cached.
func (b *bench) warm(users int) (*proc, error) {
	jwks0 := b.st.Entra.Counts().JWKS
	p, err := b.start()
	if err != nil {
		return nil, err
	}
	if _, err := b.waitReady(p, jwks0); err != nil {
		p.stop()
		return nil, err
	}
	for i := range users {
		if err := b.call(context.Background(), p, i); err != nil {
			p.stop()
			return nil, err
		}
	}
	return p, nil
}

// closedLoop runs workers callers back to back for d over users users.
func (b *bench) closedLoop(p *proc, workers, users int, d time.Duration) (calls, errs int64) {
	var n, bad atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; ctx.Err() == nil; i += workers {
				if err := b.call(ctx, p, i%users); err != nil {
					if ctx.Err() == nil {
						bad.Add(1)
					}
					continue
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return n.Load(), bad.Load()
}

// throughput: closed loop, warm caches, no added latency; the handler's CPU and allocation
// per call come from the process itself.
func (b *bench) throughput(r *results) error {
	p, err := b.warm(b.o.users)
	if err != nil {
		return err
	}
	defer p.stop()
	b.closedLoop(p, b.o.workers, b.o.users, time.Second) // settle connection pools
	cpu0 := p.cpu()
	rt0, ok := b.runtimeFigures(p)
	profErr := make(chan error, 1)
	if b.o.profileDir != "" {
		go func() {
			profErr <- b.profile(p, fmt.Sprintf("profile?seconds=%d", max(1, int(b.o.duration.Seconds())-1)), "cpu.pprof")
		}()
	}
	t0 := time.Now()
	calls, errs := b.closedLoop(p, b.o.workers, b.o.users, b.o.duration)
	elapsed := time.Since(t0)
	rt1, ok1 := b.runtimeFigures(p)
	if errs > 0 || calls == 0 {
		return fmt.Errorf("%d of %d calls failed", errs, calls+errs)
	}
	r.maxRate = float64(calls) / elapsed.Seconds()
	r.cpuPerCall = (p.cpu() - cpu0) / time.Duration(calls)
	if ok && ok1 {
		r.allocPerCall = float64(rt1.AllocBytes-rt0.AllocBytes) / float64(calls)
	}
	if b.o.profileDir != "" {
		if err := <-profErr; err != nil {
			return err
		}
		return b.profile(p, "allocs", "allocs.pprof")
	}
	return nil
}

// openLoop offers a fraction of the measured maximum (-open-load, half by default) at a
// constant rate. Sends never wait for replies,
// so a handler stall cannot delay them (no coordinated omission) and each latency runs from the
// moment the request is sent. The generator's own lateness against the schedule is reported
// apart: on many VMs a timer wakes no sooner than about 1 ms (1.08 ms measured here for any
// shorter sleep), so requests due within that window leave together, and charging that wait to
// the handler would measure the VM's timer instead.
func (b *bench) openLoop(r *results) error {
	p, err := b.warm(b.o.users)
	if err != nil {
		return err
	}
	defer p.stop()
	if r.maxRate == 0 {
		return fmt.Errorf("the open-loop rate is half the throughput run's maximum: run the throughput phase too")
	}
	r.openRate = r.maxRate * b.o.openLoad
	interval := time.Duration(float64(time.Second) / r.openRate)
	n := int(b.o.duration / interval)
	lats, late := make([]time.Duration, n), make([]time.Duration, n)
	var bad atomic.Int64
	var wg sync.WaitGroup
	p.log.record(true)
	t0 := time.Now()
	for i := range n {
		at := t0.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(at))
		wg.Go(func() {
			sent := time.Now()
			late[i] = sent.Sub(at)
			if err := b.call(context.Background(), p, i%b.o.users); err != nil {
				bad.Add(1)
			}
			lats[i] = time.Since(sent)
		})
	}
	wg.Wait()
	r.openDone = float64(n) / time.Since(t0).Seconds()
	slices.Sort(lats)
	slices.Sort(late)
	r.openLat, r.openLate, r.openErrors = lats, late, bad.Load()
	p.log.record(false)
	r.openInside = p.log.taken()
	slices.Sort(r.openInside)
	return nil
}

// soakRun: 64 callers over 100 users for the soak duration, sampling RSS and goroutines.
func (b *bench) soakRun(r *results) error {
	if b.o.soak <= 0 {
		return nil
	}
	users := min(soakUsers, len(b.tokens))
	p, err := b.warm(users)
	if err != nil {
		return err
	}
	defer p.stop()
	done := make(chan struct{})
	var calls, errs int64
	go func() {
		calls, errs = b.closedLoop(p, 64, users, b.o.soak)
		close(done)
	}()
	tick := time.NewTicker(soakEvery)
	defer tick.Stop()
	for {
		select {
		case <-done:
			r.soakCalls, r.soakErrors = calls, errs
			return nil
		case <-tick.C:
			r.soakRSS = append(r.soakRSS, p.rss())
			if rt, ok := b.runtimeFigures(p); ok {
				r.soakGoroutines = append(r.soakGoroutines, rt.Goroutines)
			}
		}
	}
}
