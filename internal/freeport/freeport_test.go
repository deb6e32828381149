package freeport

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"testing"
)

// TestRetryRecoversFromAStolenPort reproduces the race deterministically: on the first attempt
// "another process" (a listener of the test) binds the picked port before the child does; the
// child's bind fails with EADDRINUSE, reported as ErrTaken, and Retry succeeds on a new port.
func TestRetryRecoversFromAStolenPort(t *testing.T) {
	var tried []int
	var child net.Listener
	port, err := Retry(func(port int) error {
		tried = append(tried, port)
		if len(tried) == 1 {
			thief, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if err != nil {
				t.Fatalf("the thief could not take the picked port %d: %v", port, err)
			}
			defer thief.Close()
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%w: %v", ErrTaken, err)
		}
		child = ln
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer child.Close()
	if len(tried) != 2 || port != tried[1] || Port(child) != port {
		t.Fatalf("tried %v, got port %d (child on %d); want a second attempt that succeeds", tried, port, Port(child))
	}
}

func TestRetryIsBounded(t *testing.T) {
	calls := 0
	_, err := Retry(func(int) error { calls++; return fmt.Errorf("%w: always", ErrTaken) })
	if calls != Attempts || !errors.Is(err, ErrTaken) {
		t.Fatalf("calls %d (want %d), err %v (want ErrTaken)", calls, Attempts, err)
	}
}

func TestRetryStopsOnOtherErrors(t *testing.T) {
	calls := 0
	boom := errors.New("bad config")
	_, err := Retry(func(int) error { calls++; return boom })
	if calls != 1 || !errors.Is(err, boom) {
		t.Fatalf("calls %d (want 1), err %v (want the start's own error)", calls, err)
	}
}

func TestPickAndListenAreLoopback(t *testing.T) {
	ln, err := Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() || Port(ln) == 0 {
		t.Fatalf("Listen bound %v, want a loopback address with a port", ln.Addr())
	}
	p, err := Pick()
	if err != nil {
		t.Fatal(err)
	}
	again, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		t.Fatalf("the picked port %d cannot be bound: %v", p, err)
	}
	again.Close()
}
