package main

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"sync"
	"time"
)

// handlerLog reads the handler's JSON log (stdout) and, while recording, keeps the duration_ms
// of each POST /mcp request line: the time inside the handler, from its logging middleware to
// the written reply. Beside the latency the load generator sees, it tells whether a tail is the
// handler's or the harness's (the generator and the stand-ins share their CPU).
type handlerLog struct {
	mu        sync.Mutex
	recording bool
	durations []time.Duration
}

var (
	mcpPath     = []byte(`"path":"/mcp"`)
	durationKey = []byte(`"duration_ms":`)
)

// drain reads r to its end; it does not parse lines unless recording (a substring search
// then, not a JSON decode, to cost the generator's CPU as little as possible).
func (l *handlerLog) drain(r io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			l.mu.Lock()
			if l.recording && bytes.Contains(line, mcpPath) {
				if d, ok := durationOf(line); ok {
					l.durations = append(l.durations, d)
				}
			}
			l.mu.Unlock()
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return
		}
	}
}

// record starts (true) or stops (false) keeping durations; starting clears earlier ones.
func (l *handlerLog) record(on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if on {
		l.durations = l.durations[:0]
	}
	l.recording = on
}

// taken returns the durations kept so far.
func (l *handlerLog) taken() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Duration(nil), l.durations...)
}

func durationOf(line []byte) (time.Duration, bool) {
	i := bytes.Index(line, durationKey)
	if i < 0 {
		return 0, false
	}
	rest := line[i+len(durationKey):]
	end := bytes.IndexAny(rest, ",}")
	if end < 0 {
		return 0, false
	}
	ms, err := strconv.ParseFloat(string(rest[:end]), 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(ms * float64(time.Millisecond)), true
}
