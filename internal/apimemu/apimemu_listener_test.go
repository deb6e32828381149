package apimemu

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"

	"example.com/graphmcp/internal/freeport"
)

// TestStartOwnsTheGivenListener: a caller hands over a listener it kept bound (so the port it
// already named cannot be taken); when Start fails the listener is closed, not leaked.
func TestStartOwnsTheGivenListener(t *testing.T) {
	ln, err := freeport.Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = Start(context.Background(), &Options{Manifest: filepath.Join(t.TempDir(), "missing.json"), Listener: ln})
	if err == nil {
		t.Fatal("Start with a missing manifest succeeded")
	}
	if _, aerr := ln.Accept(); !errors.Is(aerr, net.ErrClosed) {
		t.Fatalf("after a failed Start the listener is still open (Accept: %v)", aerr)
	}
}
