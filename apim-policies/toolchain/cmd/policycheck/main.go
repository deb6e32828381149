// Command policycheck runs the APIM policy checks outside `go test`:
//
//	go run ./apim-policies/toolchain/cmd/policycheck [apim-policies/gateway.json]
//
// It prints one "file:line: message" per finding and exits 1 when there is any.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"example.com/graphmcp/apim-policies/toolchain"
)

func main() {
	manifest := filepath.Join("apim-policies", "gateway.json")
	if len(os.Args) > 1 {
		manifest = os.Args[1]
	}
	ds, err := toolchain.Check(context.Background(), manifest, toolchain.Tools{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "policycheck:", err)
		os.Exit(2)
	}
	for _, d := range ds {
		fmt.Println(d)
	}
	if len(ds) > 0 {
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "policycheck: ok")
}
