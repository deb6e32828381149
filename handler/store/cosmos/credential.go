package cosmos

import (
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// NewCredential returns the Entra credential for Cosmos DB data-plane RBAC; account keys are
// never used. getenv reads the environment (os.Getenv in production).
//
//   - AZURE_TOKEN_CREDENTIALS=prod, or unset while IDENTITY_ENDPOINT is set (Azure Functions):
//     the user-assigned managed identity managedIdentityClientID (AZURE_CLIENT_ID), or the
//     system-assigned one when it is empty.
//   - AZURE_TOKEN_CREDENTIALS=dev, or unset outside Azure: Azure CLI, then Azure Developer CLI
//     (`az login` / `azd auth login`).
//   - any other value is handed to azidentity.NewDefaultAzureCredential, which accepts a
//     single credential name (e.g. ManagedIdentityCredential) and rejects the rest.
func NewCredential(getenv func(string) string, managedIdentityClientID string) (azcore.TokenCredential, error) {
	mode := getenv("AZURE_TOKEN_CREDENTIALS")
	if mode == "prod" || mode == "" && getenv("IDENTITY_ENDPOINT") != "" {
		var o azidentity.ManagedIdentityCredentialOptions
		if managedIdentityClientID != "" {
			o.ID = azidentity.ClientID(managedIdentityClientID)
		}
		c, err := azidentity.NewManagedIdentityCredential(&o)
		if err != nil {
			return nil, fmt.Errorf("state store: managed identity for Cosmos DB (AZURE_CLIENT_ID %q): %w", managedIdentityClientID, err)
		}
		return c, nil
	}
	if mode == "dev" || mode == "" {
		cli, err := azidentity.NewAzureCLICredential(nil)
		if err != nil {
			return nil, fmt.Errorf("state store: Azure CLI credential: %w", err)
		}
		azd, err := azidentity.NewAzureDeveloperCLICredential(nil)
		if err != nil {
			return nil, fmt.Errorf("state store: Azure Developer CLI credential: %w", err)
		}
		return azidentity.NewChainedTokenCredential([]azcore.TokenCredential{cli, azd}, nil)
	}
	c, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("state store: AZURE_TOKEN_CREDENTIALS=%q: %w (use prod or dev)", mode, err)
	}
	return c, nil
}
