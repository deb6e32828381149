package localstack

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPersistedKeysAreReused: Options.Persist keeps the gateway's token and cookie keys in Dir
// (0600) and a second stack reads the same keys back; a damaged file is an error, not silently
// replaced (that would log everyone out).
func TestPersistedKeysAreReused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, keysFile)
	a := &Stack{Dir: dir}
	if err := a.loadOrCreateKeys(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, fi.Mode())
	}
	b := &Stack{Dir: dir}
	if err := b.loadOrCreateKeys(path); err != nil {
		t.Fatal(err)
	}
	ka, kb := a.Keys[0], b.Keys[0]
	if ka.ID != kb.ID || !bytes.Equal(ka.Enc, kb.Enc) || !bytes.Equal(ka.MAC, kb.MAC) || !bytes.Equal(a.CookieKey, b.CookieKey) {
		t.Fatal("the second load returned different keys")
	}
	if bytes.Equal(ka.Enc, ka.MAC) || len(a.CookieKey) != 32 {
		t.Fatal("keys are not independent 32-byte values")
	}
	os.WriteFile(path, []byte(`{"token_key_id":"k1"}`), 0o600)
	err := (&Stack{Dir: dir}).loadOrCreateKeys(path)
	if err == nil || !strings.Contains(err.Error(), "delete it") {
		t.Fatalf("damaged key file: %v", err)
	}
}

func TestPersistNeedsDir(t *testing.T) {
	if _, err := Start(t.Context(), &Options{Persist: true}); err == nil || !strings.Contains(err.Error(), "Dir") {
		t.Fatalf("Persist without Dir: %v", err)
	}
}
