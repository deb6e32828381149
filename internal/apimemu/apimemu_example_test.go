package apimemu_test

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"example.com/graphmcp/internal/apimemu"
)

// Start runs the gateway's policies locally; outbound hosts are mapped onto stand-ins and the
// managed identity comes from a local IDENTITY_ENDPOINT.
func ExampleStart() {
	gw, err := apimemu.Start(context.Background(), &apimemu.Options{
		NamedValues: map[string]string{"function-key": "local-key" /* … every declared named value */},
		HostMap:     map[string]string{"login.microsoftonline.com": "https://127.0.0.1:9443"},
		MSIEndpoint: "http://127.0.0.1:9444/msi/token",
		MSIHeader:   "local-secret",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer gw.Close()
	resp, err := http.Get(gw.URL() + "/.well-known/oauth-protected-resource")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, len(body) > 0)
	events, _ := gw.Events() // audit traces written while serving the request
	fmt.Println(len(events) >= 0)
}
