package main

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// File is one entry of the package: its slash-separated name inside the zip, its content and mode.
type File struct {
	Name string
	Data []byte
	Mode fs.FileMode
}

// HandlerName is the binary's name in the package; host.json's defaultExecutablePath must equal it.
const HandlerName = "handler"

// zipTime is the modification time of every entry, so that the same inputs give the same zip.
var zipTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// BuildHandler compiles ./handler for linux/amd64 without cgo (a static binary that does not depend
// on the Functions image's libc) into dir and returns the binary's path.
func BuildHandler(root, dir string) (string, error) {
	out := filepath.Join(dir, HandlerName)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./handler")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building ./handler for linux/amd64 failed (%v); run `GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go build ./handler` to see why", err)
	}
	return out, nil
}

// Collect reads host.json, functions/*/function.json and the handler binary, checks that they fit
// together, and returns the package entries in a stable order.
func Collect(root, binary string) ([]File, error) {
	host, err := os.ReadFile(filepath.Join(root, "host.json"))
	if err != nil {
		return nil, fmt.Errorf("reading host.json: %w (run from the repository root or pass -root)", err)
	}
	if err := checkHostJSON(host); err != nil {
		return nil, err
	}
	files := []File{{Name: "host.json", Data: host, Mode: 0o644}}

	matches, err := filepath.Glob(filepath.Join(root, "functions", "*", "function.json"))
	if err != nil {
		return nil, err
	}
	if len(matches) == 0 {
		return nil, errors.New("no functions/<name>/function.json found: the classic custom-handler layout needs one folder per HTTP function")
	}
	sort.Strings(matches)
	for _, m := range matches {
		data, err := os.ReadFile(m)
		if err != nil {
			return nil, err
		}
		name := path.Join("functions", filepath.Base(filepath.Dir(m)), "function.json")
		if !json.Valid(data) {
			return nil, fmt.Errorf("%s is not valid JSON", name)
		}
		// The Functions host looks for <function>/function.json at the app root; functions/ is only
		// where the repository keeps them (DESIGN §7), so the folder is flattened into the root.
		files = append(files, File{Name: strings.TrimPrefix(name, "functions/"), Data: data, Mode: 0o644})
	}

	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("reading the handler binary: %w", err)
	}
	if err := checkLinuxAMD64(bin); err != nil {
		return nil, fmt.Errorf("%s: %w", binary, err)
	}
	files = append(files, File{Name: HandlerName, Data: bin, Mode: 0o755})
	return files, nil
}

func checkHostJSON(data []byte) error {
	var host struct {
		CustomHandler struct {
			Description struct {
				DefaultExecutablePath string `json:"defaultExecutablePath"`
			} `json:"description"`
		} `json:"customHandler"`
	}
	if err := json.Unmarshal(data, &host); err != nil {
		return fmt.Errorf("host.json is not valid JSON: %w", err)
	}
	if p := host.CustomHandler.Description.DefaultExecutablePath; p != HandlerName {
		return fmt.Errorf("host.json customHandler.description.defaultExecutablePath is %q; it must be %q, the binary this package ships", p, HandlerName)
	}
	return nil
}

// checkLinuxAMD64 refuses anything but an x86-64 Linux ELF executable: a Windows or macOS build
// would deploy fine and then fail to start on the Functions host.
func checkLinuxAMD64(bin []byte) error {
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return errors.New("not a Linux ELF binary; build with GOOS=linux GOARCH=amd64 CGO_ENABLED=0")
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 {
		return fmt.Errorf("built for %s, not x86-64; build with GOARCH=amd64", f.Machine)
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("ELF type %s is not an executable", f.Type)
	}
	return nil
}

// WriteZip writes files to out (creating its directory) with their Unix modes recorded in the
// entries' external attributes, the part of a zip that carries the executable bit.
func WriteZip(out string, files []File) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range files {
		if dir := path.Dir(f.Name); dir != "." && !dirs[dir] {
			dirs[dir] = true
			h := &zip.FileHeader{Name: dir + "/", Modified: zipTime}
			h.SetMode(fs.ModeDir | 0o755)
			if _, err := zw.CreateHeader(h); err != nil {
				return err
			}
		}
		h := &zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: zipTime}
		h.SetMode(f.Mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := w.Write(f.Data); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	// Write to a temporary file and rename, so an interrupted run never leaves a truncated zip
	// that azd would deploy.
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}
