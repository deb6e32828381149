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
// It is the prepackage hook of azure.yaml and the `make package` target.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	root := flag.String("root", ".", "repository root holding host.json, functions/ and handler/")
	out := flag.String("out", "dist/functionapp.zip", "zip file to write")
	binary := flag.String("binary", "", "prebuilt linux/amd64 handler binary; empty builds ./handler with the Go toolchain")
	flag.Parse()

	if err := run(*root, *binary, *out); err != nil {
		fmt.Fprintln(os.Stderr, "funcpackage:", err)
		os.Exit(1)
	}
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
