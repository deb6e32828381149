package toolchain_test

import (
	"context"
	"fmt"

	"example.com/graphmcp/apim-policies/toolchain"
)

// Check prints one "file:line: message" per finding; an empty result means the policies are
// well-formed, structurally valid, compile against the object model and stay on the allow-list.
func ExampleCheck() {
	ds, err := toolchain.Check(context.Background(), "apim-policies/gateway.json", toolchain.Tools{})
	if err != nil {
		fmt.Println("cannot run the checks:", err) // Mono missing, unreadable files
		return
	}
	for _, d := range ds {
		fmt.Println(d)
	}
}
