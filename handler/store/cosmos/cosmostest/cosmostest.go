// Package cosmostest runs the offline Cosmos DB (@vercel/cosmosdb-server from e2e/node_modules)
// for tests, and holds the test-only client settings its quirks need.
//
//	endpoint := cosmostest.Start(t)               // http://127.0.0.1:<port>/, stopped at cleanup
//	st, _ := cosmos.New(endpoint, cosmostest.Credential{}, &cosmos.Options{
//		Database: cosmostest.NewDatabaseName(), CreateIfMissing: true,
//		ClientOptions: cosmostest.ClientOptions(),
//	})
//
// Quirks handled here (see the project's facts on the emulator): it is started with --no-ssl
// because its bundled certificate expired in 2021; a point read of a missing item answers 500
// unless the request carries x-ms-documentdb-query-enablecrosspartition (ReadFix adds it, then
// the server answers 404 like real Cosmos); it has no TTL (the store checks expires_at itself);
// it checks no authentication, so Credential returns a constant token.
package cosmostest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"example.com/graphmcp/internal/testdeps"
)

var ready = regexp.MustCompile(`Ready to accept HTTP connections at 127\.0\.0\.1:(\d+)`)

// Start launches cosmosdb-server on a free loopback port and returns its endpoint URL.
func Start(tb testing.TB) string {
	tb.Helper()
	return StartWithOutput(tb, nil)
}

// StartWithOutput is Start that also copies every line the server prints (stdout and stderr)
// to out, when out is not nil (for tests that scan every log for secrets).
func StartWithOutput(tb testing.TB, out io.Writer) string {
	tb.Helper()
	node := testdeps.Node22(tb)
	cli := filepath.Join(testdeps.NodeModules(tb), "@vercel", "cosmosdb-server", "lib", "cli.js")
	cmd := exec.Command(node, cli, "--port", "0", "--host", "127.0.0.1", "--no-ssl")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if out != nil {
		cmd.Stderr = io.MultiWriter(&stderr, out)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start cosmosdb-server: %v", err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		copyLine := func() {
			if out != nil {
				fmt.Fprintln(out, sc.Text())
			}
		}
		for sc.Scan() {
			copyLine()
			if m := ready.FindStringSubmatch(sc.Text()); m != nil {
				port <- m[1]
				break
			}
		}
		close(port)
		for sc.Scan() { // keep draining so the server never blocks on a full pipe
			copyLine()
		}
	}()
	select {
	case p, ok := <-port:
		if !ok {
			tb.Fatalf("cosmosdb-server exited before it was ready: %s", stderr.String())
		}
		return "http://127.0.0.1:" + p + "/"
	case <-time.After(60 * time.Second): // a bound on a hung start, not a timing assertion
		tb.Fatalf("cosmosdb-server did not report readiness within 60s: %s", stderr.String())
	}
	return ""
}

var dbCounter atomic.Int64

// NewDatabaseName returns a database id unique within the test process, so that every store
// opened on one emulator starts empty.
func NewDatabaseName() string {
	return fmt.Sprintf("test%d_%d", time.Now().UnixNano(), dbCounter.Add(1))
}

// Credential is a constant token credential; the emulator does not check authentication, but
// it lets the store run through azcosmos' Entra code path exactly as in Azure.
type Credential struct{}

// GetToken returns a fixed fake token.
func (Credential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "emulator-does-not-check", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// ReadFix makes the emulator answer 404 instead of 500 on a point read of a missing item.
// Test-only: real Cosmos DB answers 404 by itself.
type ReadFix struct{}

// Do adds the header on GET …/docs/{id}.
func (ReadFix) Do(req *policy.Request) (*http.Response, error) {
	r := req.Raw()
	if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/docs/") {
		r.Header.Set("x-ms-documentdb-query-enablecrosspartition", "true")
	}
	return req.Next()
}

// ClientOptions returns azcosmos options for the emulator: ReadFix and quick retries.
func ClientOptions() *azcosmos.ClientOptions {
	o := &azcosmos.ClientOptions{}
	o.PerCallPolicies = []policy.Policy{ReadFix{}}
	o.Retry.MaxRetries = 3
	o.Retry.RetryDelay = 10 * time.Millisecond
	o.Retry.MaxRetryDelay = 50 * time.Millisecond
	return o
}
