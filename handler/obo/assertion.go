package obo

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"golang.org/x/sync/singleflight"
)

// ManagedIdentityAssertion returns an assertion callback that asks the managed identity
// credential for a token whose audience is ficAudience (api://AzureADTokenExchange in the public
// cloud). azidentity caches the token; we only collapse concurrent callers into one request, as
// azidentity does not, so a cold burst of OBO requests costs one managed-identity request.
func ManagedIdentityAssertion(cred azcore.TokenCredential, ficAudience string) func(context.Context) (string, error) {
	var group singleflight.Group
	scopes := []string{ficAudience + "/.default"}
	return func(ctx context.Context) (string, error) {
		v, err, _ := group.Do("assertion", func() (any, error) {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RequestTimeout)
			defer cancel()
			tk, err := cred.GetToken(sctx, policy.TokenRequestOptions{Scopes: scopes})
			return tk.Token, err
		})
		if err != nil {
			return "", err
		}
		return v.(string), nil
	}
}
