// Package freeport chooses loopback TCP ports for processes the tests start, and retries a
// start that lost its port to another process.
//
// Picking a port by listening on 127.0.0.1:0 and closing the listener is racy: between the
// close and the child's own bind, any other process may take the port. Two cures, in order of
// preference:
//
//   - In-process servers should never be given a number: listen once (Listen) and hand them
//     the listener, so the port is never free in between.
//   - A child process that must bind a port itself (the handler binds
//     FUNCTIONS_CUSTOMHANDLER_PORT; Mono's HttpListener binds its prefix) is started through
//     Retry: the caller reports a lost port as ErrTaken and Retry starts again on a fresh port,
//     a bounded number of times.
//
// A child started through Retry:
//
//	port, err := freeport.Retry(func(port int) error {
//		p, err := startChild(port)
//		if errors.Is(err, syscall.EADDRINUSE) {
//			return fmt.Errorf("%w: %v", freeport.ErrTaken, err)
//		}
//		child = p
//		return err
//	})
package freeport

import (
	"errors"
	"fmt"
	"net"
)

// Attempts bounds Retry. Losing a port at all is rare (the kernel hands out ephemeral ports
// round-robin); losing it five times in a row means something else is wrong.
const Attempts = 5

// ErrTaken marks a start that failed because the port was bound by someone else first. Wrap it
// (fmt.Errorf("%w: …", ErrTaken, …)) so Retry tries another port.
var ErrTaken = errors.New("the port was taken by another process")

// Listen listens on a free loopback port and keeps it: give the listener to an in-process
// server (no race) or read its port and close it just before a child binds it (see Pick).
func Listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("freeport: cannot listen on 127.0.0.1: %w", err)
	}
	return ln, nil
}

// Pick returns a loopback port that was free a moment ago. Another process can take it before
// the caller binds it: start children on it through Retry, and prefer Listen for in-process
// servers. Also useful for a port nothing should be listening on (an "unreachable" test).
func Pick() (int, error) {
	ln, err := Listen()
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return Port(ln), nil
}

// Port is the TCP port a listener is bound to.
func Port(ln net.Listener) int { return ln.Addr().(*net.TCPAddr).Port }

// Retry calls start with a freshly picked port until it succeeds, fails with an error that is
// not ErrTaken, or Attempts starts have lost their port. It returns the port start succeeded
// on. start must undo whatever it started before returning an error.
func Retry(start func(port int) error) (int, error) {
	var err error
	for range Attempts {
		var port int
		if port, err = Pick(); err != nil {
			return 0, err
		}
		if err = start(port); err == nil {
			return port, nil
		}
		if !errors.Is(err, ErrTaken) {
			return 0, err
		}
	}
	return 0, fmt.Errorf("freeport: %d starts in a row lost their port to another process (last: %w)", Attempts, err)
}
