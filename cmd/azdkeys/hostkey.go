package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"example.com/graphmcp/internal/azureerror"
)

// Why the host key is set here and not in Bicep: a Microsoft.Web/sites/host/functionKeys resource
// is a call into the Functions host's admin API, and a Flex Consumption app that has no package
// yet has no host to answer it — the deployment fails with BadRequest (azure-functions-host
// #11379, also seen on other plans: "Encountered an error (…) from host runtime"). `azd up`
// provisions before it deploys, so the key can only be set after the deploy: the handler
// service's postdeploy hook runs `go run ./cmd/azdkeys -set-function-key`, which PUTs the value
// generated once per environment (FUNCTION_KEY, also in Key Vault for the gateway) through the
// documented ARM operation "Web Apps - Create Or Update Host Secret". The PUT is idempotent, so it
// runs on every deploy.

// HostKeyAPIVersion is the Microsoft.Web API version of the host-secret operation.
const HostKeyAPIVersion = "2024-04-01"

// GatewayKeyName is the host key the gateway presents as x-functions-key (never the master key).
const GatewayKeyName = "apim-gateway"

// HostKeyTarget names the function app whose host key is set and how ARM is reached.
type HostKeyTarget struct {
	// ARMEndpoint is environment().resourceManager of the cloud, e.g. https://management.azure.com/.
	ARMEndpoint    string
	SubscriptionID string
	ResourceGroup  string
	FunctionApp    string
	KeyName        string
}

// HostKeyOptions are the knobs of SetHostKey; nil means the defaults.
type HostKeyOptions struct {
	// Client sends the requests; nil means a client with a 60 s timeout.
	Client *http.Client
	// Attempts bounds the tries while the freshly deployed host is still starting (default 12).
	Attempts int
	// Wait sleeps between attempts (default: 10 s, or until ctx ends). Tests replace it.
	Wait func(ctx context.Context, attempt int) error
}

var (
	subscriptionRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	// Resource-group and site names as ARM allows them; anything else is refused before a request.
	resourceGroupRE = regexp.MustCompile(`^[-\w._()]{1,90}$`)
	siteNameRE      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,58}$`)
	keyNameRE       = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// TargetFromEnv reads the target from the variables azd gives every hook: AZURE_SUBSCRIPTION_ID
// (azd's own) and the outputs of infra/main.bicep.
func TargetFromEnv(getenv func(string) string) (HostKeyTarget, error) {
	t := HostKeyTarget{
		ARMEndpoint:    getenv("AZURE_RESOURCE_MANAGER_ENDPOINT"),
		SubscriptionID: getenv("AZURE_SUBSCRIPTION_ID"),
		ResourceGroup:  getenv("AZURE_RESOURCE_GROUP"),
		FunctionApp:    getenv("AZURE_FUNCTION_APP_NAME"),
		KeyName:        GatewayKeyName,
	}
	if t.ARMEndpoint == "" {
		t.ARMEndpoint = "https://management.azure.com/"
	}
	if u, err := url.Parse(t.ARMEndpoint); err != nil || u.Scheme != "https" || u.Host == "" {
		return t, fmt.Errorf("AZURE_RESOURCE_MANAGER_ENDPOINT is not an https URL; run `azd provision` so that infra/main.bicep outputs it")
	}
	return t, t.validate()
}

func (t HostKeyTarget) validate() error {
	switch {
	case !subscriptionRE.MatchString(t.SubscriptionID):
		return fmt.Errorf("AZURE_SUBSCRIPTION_ID is missing or not a GUID; select the environment with `azd env select`")
	case !resourceGroupRE.MatchString(t.ResourceGroup):
		return fmt.Errorf("AZURE_RESOURCE_GROUP is missing or not a resource-group name; run `azd provision` first")
	case !siteNameRE.MatchString(t.FunctionApp):
		return fmt.Errorf("AZURE_FUNCTION_APP_NAME is missing or not a function-app name; run `azd provision` first")
	case !keyNameRE.MatchString(t.KeyName):
		return fmt.Errorf("host key name %q is not valid (letters, digits, - and _)", t.KeyName)
	}
	return nil
}

// URL is the ARM resource URL of the host key.
func (t HostKeyTarget) URL() string {
	return fmt.Sprintf("%s/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Web/sites/%s/host/default/functionKeys/%s?api-version=%s",
		strings.TrimSuffix(t.ARMEndpoint, "/"), url.PathEscape(t.SubscriptionID), url.PathEscape(t.ResourceGroup),
		url.PathEscape(t.FunctionApp), url.PathEscape(t.KeyName), HostKeyAPIVersion)
}

// SetHostKey creates or updates the host key with value, retrying while the host is not ready
// (429, 5xx, or a 400 that reports a host-runtime error). Errors carry the status and ARM's error
// code, never the value or the response body (a successful response echoes the key).
func SetHostKey(ctx context.Context, cred azcore.TokenCredential, t HostKeyTarget, value string, opts *HostKeyOptions) error {
	if err := t.validate(); err != nil {
		return err
	}
	if !functionKey.MatchString(value) {
		return fmt.Errorf("FUNCTION_KEY is missing or not 54 URL-safe base64 characters (length %d); run `go run ./cmd/azdkeys` and `azd provision`", len(value))
	}
	o := HostKeyOptions{}
	if opts != nil {
		o = *opts
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 60 * time.Second}
	}
	if o.Attempts <= 0 {
		o.Attempts = 12
	}
	if o.Wait == nil {
		o.Wait = func(ctx context.Context, _ int) error {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Second):
				return nil
			}
		}
	}
	body, err := json.Marshal(map[string]any{"properties": map[string]string{"name": t.KeyName, "value": value}})
	if err != nil {
		return err
	}
	scope := strings.TrimSuffix(t.ARMEndpoint, "/") + "/.default"

	var last error
	for attempt := 1; attempt <= o.Attempts; attempt++ {
		if attempt > 1 {
			if err := o.Wait(ctx, attempt); err != nil {
				return fmt.Errorf("setting host key %s: %w (last failure: %v)", t.KeyName, err, last)
			}
		}
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
		if err != nil {
			return fmt.Errorf("getting an Azure Resource Manager token: %w; sign in with `azd auth login`", err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, t.URL(), bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := o.Client.Do(req)
		if err != nil {
			last = fmt.Errorf("request failed: %w", err)
			continue
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated {
			return nil
		}
		code, msg := azureerror.Parse(raw) // msg is only inspected: it could quote the request
		last = fmt.Errorf("HTTP %d %s", resp.StatusCode, code)
		if !retryable(resp.StatusCode, msg) {
			return fmt.Errorf("setting host key %s on %s: %v; check that you may write to the function app (Contributor or Website Contributor)", t.KeyName, t.FunctionApp, last)
		}
	}
	return fmt.Errorf("setting host key %s on %s: the Functions host did not accept it after %d attempts (last: %v); run `azd deploy` again", t.KeyName, t.FunctionApp, o.Attempts, last)
}

// retryable: throttling, server errors, and the 400 ARM returns while the host is starting.
func retryable(status int, msg string) bool {
	switch {
	case status == http.StatusTooManyRequests, status >= 500:
		return true
	case status == http.StatusBadRequest, status == http.StatusConflict:
		return strings.Contains(strings.ToLower(msg), "host runtime")
	}
	return false
}

// setFunctionKeyFromEnv is the -set-function-key mode: the target and the value come from the
// environment azd gives the hook; the credential is azd's own sign-in.
func setFunctionKeyFromEnv(ctx context.Context) error {
	t, err := TargetFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	cred, err := azidentity.NewAzureDeveloperCLICredential(&azidentity.AzureDeveloperCLICredentialOptions{TenantID: os.Getenv("AZURE_TENANT_ID")})
	if err != nil {
		return err
	}
	return SetHostKey(ctx, cred, t, os.Getenv("FUNCTION_KEY"), nil)
}
