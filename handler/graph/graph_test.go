package graph

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// script answers each request with the next step; the last step repeats.
type script struct {
	mu    sync.Mutex
	steps []func(w http.ResponseWriter)
	times []time.Time
	auth  []string
	query []string
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.times = append(s.times, time.Now())
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	s.query = append(s.query, r.URL.RawQuery)
	step := s.steps[min(len(s.times)-1, len(s.steps)-1)]
	s.mu.Unlock()
	step(w)
}

func (s *script) count() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.times) }

func status(code int, retryAfter string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(`{"error":{"code":"TooManyRequests","message":"Please retry again later.","innerError":{"request-id":"rid-1"}}}`))
	}
}

func ok(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"displayName":"Adele Vance"}`))
}

func client(t *testing.T, s *script, o Options) *Client {
	srv := httptest.NewTLSServer(s)
	t.Cleanup(srv.Close)
	o.Endpoint, o.HTTPClient = srv.URL, srv.Client()
	c, err := New(&o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRetryAfterIsHonoured(t *testing.T) {
	s := &script{steps: []func(http.ResponseWriter){status(429, "1"), ok}}
	c := client(t, s, Options{})
	var me struct{ DisplayName string }
	if err := c.Get(context.Background(), "graph-token", "/v1.0/me", map[string][]string{"$select": {"displayName"}}, &me); err != nil {
		t.Fatal(err)
	}
	if me.DisplayName != "Adele Vance" || s.count() != 2 {
		t.Fatalf("result %+v after %d requests", me, s.count())
	}
	if gap := s.times[1].Sub(s.times[0]); gap < time.Second {
		t.Fatalf("retried after %v, before the 1 s Retry-After", gap)
	}
	if s.auth[0] != "Bearer graph-token" || s.query[0] != "%24select=displayName" {
		t.Fatalf("request: auth %q query %q", s.auth[0], s.query[0])
	}
}

// A Retry-After beyond MaxRetryWait is not waited out: azcore hands back the 429 with a nil error,
// and the client must turn it into a throttling error itself.
func TestRetryAfterBeyondBoundFailsFast(t *testing.T) {
	s := &script{steps: []func(http.ResponseWriter){status(429, "120")}}
	c := client(t, s, Options{MaxRetryWait: 30 * time.Second})
	err := c.Get(context.Background(), "graph-token", "/v1.0/me", nil, nil)
	ge, isGE := AsError(err)
	if !isGE || !ge.Throttled() || ge.RetryAfter != 120*time.Second || ge.Code != "TooManyRequests" || ge.RequestID != "rid-1" {
		t.Fatalf("err = %#v", err)
	}
	if s.count() != 1 {
		t.Fatalf("%d requests, want 1", s.count())
	}
}

func TestPersistentUnavailability(t *testing.T) {
	s := &script{steps: []func(http.ResponseWriter){status(503, "0")}}
	c := client(t, s, Options{MaxRetries: 2, RetryDelay: time.Millisecond})
	err := c.Get(context.Background(), "graph-token", "/v1.0/me", nil, nil)
	ge, isGE := AsError(err)
	if !isGE || ge.StatusCode != 503 || !ge.Throttled() {
		t.Fatalf("err = %v", err)
	}
	if s.count() != 3 {
		t.Fatalf("%d requests, want 1 + 2 retries", s.count())
	}
	if strings.Contains(err.Error(), "graph-token") {
		t.Fatal("error text contains the token")
	}
}

func TestErrorsCarryGraphCode(t *testing.T) {
	s := &script{steps: []func(http.ResponseWriter){func(w http.ResponseWriter) {
		w.WriteHeader(403)
		_, _ = w.Write([]byte(`{"error":{"code":"ErrorAccessDenied","message":"Access is denied."}}`))
	}}}
	c := client(t, s, Options{})
	err := c.Get(context.Background(), "t", "/v1.0/me/messages", nil, nil)
	if err == nil || err.Error() != "Microsoft Graph GET /v1.0/me/messages returned 403 ErrorAccessDenied: Access is denied." {
		t.Fatalf("err = %v", err)
	}
	if err := c.Get(context.Background(), "t", "../x", nil, nil); err == nil {
		t.Fatal("relative path accepted")
	}
}
