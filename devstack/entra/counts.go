package entra

import (
	"maps"
	"sync"
	"sync/atomic"
)

// Counts is a snapshot of what the stand-in has been asked. Tests assert on it
// to prove caching (e.g. N tool calls ⇒ one OBO request).
type Counts struct {
	Discovery     int64 // openid-configuration fetches
	JWKS          int64 // JWKS fetches
	Authorize     int64 // /authorize requests (GET and POST)
	SignIns       int64 // successful sign-ins that issued a code
	TokenRequests int64 // all /token requests
	AuthCode      int64 // authorization_code redemptions attempted
	Refresh       int64 // refresh_token redemptions attempted
	OBO           int64 // on-behalf-of requests attempted
	Issued        int64 // access tokens issued by /token
	// Errors counts error responses by AADSTS code, e.g. "AADSTS65001".
	Errors map[string]int64
}

type counters struct {
	discovery, jwks, authorize, signIns, token, authCode, refresh, obo, issued atomic.Int64

	mu     sync.Mutex
	errors map[string]int64
}

func (c *counters) addError(code string) {
	c.mu.Lock()
	if c.errors == nil {
		c.errors = map[string]int64{}
	}
	c.errors[code]++
	c.mu.Unlock()
}

// Counts returns a snapshot of the counters.
func (s *Server) Counts() Counts {
	c := &s.counts
	c.mu.Lock()
	errs := maps.Clone(c.errors)
	c.mu.Unlock()
	if errs == nil {
		errs = map[string]int64{}
	}
	return Counts{
		Discovery: c.discovery.Load(), JWKS: c.jwks.Load(), Authorize: c.authorize.Load(),
		SignIns: c.signIns.Load(), TokenRequests: c.token.Load(), AuthCode: c.authCode.Load(),
		Refresh: c.refresh.Load(), OBO: c.obo.Load(), Issued: c.issued.Load(), Errors: errs,
	}
}

// ResetCounts zeroes every counter.
func (s *Server) ResetCounts() {
	c := &s.counts
	for _, a := range []*atomic.Int64{&c.discovery, &c.jwks, &c.authorize, &c.signIns, &c.token, &c.authCode, &c.refresh, &c.obo, &c.issued} {
		a.Store(0)
	}
	c.mu.Lock()
	c.errors = nil
	c.mu.Unlock()
}
