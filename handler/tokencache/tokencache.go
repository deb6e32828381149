// Package tokencache keeps MSAL's token cache for local (stdio) mode in one file, through
// MSAL's cache-accessor interface (cache.ExportReplace): MSAL reads the file before it looks
// for a token and writes it after it got one, so a second run of the handler signs in
// silently.
//
// The file holds refresh tokens, so it is treated like an SSH key:
//
//   - it lives under the user's config directory ([DefaultPath]), in a directory made 0700;
//
//   - it is written with mode 0600 and atomically (a temporary file in the same directory,
//     synced, then renamed over the old one), so a crash never leaves half a cache;
//
//   - a file that is not a regular file, is readable or writable by other users, belongs to
//     another user, or is not a token cache is refused with a [*RefusedError] that says what
//     to do — and never overwritten: the user decides whether to delete it;
//
//   - its content is never logged, and no error quotes it.
//
//     f, err := tokencache.Open("")            // DefaultPath()
//     if err != nil { /* *RefusedError: tell the user, stop */ }
//     pc, _ := public.New(clientID, public.WithCache(f), …)
//
// Concurrent processes (two MCP clients each running the handler) each write whole files, so
// the file is always a complete cache; the last writer wins.
package tokencache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
)

// FileName is the cache file's name under the config directory.
const FileName = "msal-token-cache.json"

// maxSize bounds what is read: a cache of a few accounts is a few KiB.
const maxSize = 4 << 20

// DefaultPath is <user config dir>/graphmcp/msal-token-cache.json: ~/.config on Linux
// (or $XDG_CONFIG_HOME), ~/Library/Application Support on macOS, %AppData% on Windows.
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no user config directory for the token cache (%v); set GRAPHMCP_TOKEN_CACHE to a file path", err)
	}
	return filepath.Join(dir, "graphmcp", FileName), nil
}

// RefusedError is a cache file that is not used, and left as it is.
type RefusedError struct {
	Path   string
	Reason string // e.g. "is readable by other users (mode 0644)"
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("token cache %s %s; it was left untouched. Delete it (you will sign in again) or fix it, then restart", e.Path, e.Reason)
}

// UserMessage is the refusal as a tool error shows it.
func (e *RefusedError) UserMessage() string { return e.Error() }

// File is the cache file. It implements cache.ExportReplace; safe for concurrent use.
type File struct {
	path string
	mu   sync.Mutex
}

var _ cache.ExportReplace = (*File)(nil)

// Open returns the cache at path ("" = DefaultPath), creating its directory (0700) when
// missing and checking an existing file, so that a refused file stops the program before any
// sign-in.
func Open(path string) (*File, error) {
	if path == "" {
		p, err := DefaultPath()
		if err != nil {
			return nil, err
		}
		path = p
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("token cache path %q: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the token cache directory %s: %w", filepath.Dir(abs), err)
	}
	f := &File{path: abs}
	if _, err := f.read(); err != nil {
		return nil, err
	}
	return f, nil
}

// Replace loads the file into MSAL's in-memory cache; a missing file is an empty cache.
func (f *File) Replace(ctx context.Context, c cache.Unmarshaler, _ cache.ReplaceHints) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	data, err := f.read()
	if err != nil {
		return err
	}
	if data == nil {
		data = []byte("{}")
	}
	if err := c.Unmarshal(data); err != nil {
		return &RefusedError{Path: f.path, Reason: "is not an MSAL token cache (it could not be read as one)"}
	}
	return nil
}

// Export writes MSAL's cache to the file atomically with mode 0600, unless the file now there
// is one to refuse.
func (f *File) Export(ctx context.Context, c cache.Marshaler, _ cache.ExportHints) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := c.Marshal()
	if err != nil {
		return fmt.Errorf("token cache: MSAL could not serialise its cache: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.read(); err != nil {
		return err // never replace a file we would refuse to read
	}
	return writeAtomic(f.path, data)
}

// read returns the file's content (nil when it does not exist) after the checks of the
// package comment.
func (f *File) read() ([]byte, error) {
	fi, err := os.Lstat(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("token cache %s: %w", f.path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, &RefusedError{Path: f.path, Reason: "is not a regular file (a symbolic link, directory or device)"}
	}
	if reason := foreign(fi); reason != "" {
		return nil, &RefusedError{Path: f.path, Reason: reason}
	}
	fh, err := os.Open(f.path)
	if err != nil {
		return nil, fmt.Errorf("token cache %s: %w", f.path, err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("token cache %s: %w", f.path, err)
	}
	if len(data) > maxSize {
		return nil, &RefusedError{Path: f.path, Reason: fmt.Sprintf("is larger than %d bytes, far more than a token cache", maxSize)}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil || !bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		return nil, &RefusedError{Path: f.path, Reason: "is corrupted (not a JSON object as MSAL writes it)"}
	}
	return data, nil
}

// writeAtomic writes data to a new 0600 file next to path and renames it over path.
func writeAtomic(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("token cache: cannot write next to %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("token cache: writing %s: %w", tmp.Name(), err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("token cache: replacing %s: %w", path, err)
	}
	return nil
}
