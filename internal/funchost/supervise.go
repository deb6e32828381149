package funchost

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"
)

// Worker is a custom handler process the stand-in supervises (internal/handlerproc.Process is
// one): its base URL, a channel closed when it exits, and a way to stop it.
type Worker interface {
	URL() string
	Exited() <-chan struct{}
	Stop() error
}

// Restart backoff: the first relaunch is immediate, later ones wait longer, up to a bound, so a
// handler that cannot start does not spin the machine.
const (
	restartBackoff    = 100 * time.Millisecond
	restartBackoffMax = 2 * time.Second
)

// parseBackend checks a backend URL: http on a loopback IP address, as the host connects.
func parseBackend(raw string) (*url.URL, error) {
	backend, err := url.Parse(raw)
	if err != nil || backend.Scheme != "http" || backend.Host == "" {
		return nil, fmt.Errorf("funchost: Backend %q must be an http URL such as http://127.0.0.1:8080", raw)
	}
	if ip := net.ParseIP(backend.Hostname()); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("funchost: Backend %q must be a loopback IP address (the host connects to 127.0.0.1)", raw)
	}
	return backend, nil
}

// launch starts a worker with Options.Launch and makes it the backend. After Close, a worker
// that started anyway is stopped again.
func (s *Server) launch() error {
	w, err := s.opts.Launch()
	if err != nil {
		return err
	}
	backend, err := parseBackend(w.URL())
	if err != nil {
		_ = w.Stop()
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = w.Stop()
		return errors.New("funchost: closed")
	}
	s.worker = w
	s.backend.Store(backend)
	return nil
}

// supervise waits for the current worker to exit and launches another, as the Functions host
// restarts a custom handler that exits, until Close.
func (s *Server) supervise() {
	for {
		s.mu.Lock()
		w := s.worker
		s.mu.Unlock()
		select {
		case <-s.stop:
			return
		case <-w.Exited():
		}
		wait := time.Duration(0)
		for {
			select {
			case <-s.stop:
				return
			case <-time.After(wait):
			}
			err := s.launch()
			s.mu.Lock()
			s.lastLaunchErr = err
			if err == nil {
				s.restarts++
			}
			s.mu.Unlock()
			if err == nil {
				break
			}
			wait = min(max(2*wait, restartBackoff), restartBackoffMax)
		}
	}
}

// Restarts is how many times the stand-in has started the custom handler again after it
// exited (Options.Launch only).
func (s *Server) Restarts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restarts
}

// LastLaunchError is the error of the latest failed restart, nil when the latest one worked.
func (s *Server) LastLaunchError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastLaunchErr
}
