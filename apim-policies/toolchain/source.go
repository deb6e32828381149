package toolchain

import (
	"path/filepath"
	"runtime"
)

// sourceDir is this package's directory in the checkout; the stub and emulator sources are its siblings.
func sourceDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}
