package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// waits records the backoff the checker asked for instead of sleeping.
type waits struct {
	mu       sync.Mutex
	attempts []int
}

func (w *waits) wait(_ context.Context, attempt int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.attempts = append(w.attempts, attempt)
	return nil
}

func (w *waits) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.attempts)
}

// dropFirst makes the gateway close the first n connections without answering, the way a new
// gateway looks while its DNS or front end is not ready.
func dropFirst(g *fakeGateway, n int) {
	var mu sync.Mutex
	inner := g.srv.Config.Handler
	g.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		drop := n > 0
		n--
		mu.Unlock()
		if drop {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		inner.ServeHTTP(w, r)
	})
}

func runWith(t *testing.T, url string, w *waits) []Result {
	t.Helper()
	// Keep-alives off: each request is a new connection, so a dropped one is a clean transport error.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	c, err := New(url, &Options{HTTPClient: client, Attempts: 4, Wait: w.wait})
	if err != nil {
		t.Fatal(err)
	}
	return c.Run(context.Background())
}

// TestTransientFailuresAreRetried: three dropped connections, then a conforming gateway: every
// check passes and the checker backed off exactly three times.
func TestTransientFailuresAreRetried(t *testing.T) {
	g := newFakeGateway(t)
	dropFirst(g, 3)
	w := &waits{}
	results := runWith(t, g.srv.URL, w)
	var out bytes.Buffer
	if failed := Print(&out, g.srv.URL, results); failed != 0 {
		t.Fatalf("%d checks failed after transient drops:\n%s", failed, out.String())
	}
	if got := w.attempts; len(got) != 3 || got[0] != 2 || got[1] != 3 || got[2] != 4 {
		t.Errorf("backoff before attempts %v, want [2 3 4]", got)
	}
}

// TestAWrongAnswerIsNotRetried: a gateway that answers wrongly fails its check at once, without a
// single backoff, and is not reported as unreachable.
func TestAWrongAnswerIsNotRetried(t *testing.T) {
	for _, fault := range []string{"prm-resource", "register-down", "token-cacheable"} {
		w := &waits{}
		g := newFakeGateway(t, fault)
		results := runWith(t, g.srv.URL, w)
		if w.count() != 0 {
			t.Errorf("%s: the checker retried an answer (%d backoffs)", fault, w.count())
		}
		failed := 0
		for _, r := range results {
			if !r.Passed {
				failed++
				if r.Unreachable {
					t.Errorf("%s: %q reported as unreachable: %s", fault, r.Name, r.Detail)
				}
			}
		}
		if failed == 0 {
			t.Errorf("%s: no check failed", fault)
		}
		var out bytes.Buffer
		Print(&out, g.srv.URL, results)
		if strings.Contains(out.String(), "never reached the gateway") {
			t.Errorf("%s: the report blames the network for a wrong answer:\n%s", fault, out.String())
		}
	}
}

// TestAnUnreachableGatewaySaysWhatToRerun: nothing listens; the checker gives up after the bounded
// retries of the first request (later requests try once), every check fails, and the report says
// the deployment finished and which command to rerun.
func TestAnUnreachableGatewaySaysWhatToRerun(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	w := &waits{}
	results := runWith(t, url, w)
	if w.count() != 3 {
		t.Errorf("%d backoffs, want 3 (4 attempts of the first request, then one try per request)", w.count())
	}
	for _, r := range results {
		if r.Passed || (!r.Unreachable && !strings.Contains(r.Detail, "needs the client")) {
			t.Errorf("%s: %+v", r.Name, r)
		}
	}
	var out bytes.Buffer
	if Print(&out, url, results) != len(results) {
		t.Errorf("not every check failed:\n%s", out.String())
	}
	for _, want := range []string{"never reached the gateway", "the deployment itself finished", "go run ./cmd/selfcheck -gateway " + url} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// TestACertificateErrorIsNotRetried: a gateway whose certificate the client does not trust is a
// finding, not a transient: no backoff, and the report does not blame the network.
func TestACertificateErrorIsNotRetried(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	w := &waits{}
	c, err := New(srv.URL, &Options{HTTPClient: &http.Client{}, Attempts: 4, Wait: w.wait})
	if err != nil {
		t.Fatal(err)
	}
	results := c.Run(context.Background())
	if w.count() != 0 {
		t.Errorf("%d backoffs for an untrusted certificate", w.count())
	}
	if r := results[0]; r.Passed || r.Unreachable || !strings.Contains(r.Detail, "certificate") {
		t.Errorf("first check: %+v", r)
	}
}
