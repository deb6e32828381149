package funchost

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeWorker is a backend that can "exit".
type fakeWorker struct {
	srv    *httptest.Server
	exited chan struct{}
	once   sync.Once
}

func (w *fakeWorker) URL() string             { return w.srv.URL }
func (w *fakeWorker) Exited() <-chan struct{} { return w.exited }
func (w *fakeWorker) Stop() error {
	w.once.Do(func() { w.srv.Close(); close(w.exited) })
	return nil
}

// TestLaunchRestartsTheHandler: with Options.Launch the stand-in starts the handler, starts it
// again when it exits (requests then reach the new one), and stops it on Close.
func TestLaunchRestartsTheHandler(t *testing.T) {
	var mu sync.Mutex
	var workers []*fakeWorker
	launch := func() (Worker, error) {
		mu.Lock()
		defer mu.Unlock()
		n := strconv.Itoa(len(workers) + 1)
		w := &fakeWorker{exited: make(chan struct{})}
		w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { io.WriteString(rw, "worker "+n) }))
		workers = append(workers, w)
		return w, nil
	}
	s, err := Start(&Options{Launch: launch, FunctionKeys: []string{testKey}})
	if err != nil {
		t.Fatal(err)
	}
	body := func() string {
		resp := do(t, http.MethodPost, s.URL()+"/mcp", map[string]string{"x-functions-key": testKey}, "")
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := body(); got != "worker 1" {
		t.Fatalf("first answer %q", got)
	}
	mu.Lock()
	first := workers[0]
	mu.Unlock()
	first.Stop() // the handler exits
	for deadline := time.Now().Add(30 * time.Second); s.Restarts() < 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) { // a bound on a hang, not a timing expectation
			t.Fatalf("no restart: %v", s.LastLaunchError())
		}
	}
	if got := body(); got != "worker 2" {
		t.Fatalf("after the restart: %q", got)
	}
	s.Close()
	mu.Lock()
	defer mu.Unlock()
	select {
	case <-workers[len(workers)-1].exited:
	default:
		t.Fatal("Close left the handler running")
	}
}
