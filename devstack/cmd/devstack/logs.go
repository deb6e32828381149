package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"example.com/graphmcp/internal/handlerproc"
)

// devLogs writes the handler's JSON log lines and the gateway emulator's output to files in
// dir (and to stderr with -v), so a person can read what happened on a failed sign-in or tool call.
type devLogs struct {
	dir         string
	handler     io.Writer
	gateway     io.Writer
	files       []*os.File
	mu          sync.Mutex
	handlerSeen int // handler stdout lines already copied
	stderrSeen  int // bytes of handler stderr already copied
}

func openLogs(dir string, verbose bool, stderr io.Writer) (*devLogs, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create log directory: %w", err)
	}
	l := &devLogs{dir: dir}
	open := func(name string) (io.Writer, error) {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return nil, err
		}
		l.files = append(l.files, f)
		if verbose {
			return io.MultiWriter(f, stderr), nil
		}
		return f, nil
	}
	var err error
	if l.handler, err = open("handler.log"); err != nil {
		l.Close()
		return nil, err
	}
	if l.gateway, err = open("gateway.log"); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// copyHandler appends the handler's output written since the last call. The handler runs
// under internal/handlerproc, which keeps its output in memory for tests; this copies it out.
func (l *devLogs) copyHandler(p *handlerproc.Process) {
	if p == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := p.Stdout()
	for _, line := range lines[min(l.handlerSeen, len(lines)):] {
		fmt.Fprintln(l.handler, line)
	}
	l.handlerSeen = len(lines)
	if errOut := p.Stderr(); len(errOut) > l.stderrSeen {
		io.WriteString(l.handler, errOut[l.stderrSeen:])
		l.stderrSeen = len(errOut)
	}
}

func (l *devLogs) Close() {
	for _, f := range l.files {
		f.Close()
	}
}
