// Command appcleanup is the postdown hook of azure.yaml: it deletes the Entra app registration this
// azd environment created, which `azd down` leaves behind because it lives in the tenant, not in
// the resource group.
//
// It deletes exactly the objects whose object ids infra/main.bicep recorded in the azd
// environment: the API app (ENTRA_APP_OBJECT_ID) and local mode's public-client app
// (ENTRA_LOCAL_APP_OBJECT_ID), each after checking that it still has the recorded client id
// (ENTRA_APP_CLIENT_ID, ENTRA_LOCAL_CLIENT_ID). It never searches by display name or any other attribute, so it cannot
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

	// The API app, then local mode's public-client app (infra/modules/entra-local.bicep).
	var targets []Target
	for _, fromEnv := range []func(func(string) string) (Target, error){TargetFromEnv, LocalTargetFromEnv} {
		target, err := fromEnv(os.Getenv)
		if errors.Is(err, ErrNothingRecorded) {
			// Nothing this environment may delete; `azd down` itself succeeded, so do not fail it.
			fmt.Fprintln(os.Stderr, "appcleanup:", err)
			continue
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "appcleanup:", err)
			os.Exit(1)
		}
		targets = append(targets, target)
	}
	if len(targets) == 0 {
		return
	}
	cred, err := azidentity.NewAzureDeveloperCLICredential(&azidentity.AzureDeveloperCLICredentialOptions{TenantID: os.Getenv("AZURE_TENANT_ID")})
	if err != nil {
		fmt.Fprintln(os.Stderr, "appcleanup:", err)
		os.Exit(1)
	}
	for _, target := range targets {
		msg, err := Delete(ctx, cred, target, *purge, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "appcleanup:", err)
			os.Exit(1)
		}
		fmt.Println("appcleanup:", msg)
	}
}
