package tokencache_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"

	"example.com/graphmcp/handler/tokencache"
)

// blob is a stand-in for MSAL's cache: it marshals and unmarshals opaque bytes.
type blob struct{ data []byte }

func (b *blob) Marshal() ([]byte, error) { return b.data, nil }
func (b *blob) Unmarshal(d []byte) error { b.data = append([]byte(nil), d...); return nil }

const secretCache = `{"RefreshToken":{"k":{"secret":"rt-value-never-logged"}}}`

func TestRoundTripIs0600AndAtomic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "graphmcp")
	path := filepath.Join(dir, tokencache.FileName)
	f, err := tokencache.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("directory: %v mode %v, want 0700", err, fi.Mode().Perm())
	}
	ctx := context.Background()
	var empty blob
	if err := f.Replace(ctx, &empty, cache.ReplaceHints{}); err != nil || string(empty.data) != "{}" {
		t.Fatalf("missing file: Replace = %q, %v; want an empty cache", empty.data, err)
	}
	if err := f.Export(ctx, &blob{[]byte(secretCache)}, cache.ExportHints{}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache file: %v mode %v, want 0600", err, fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the cache (no temporary files left)", len(entries))
	}
	var got blob
	if err := f.Replace(ctx, &got, cache.ReplaceHints{}); err != nil || string(got.data) != secretCache {
		t.Fatalf("Replace = %q, %v", got.data, err)
	}
}

// TestRefusals: a file another user could read, a corrupted file and a symbolic link are
// refused with a message naming the file and the fix, and none of them is overwritten.
func TestRefusals(t *testing.T) {
	cases := []struct {
		name, reason string
		make         func(path string)
	}{
		{"foreign permissions", "accessible to other users (mode 0644", func(p string) {
			os.WriteFile(p, []byte(secretCache), 0o600)
			os.Chmod(p, 0o644)
		}},
		{"corrupted", "corrupted", func(p string) { os.WriteFile(p, []byte(`{"AccessToken": {tru`), 0o600) }},
		{"not an object", "corrupted", func(p string) { os.WriteFile(p, []byte(`[1,2]`), 0o600) }},
		{"symlink", "not a regular file", func(p string) {
			target := p + ".target"
			os.WriteFile(target, []byte(secretCache), 0o600)
			os.Symlink(target, p)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tokencache.FileName)
			tc.make(path)
			before, _ := os.ReadFile(path)
			_, err := tokencache.Open(path)
			var re *tokencache.RefusedError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.reason) || !strings.Contains(err.Error(), path) ||
				!strings.Contains(err.Error(), "left untouched") {
				t.Fatalf("Open = %v; want a refusal naming %s and %q", err, path, tc.reason)
			}
			if strings.Contains(err.Error(), "rt-value") {
				t.Fatalf("the refusal quotes the file's content: %v", err)
			}
			// A File opened before the file went bad refuses to overwrite it, too.
			good := filepath.Join(t.TempDir(), tokencache.FileName)
			f, err := tokencache.Open(good)
			if err != nil {
				t.Fatal(err)
			}
			os.Remove(good)
			tc.make(good)
			goodBefore, _ := os.ReadFile(good)
			if err := f.Export(context.Background(), &blob{[]byte(`{}`)}, cache.ExportHints{}); !errors.As(err, &re) {
				t.Fatalf("Export over a refused file = %v, want *RefusedError", err)
			}
			if err := f.Replace(context.Background(), &blob{}, cache.ReplaceHints{}); !errors.As(err, &re) {
				t.Fatalf("Replace of a refused file = %v, want *RefusedError", err)
			}
			after, _ := os.ReadFile(path)
			goodAfter, _ := os.ReadFile(good)
			if string(after) != string(before) || string(goodAfter) != string(goodBefore) {
				t.Fatal("a refused file was modified")
			}
		})
	}
}
