package handlerproc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineBuffer is an io.Writer that keeps complete lines and wakes up waiters on each new line.
type lineBuffer struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	all     bytes.Buffer
	changed chan struct{} // closed and replaced on every new line
}

func newLineBuffer() *lineBuffer { return &lineBuffer{changed: make(chan struct{})} }

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.all.Write(p)
	b.partial = append(b.partial, p...)
	added := false
	for {
		i := bytes.IndexByte(b.partial, '\n')
		if i < 0 {
			break
		}
		b.lines = append(b.lines, string(b.partial[:i]))
		b.partial = b.partial[i+1:]
		added = true
	}
	if added {
		close(b.changed)
		b.changed = make(chan struct{})
	}
	return len(p), nil
}

func (b *lineBuffer) Lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.lines...)
}

func (b *lineBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.all.String()
}

func (b *lineBuffer) snapshot() ([]string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.lines...), b.changed
}

// Record is one JSON log line as written by the handler's slog JSON handler.
type Record map[string]any

// String returns the value of a top-level string attribute ("" when absent).
func (r Record) String(key string) string {
	s, _ := r[key].(string)
	return s
}

// Records parses every stdout line as JSON. Lines that are not JSON objects fail the test:
// the handler promises structured logs only on stdout.
func (p *Process) Records(tb testing.TB) []Record {
	tb.Helper()
	recs, err := parseRecords(p.Stdout())
	if err != nil {
		tb.Fatalf("handlerproc: %v", err)
	}
	return recs
}

func parseRecords(lines []string) ([]Record, error) {
	var recs []Record
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		var r Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			// Print only the length: a log line that is not JSON could hold anything.
			return nil, fmt.Errorf("stdout line %d (%d bytes) is not a JSON object: %v", i+1, len(l), err)
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// WaitRecord waits until a stdout JSON record satisfies match and returns it. It fails the
// test when the process exits first or after timeout (an upper bound for reporting only).
func (p *Process) WaitRecord(tb testing.TB, match func(Record) bool, timeout time.Duration) Record {
	tb.Helper()
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		lines, changed := p.stdout.snapshot()
		recs, _ := parseRecords(lines)
		for _, r := range recs {
			if match(r) {
				return r
			}
		}
		select {
		case <-changed:
		case <-p.exited:
			// Re-check once: the line may have arrived together with the exit.
			recs, _ := parseRecords(p.Stdout())
			for _, r := range recs {
				if match(r) {
					return r
				}
			}
			tb.Fatalf("handlerproc: process exited before logging the awaited record")
			return nil
		case <-t.C:
			tb.Fatalf("handlerproc: awaited log record not seen within %s", timeout)
			return nil
		}
	}
}
