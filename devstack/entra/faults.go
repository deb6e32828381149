package entra

import (
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Grant kinds a TokenFault can target (the grant_type values of /token; OBO is the jwt-bearer grant).
const (
	GrantAuthorizationCode = grantAuthCode
	GrantRefreshToken      = grantRefresh
	GrantOBO               = grantJWT
)

// TokenFault is a failure of the token endpoint, switched on and off at run time by fault and
// soak tests (SetTokenFault). It is separate from the normal behaviour so that a test which
// never sets one sees the stand-in unchanged.
type TokenFault struct {
	// Grants lists the grant types that fail (GrantAuthorizationCode, GrantRefreshToken,
	// GrantOBO); empty means every grant.
	Grants []string
	// Status, when 5xx, is answered with Entra's transient-error body (temporarily_unavailable,
	// AADSTS90033) before the grant is looked at: nothing is redeemed or rotated. When 400, it
	// is invalid_grant with AADSTS50173 (the grant was revoked: the user's sign-in has ended),
	// also without looking at the grant.
	Status int
	// Hang, when set, holds the request this long and then drops it without an answer (the
	// connection or stream is reset), which is what a caller's timeout looks like from its side.
	// The grant is not processed. Hang wins over Status.
	Hang time.Duration
}

type faultState struct {
	mu   sync.Mutex
	f    *TokenFault
	hits atomic.Int64
}

// SetTokenFault makes every following /token request of the fault's grants fail as it says;
// nil restores normal answers.
func (s *Server) SetTokenFault(f *TokenFault) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	if f == nil {
		s.faults.f = nil
		return
	}
	c := *f
	c.Grants = slices.Clone(f.Grants)
	s.faults.f = &c
}

// TokenFaultHits is the number of /token requests answered by an injected fault so far.
func (s *Server) TokenFaultHits() int64 { return s.faults.hits.Load() }

// injectTokenFault answers the request with the active fault for grantType, if any, and
// reports whether it did.
func (s *Server) injectTokenFault(w http.ResponseWriter, grantType string) bool {
	s.faults.mu.Lock()
	f := s.faults.f
	s.faults.mu.Unlock()
	if f == nil || (len(f.Grants) > 0 && !slices.Contains(f.Grants, grantType)) {
		return false
	}
	switch {
	case f.Hang > 0:
		s.faults.hits.Add(1)
		time.Sleep(f.Hang)
		// Reset without an answer: net/http closes an HTTP/1 connection and resets an HTTP/2 stream.
		panic(http.ErrAbortHandler)
	case f.Status == http.StatusBadRequest:
		s.faults.hits.Add(1)
		s.writeError(w, badRequest("invalid_grant", 50173,
			"The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. (injected)"))
		return true
	case f.Status >= 500:
		s.faults.hits.Add(1)
		s.writeError(w, &aadError{status: f.Status, err: "temporarily_unavailable", code: 90033,
			msg: "A transient error has occurred. Please try again. (injected)"})
		return true
	}
	return false
}
