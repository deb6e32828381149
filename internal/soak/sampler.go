package soak

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"time"

	"example.com/graphmcp/handler/logging"
)

// Sample is the handler's resource use at one moment: resident memory from /proc and the
// goroutine count from its latest "runtime stats" log record (RUNTIME_STATS_INTERVAL).
type Sample struct {
	At         time.Time
	Pid        int
	RSSKiB     int
	Goroutines int
	HeapBytes  int
}

// sample records the handler every statistics interval until the returned stop is called.
func (r *runner) sample() (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(statsInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			s := r.sampleNow()
			r.mu.Lock()
			r.samples = append(r.samples, s)
			r.mu.Unlock()
		}
	}()
	return func() { close(done); <-finished }
}

// sampleNow reads the current handler process.
func (r *runner) sampleNow() Sample {
	p := r.st.CurrentHandler()
	s := Sample{At: time.Now(), Pid: p.Pid(), RSSKiB: rssKiB(p.Pid())}
	lines := p.Stdout()
	for i := len(lines) - 1; i >= 0; i-- {
		if !strings.Contains(lines[i], logging.RuntimeStatsMessage) {
			continue
		}
		var rec struct {
			Msg        string `json:"msg"`
			Goroutines int    `json:"goroutines"`
			Heap       int    `json:"heap_alloc_bytes"`
		}
		if json.Unmarshal([]byte(lines[i]), &rec) == nil && rec.Msg == logging.RuntimeStatsMessage {
			s.Goroutines, s.HeapBytes = rec.Goroutines, rec.Heap
			break
		}
	}
	return s
}

// rssKiB is VmRSS of a process (0 when it is gone).
func rssKiB(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}
