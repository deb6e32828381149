// Command funcpackage writes the Azure Functions deployment zip of the custom handler: host.json,
// every functions/<name>/function.json and the linux/amd64 handler binary with mode 0755.
//
// The zip is written by Go code, not by azd or an OS zip tool, because the executable bit is
// what keeps the Functions host from failing with "permission denied" on Linux, and zip tools on
// Windows (and azd's zipper there, except for language go) drop it. Usage:
//
//	go run ./cmd/funcpackage -out dist/functionapp.zip                 # builds the handler too
//	go run ./cmd/funcpackage -binary dist/handler -out dist/functionapp.zip
//
// Relative paths are resolved against the project root (the folder holding azure.yaml, found
// upwards from the working directory), never against the working directory alone. It is the
// prepackage hook of azure.yaml (with -azd, see AzdDistCopy) and the `make package` target.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	root := flag.String("root", "", "repository root holding azure.yaml, host.json, functions/ and handler/ (default: found upwards from the working directory)")
	out := flag.String("out", "dist/functionapp.zip", "zip file to write, relative to the root")
	binary := flag.String("binary", "", "prebuilt linux/amd64 handler binary, relative to the root; empty builds ./handler with the Go toolchain")
	azd := flag.Bool("azd", false, "running as azd's prepackage hook: also put the zip where azd opens `dist` when it was started in a subfolder")
	flag.Parse()

	if err := hook(*root, *binary, *out, *azd, os.Getenv("PWD")); err != nil {
		fmt.Fprintln(os.Stderr, "funcpackage:", err)
		os.Exit(1)
	}
}

// hook resolves every path against the project root, writes the package, and as azd's hook also
// places a copy where azd will look for it (AzdDistCopy).
func hook(root, binary, out string, azd bool, invokedFrom string) error {
	if root == "" {
		r, err := ProjectRoot(".")
		if err != nil {
			return err
		}
		root = r
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	out = Resolve(root, out)
	if binary != "" {
		binary = Resolve(root, binary)
	}
	if err := run(root, binary, out); err != nil {
		return err
	}
	if !azd {
		return nil
	}
	if extra := AzdDistCopy(root, out, invokedFrom); extra != "" {
		if err := copyFile(out, extra); err != nil {
			return fmt.Errorf("azd was started in %s and will deploy %s from there, but copying the package failed: %w; run `azd up` from %s", invokedFrom, extra, err, root)
		}
		fmt.Printf("funcpackage: azd was started in %s, so the package is also at %s (azd opens `dist` relative to where it was started)\n", invokedFrom, extra)
	}
	return nil
}

func run(root, binary, out string) error {
	if binary == "" {
		dir, err := os.MkdirTemp("", "funcpackage-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if binary, err = BuildHandler(root, dir); err != nil {
			return err
		}
	}
	files, err := Collect(root, binary)
	if err != nil {
		return err
	}
	if err := WriteZip(out, files); err != nil {
		return err
	}
	fmt.Printf("funcpackage: wrote %s (%d files, handler mode 0755)\n", out, len(files))
	return nil
}
