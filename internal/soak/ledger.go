package soak

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"example.com/graphmcp/handler/store"
)

// ledger is what the clients know about the state they were given: registrations, codes,
// refresh handles and their families. The invariants are checked against it.
type ledger struct {
	mu            sync.Mutex
	registrations map[string]int // client_id → client index
	codes         map[string]int // code → successful redemptions
	handles       map[string]*handle
	families      map[string]*family
	violations    []string

	replays, doubleRedeems, reuseProbes int // deliberate attacks made

	// Refresh tokens presented again after a 503 temporarily_unavailable: accepted, or refused
	// (each with the span from the 503's request to the refusal, to tell the faults in it).
	retriedAccepted int
	retriedRefused  []window
}

type handle struct {
	family   string
	accepted int  // 200 answers when presented
	refused  bool // invalid_grant when presented
	unsure   bool // presented, answer lost or 5xx: the server may have rotated it
	// unavailable are the requests that presented it and were answered 503
	// temporarily_unavailable: the gateway promises the same token works on a retry.
	unavailable []window
}

type family struct {
	client  int
	handles []string // issued, oldest first
	// reuseAt is when a deliberate replay of a rotated handle was refused (reuse detected):
	// from then on the family must be revoked.
	reuseAt time.Time
}

func newLedger() *ledger {
	return &ledger{registrations: map[string]int{}, codes: map[string]int{}, handles: map[string]*handle{}, families: map[string]*family{}}
}

func (l *ledger) violate(format string, args ...any) {
	l.violations = append(l.violations, fmt.Sprintf(format, args...))
}

// violation records a broken invariant.
func (l *ledger) violation(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.violate("%s", msg)
}

func (l *ledger) registered(clientID string, client int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.registrations[clientID] = client
}

// codeAnswer records an attempt to redeem code; ok is a 200.
func (l *ledger) codeAnswer(code string, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !ok {
		if _, seen := l.codes[code]; !seen {
			l.codes[code] = 0
		}
		return
	}
	l.codes[code]++
	if l.codes[code] == 2 {
		l.violate("an authorization code was redeemed twice")
	}
}

// familyOf is the family id part of a refresh handle "<family>.<secret>".
func familyOf(h string) string { f, _, _ := strings.Cut(h, "."); return f }

// issued records a refresh handle the client received.
func (l *ledger) issued(h string, client int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.issuedLocked(h, client)
}

func (l *ledger) issuedLocked(h string, client int) {
	if h == "" || l.handles[h] != nil {
		return
	}
	fid := familyOf(h)
	l.handles[h] = &handle{family: fid}
	f := l.families[fid]
	if f == nil {
		f = &family{client: client}
		l.families[fid] = f
	}
	f.handles = append(f.handles, h)
}

// refreshAnswer records presenting h at start: ok (200, next issued), refused (invalid_grant),
// or neither (5xx, no answer: unknown whether it rotated).
func (l *ledger) refreshAnswer(h string, start time.Time, ok, refused bool, next string, client int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.handles[h]
	if r == nil {
		l.violate("client %d presented a refresh token it was never given (soak bug)", client)
		return
	}
	if len(r.unavailable) > 0 && (ok || refused) {
		switch f := l.families[r.family]; {
		case ok:
			l.retriedAccepted++
		case f.reuseAt.IsZero(): // a revocation by a deliberate replay explains the refusal
			// from the 503 to this refusal: a handler restart in between can explain it (a
			// release or update that did not reach the store)
			l.retriedRefused = append(l.retriedRefused, window{r.unavailable[len(r.unavailable)-1].from, time.Now()})
		}
	}
	switch {
	case ok:
		r.accepted++
		if r.accepted == 2 {
			l.violate("a refresh token was accepted after it had been rotated")
		}
		if f := l.families[r.family]; !f.reuseAt.IsZero() && start.After(f.reuseAt) {
			l.violate("a refresh token was accepted after reuse of its family was detected")
		}
		l.issuedLocked(next, client)
	case refused:
		r.refused = true
	default:
		r.unsure = true
	}
}

// refreshUnavailable records that presenting h from..to was answered 503 temporarily_unavailable.
func (l *ledger) refreshUnavailable(h string, from, to time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.handles[h]; r != nil {
		r.unavailable = append(r.unavailable, window{from, to})
	}
}

// reuseDetected records that a deliberate replay of a rotated handle of h's family was refused.
func (l *ledger) reuseDetected(h string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.handles[h]; r != nil {
		l.families[r.family].reuseAt = at
	}
	l.reuseProbes++
}

func (l *ledger) count(p *int) {
	l.mu.Lock()
	*p++
	l.mu.Unlock()
}

// Violations returns the invariant violations seen while running.
func (l *ledger) Violations() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.violations)
}

// familyCounts summarises the families for the report.
type familyCounts struct {
	Families, Consistent, Revoked, ReuseRevoked, Orphaned int
	Problems                                              []string
}

// checkFamilies compares every family the clients saw with the store's record of it: every
// handle accepted once is recorded as spent; the newest handle is current unless its fate is
// unknown to the client (then it is current or spent); a family whose reuse was detected is
// revoked; a revoked family is one some client saw fail; a current handle no client holds
// exists only after an answer was lost.
func (l *ledger) checkFamilies(ctx context.Context, st store.Store) familyCounts {
	l.mu.Lock()
	defer l.mu.Unlock()
	var c familyCounts
	problem := func(fid, format string, args ...any) {
		c.Problems = append(c.Problems, fmt.Sprintf("family %s…: ", fid[:6])+fmt.Sprintf(format, args...))
	}
	for fid, f := range l.families {
		c.Families++
		rec, err := st.GetFamily(ctx, fid)
		if err != nil {
			problem(fid, "cannot read it: %v", errors.Unwrap(err))
			continue
		}
		hashOf := func(h string) string { _, s, _ := strings.Cut(h, "."); return store.HashSecret(s) }
		ok := true
		sawFailure := !f.reuseAt.IsZero()
		spent := map[string]bool{}
		for _, s := range rec.SpentHashes {
			spent[s] = true
		}
		accepted := 0
		for i := len(f.handles) - 1; i >= 0; i-- {
			h := l.handles[f.handles[i]]
			sawFailure = sawFailure || h.refused || h.unsure
			if h.accepted > 0 {
				accepted++
				if accepted <= store.MaxSpentHandles && !spent[hashOf(f.handles[i])] {
					problem(fid, "a handle accepted earlier is not recorded as spent")
					ok = false
				}
			}
		}
		latest := f.handles[len(f.handles)-1]
		lh := l.handles[latest]
		switch {
		case !f.reuseAt.IsZero() && !rec.Revoked:
			problem(fid, "reuse was detected but the family is not revoked")
			ok = false
		case rec.Revoked && !sawFailure:
			problem(fid, "revoked although no client saw a refresh fail")
			ok = false
		case rec.Revoked:
		case rec.CurrentHash == hashOf(latest):
		case lh.unsure && spent[hashOf(latest)]:
		case lh.refused && spent[hashOf(latest)]:
			// Rotated, then the request failed before the new handle was delivered and the
			// client was refused: a live family nobody holds a handle of (it expires).
			c.Orphaned++
		case lh.accepted > 0 || lh.refused:
			problem(fid, "the newest handle was used (accepted %d, refused %v, unsure %v) but the family names it neither spent (%v) nor current",
				lh.accepted, lh.refused, lh.unsure, spent[hashOf(latest)])
			ok = false
		default:
			problem(fid, "its current handle is one no client was given, and no answer was lost")
			ok = false
		}
		if rec.Revoked {
			c.Revoked++
			if !f.reuseAt.IsZero() {
				c.ReuseRevoked++
			}
		}
		if ok {
			c.Consistent++
		}
	}
	return c
}
