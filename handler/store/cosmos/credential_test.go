package cosmos

import (
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

func TestNewCredentialChoosesByEnvironment(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"Azure (IDENTITY_ENDPOINT)": {map[string]string{"IDENTITY_ENDPOINT": "http://127.0.0.1:1/msi"}, "mi"},
		"prod":                      {map[string]string{"AZURE_TOKEN_CREDENTIALS": "prod"}, "mi"},
		"local":                     {map[string]string{}, "dev"},
		"dev inside Azure":          {map[string]string{"AZURE_TOKEN_CREDENTIALS": "dev", "IDENTITY_ENDPOINT": "http://x"}, "dev"},
	} {
		cred, err := NewCredential(env(tc.env), "00000000-0000-0000-0000-000000000001")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := "other"
		switch cred.(type) {
		case *azidentity.ManagedIdentityCredential:
			got = "mi"
		case *azidentity.ChainedTokenCredential:
			got = "dev"
		}
		if got != tc.want {
			t.Errorf("%s: got %T, want %s", name, cred, tc.want)
		}
	}
}
