// Command selfcheck verifies a deployed MCP gateway from the outside, without a browser, and
// prints the MCP URL and how to connect a client. It is the postdeploy hook of azure.yaml:
//
//	go run ./cmd/selfcheck -gateway https://apim-xyz.azure-api.net
//
// It checks the protected-resource and authorization-server metadata, the 401 challenge on /mcp,
// a dynamic client registration round trip (a throwaway public client with a loopback redirect
// URI; unused registrations expire in the state service), the refusal paths of /authorize and
// /token, and CORS on the metadata. It never signs anyone in and never prints a token: a sign-in,
// a tool call and the on-behalf-of exchange need a person and a client (see README).
// A request that fails in transit (DNS of a new gateway, refused or reset connections, timeouts)
// is retried with bounded backoff; an answer is never retried, so a wrong one fails its check at once.
// It exits 1 when any check fails (saying which command to rerun when the gateway was unreachable),
// 2 on usage errors.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	gateway := flag.String("gateway", os.Getenv("MCP_GATEWAY_URL"), "gateway base URL (default $MCP_GATEWAY_URL)")
	timeout := flag.Duration("timeout", 2*time.Minute, "overall time limit")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	checker, err := New(*gateway, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "selfcheck:", err)
		os.Exit(2)
	}
	results := checker.Run(ctx)
	failed := Print(os.Stdout, checker.Gateway(), results)
	if failed > 0 {
		os.Exit(1)
	}
}
