// Command azdkeys is the preprovision hook of azure.yaml: it makes sure the current azd environment
// holds the gateway's key material (token encryption and MAC keys with a key id, the consent-cookie
// key, the function key), generating each one at most once per environment.
//
// A value already in the environment is never replaced — re-provisioning must not invalidate
// issued tokens, cookies or the function key — and a malformed one stops the hook instead of being
// silently regenerated. Values are read with `azd env get-values --output json` and written with
// `azd env set --file` from a 0600 temporary file, so no key appears on a command line, in the
// output, or in a log. Bicep receives them as @secure() parameters (infra/main.parameters.json)
// and stores them in Key Vault.
//
// `go run ./cmd/azdkeys -rotate` rotates the token keys: the current ones become the previous ones
// (still accepted by the gateway until the tokens they sealed expire) and fresh ones are generated.
//
// `go run ./cmd/azdkeys -set-function-key` is the handler service's postdeploy hook: it sets the
// function app's host key apim-gateway to FUNCTION_KEY through ARM, once the host exists (see
// hostkey.go for why Bicep cannot).
//
// It is written in Go so that the same `go run ./cmd/azdkeys` works under sh and pwsh.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"
)

func main() {
	rotate := flag.Bool("rotate", false, "move the current token keys to the previous slots and generate new ones (then run `azd provision`)")
	setKey := flag.Bool("set-function-key", false, "set the function app's apim-gateway host key to FUNCTION_KEY (postdeploy hook)")
	flag.Parse()
	if *setKey {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		err := setFunctionKeyFromEnv(ctx)
		cancel()
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "azdkeys:", err)
			os.Exit(1)
		}
		fmt.Println("azdkeys: host key " + GatewayKeyName + " set on the function app")
		return
	}
	ensure := Ensure
	if *rotate {
		ensure = Rotate
	}
	report, err := ensure(AzdEnv{}, Keys)
	for _, line := range report {
		fmt.Println("azdkeys:", line)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "azdkeys:", err)
		os.Exit(1)
	}
}
