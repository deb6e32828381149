package bolt

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"example.com/graphmcp/handler/store"
	"example.com/graphmcp/handler/store/storetest"
)

func openTemp(t *testing.T, now func() time.Time) *Store {
	t.Helper()
	st, err := Open(filepath.Join(t.TempDir(), "state.db"), &Options{Now: now, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) store.Store { return openTemp(t, now) })
}

func TestSweepDeletesExpired(t *testing.T) {
	clock := storetest.NewClock()
	st := openTemp(t, clock.Now)
	live := storetest.SampleClient(clock.Now(), 2*time.Hour)
	dead := storetest.SampleClient(clock.Now(), time.Hour)
	for _, c := range []*store.Client{live, dead} {
		if err := st.CreateClient(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(time.Hour)
	if err := st.Sweep(); err != nil {
		t.Fatal(err)
	}
	var n int
	_ = st.db.View(func(tx *bbolt.Tx) error { n = tx.Bucket(bucketClients).Stats().KeyN; return nil })
	if n != 1 {
		t.Fatalf("after sweep %d client records remain, want 1", n)
	}
	if _, err := st.GetClient(t.Context(), live.ClientID); err != nil {
		t.Fatalf("live client gone after sweep: %v", err)
	}
}

// TestRestartKeepsRegistrations writes a registration from a child process, kills it with
// SIGKILL (no Close, no clean shutdown), and reads the registration back from a new process.
func TestRestartKeepsRegistrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$")
	cmd.Env = append(os.Environ(), "BOLT_HELPER_FILE="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var id string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if line := sc.Text(); len(line) > 8 && line[:8] == "written " {
			id = line[8:]
			break
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if id == "" {
		t.Fatal("writer process did not report a registration")
	}
	st, err := Open(path, &Options{SweepInterval: -1})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer st.Close()
	c, err := st.GetClient(context.Background(), id)
	if err != nil {
		t.Fatalf("registration lost across restart: %v", err)
	}
	if len(c.RedirectURIs) != 2 || c.TokenEndpointAuthMethod != "none" {
		t.Fatalf("registration incomplete after restart: %+v", c)
	}
}

// TestHelperWriter is the child process of TestRestartKeepsRegistrations.
func TestHelperWriter(t *testing.T) {
	path := os.Getenv("BOLT_HELPER_FILE")
	if path == "" {
		return // not running as the helper
	}
	st, err := Open(path, &Options{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	c := storetest.SampleClient(time.Now(), 24*time.Hour)
	if err := st.CreateClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("written " + c.ClientID + "\n")
	_, _ = io.Copy(io.Discard, os.Stdin) // block until killed (the parent holds stdin open)
}

func TestLockedFileFailsClearly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := Open(path, &Options{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = Open(path, &Options{SweepInterval: -1, LockTimeout: 50 * time.Millisecond})
	if err == nil {
		t.Fatal("second Open of a locked file succeeded")
	}
}
