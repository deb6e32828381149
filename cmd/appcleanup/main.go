// Command appcleanup is the postdown hook of azure.yaml: it deletes the Entra app registration this
// azd environment created, which `azd down` leaves behind because it lives in the tenant, not in
// the resource group.
//
// It deletes exactly one object: the one whose object id infra/main.bicep recorded in the azd
// environment (ENTRA_APP_OBJECT_ID), after checking that it still has the recorded client id
// (ENTRA_APP_CLIENT_ID). It never searches by display name or any other attribute, so it cannot
// delete another environment's or another person's registration. Without a recorded id it does
// nothing and says so. Entra keeps a deleted registration 30 days among deleted applications; -purge
// removes it from there too (the same checks apply). Run by hand as `go run ./cmd/appcleanup` (azd env values must be loaded, e.g.
// through `azd hooks run postdown`).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

func main() {
	purge := flag.Bool("purge", false, "also remove it from Entra's deleted applications (no restore possible)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	target, err := TargetFromEnv(os.Getenv)
	if errors.Is(err, ErrNothingRecorded) {
		// Nothing this environment may delete; `azd down` itself succeeded, so do not fail it.
		fmt.Fprintln(os.Stderr, "appcleanup:", err)
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "appcleanup:", err)
		os.Exit(1)
	}
	cred, err := azidentity.NewAzureDeveloperCLICredential(&azidentity.AzureDeveloperCLICredentialOptions{TenantID: os.Getenv("AZURE_TENANT_ID")})
	if err != nil {
		fmt.Fprintln(os.Stderr, "appcleanup:", err)
		os.Exit(1)
	}
	msg, err := Delete(ctx, cred, target, *purge, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "appcleanup:", err)
		os.Exit(1)
	}
	fmt.Println("appcleanup:", msg)
}
