// Package syncbuf is a bytes.Buffer that one goroutine may write while another reads it: the
// stderr of a child process (os/exec copies it from its own goroutine) or a logger's output,
// read by the test that started them.
//
//	var errs syncbuf.Buffer
//	cmd.Stderr = &errs
//	… t.Fatalf("exited early; stderr:\n%s", errs.String())
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer is safe for concurrent Write and String. The zero value is an empty buffer.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
