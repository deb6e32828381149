package latency

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestDelayServesAfterWaitingAndDropsAbandonedRequests(t *testing.T) {
	var served atomic.Int64
	var d Delay
	srv := httptest.NewServer(d.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1) })))
	defer srv.Close()

	if resp, err := http.Get(srv.URL); err != nil || resp.StatusCode != 200 || served.Load() != 1 {
		t.Fatalf("without delay: %v, served %d", err, served.Load())
	}

	// A delay far longer than the client waits: the client gives up, the handler never runs.
	d.Set(time.Hour)
	if d.Get() != time.Hour {
		t.Fatalf("Get = %v", d.Get())
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	errc := make(chan error, 1)
	go func() { _, err := http.DefaultClient.Do(req); errc <- err }()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned request: %v", err)
	}
	d.Set(-time.Second) // negative means none
	if resp, err := http.Get(srv.URL); err != nil || resp.StatusCode != 200 {
		t.Fatalf("after reset: %v", err)
	}
	if n := served.Load(); n != 2 {
		t.Errorf("handler ran %d times, want 2 (the abandoned request must not be handled)", n)
	}
}
