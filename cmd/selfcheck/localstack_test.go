package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"example.com/graphmcp/internal/apimemu"
	"example.com/graphmcp/internal/freeport"
	"example.com/graphmcp/internal/localstack"
)

// TestAgainstTheLocalStack runs the self-check against the real policy files on the APIM emulator,
// backed by the real handler and the Entra/MI/Graph stand-ins (internal/localstack): every check
// passes. Then it starts a second gateway over the same backends whose mcp-resource-url named value
// is wrong — the one deliberate fault — and the self-check fails exactly the metadata check, saying
// which value it got and which it wanted.
func TestAgainstTheLocalStack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	st, err := localstack.Start(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	c, err := New(st.GatewayURL(), &Options{HTTPClient: st.CA.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if failed := Print(&out, c.Gateway(), c.Run(ctx)); failed != 0 {
		t.Fatalf("the self-check failed against the local stack:\n%s", out.String())
	}
	t.Logf("against the local stack:\n%s", out.String())

	// A gateway with one fault: the protected-resource metadata names the wrong resource.
	// Its port must be known for the named values, so it stays bound until the emulator takes it.
	ln, err := freeport.Listen()
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("https://127.0.0.1:%d", freeport.Port(ln))
	nv := st.NamedValues(url, localstack.GatewayOptions{})
	nv["mcp-resource-url"] = url + "/wrong"
	tlsCfg, err := st.CA.ServerTLSConfig("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	gw, err := apimemu.Start(ctx, &apimemu.Options{
		NamedValues: nv, MSIEndpoint: st.MSI.Endpoint(), MSIHeader: st.MSI.Header(),
		TLS: tlsCfg, Listener: ln,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()

	faulty, err := New(gw.URL(), &Options{HTTPClient: st.CA.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	results := faulty.Run(ctx)
	prm := results[0]
	want := `resource is "` + url + `/wrong", want "` + url + `/mcp"`
	if prm.Name != "protected-resource metadata" || prm.Passed || !strings.Contains(prm.Detail, want) {
		t.Errorf("against the faulty gateway the first check gave %+v, want a failure containing %q", prm, want)
	}
	out.Reset()
	if failed := Print(&out, faulty.Gateway(), results); failed == 0 {
		t.Errorf("the report passed a gateway with a wrong resource:\n%s", out.String())
	}
	t.Logf("against the faulty gateway:\n%s", out.String())
}
