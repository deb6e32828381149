package config

import (
	"strings"
	"testing"
	"time"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func valid() map[string]string {
	return map[string]string{
		"AZURE_TENANT_ID":           "72F988BF-86F1-41AF-91AB-2D7CD011DB47",
		"ENTRA_APP_CLIENT_ID":       "11111111-1111-1111-1111-111111111111",
		"AZURE_CLIENT_ID":           "22222222-2222-2222-2222-222222222222",
		"MCP_RESOURCE_METADATA_URL": "https://apim.example.net/.well-known/oauth-protected-resource/mcp",
	}
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(valid()))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 8080 || c.TenantID != "72f988bf-86f1-41af-91ab-2d7cd011db47" || c.AuthorityHost != "https://login.microsoftonline.com/" ||
		c.APIScope != "access_as_user" || c.V1IssuerHost != "https://sts.windows.net/" || c.FICAudience != "api://AzureADTokenExchange" ||
		c.GraphEndpoint != "https://graph.microsoft.com" || c.GraphResource != "https://graph.microsoft.com" ||
		c.GraphMaxRetryWait != 30*time.Second || len(c.AllowedHosts) != 0 {
		t.Fatalf("defaults: %+v", c)
	}
	if c.Authority() != "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47" ||
		c.APIScopeURI() != "api://11111111-1111-1111-1111-111111111111/access_as_user" {
		t.Fatalf("derived: %s %s", c.Authority(), c.APIScopeURI())
	}
}

func TestSovereignCloudDefaults(t *testing.T) {
	for host, want := range map[string][2]string{
		"https://login.microsoftonline.us":  {"api://AzureADTokenExchangeUSGov", "https://sts.windows.net/"},
		"https://login.chinacloudapi.cn/":   {"api://AzureADTokenExchangeChina", "https://sts.chinacloudapi.cn/"},
		"https://login.microsoftonline.com": {"api://AzureADTokenExchange", "https://sts.windows.net/"},
	} {
		e := valid()
		e["ENTRA_AUTHORITY_HOST"] = host
		c, err := Load(env(e))
		if err != nil {
			t.Fatal(err)
		}
		if c.FICAudience != want[0] || c.V1IssuerHost != want[1] || !strings.HasSuffix(c.AuthorityHost, "/") {
			t.Errorf("%s: FIC %q, v1 issuer %q", host, c.FICAudience, c.V1IssuerHost)
		}
	}
}

func TestLoopbackGraphKeepsPublicResource(t *testing.T) {
	e := valid()
	e["GRAPH_ENDPOINT"] = "https://127.0.0.1:4443/"
	e["MCP_ALLOWED_HOSTS"] = "MyApp.azurewebsites.net, other.example:443"
	e["WEBSITE_HOSTNAME"] = "myapp-slot.azurewebsites.net"
	e["MCP_RESOURCE_METADATA_URL"] = "http://127.0.0.1:9000/.well-known/oauth-protected-resource/mcp"
	c, err := Load(env(e))
	if err != nil {
		t.Fatal(err)
	}
	if c.GraphEndpoint != "https://127.0.0.1:4443" || c.GraphResource != "https://graph.microsoft.com" {
		t.Fatalf("graph: %q %q", c.GraphEndpoint, c.GraphResource)
	}
	if strings.Join(c.AllowedHosts, ",") != "myapp.azurewebsites.net,other.example,myapp-slot.azurewebsites.net" {
		t.Fatalf("hosts: %v", c.AllowedHosts)
	}
}

// Every problem is reported at once, each naming its variable and the expected form.
func TestLoadReportsEveryProblem(t *testing.T) {
	_, err := Load(env(map[string]string{
		"FUNCTIONS_CUSTOMHANDLER_PORT": "http",
		"AZURE_TENANT_ID":              "contoso.onmicrosoft.com",
		"ENTRA_AUTHORITY_HOST":         "http://login.microsoftonline.com/",
		"GRAPH_ENDPOINT":               "graph.microsoft.com",
		"GRAPH_MAX_RETRY_WAIT":         "5 minutes",
		"MCP_RESOURCE_METADATA_URL":    "http://apim.example.net/prm",
		"MCP_ALLOWED_HOSTS":            "https://myapp.azurewebsites.net/",
		"LOG_LEVEL":                    "verbose",
		"ENTRA_API_SCOPE":              "api://x/access_as_user",
	}))
	if err == nil {
		t.Fatal("Load accepted a broken environment")
	}
	msg := err.Error()
	for _, want := range []string{
		"FUNCTIONS_CUSTOMHANDLER_PORT must be a TCP port",
		"AZURE_TENANT_ID must be a GUID",
		"ENTRA_APP_CLIENT_ID is required",
		"AZURE_CLIENT_ID is required",
		"ENTRA_AUTHORITY_HOST must use https",
		"GRAPH_ENDPOINT must be an absolute https URL",
		"GRAPH_MAX_RETRY_WAIT must be a Go duration",
		"MCP_RESOURCE_METADATA_URL must use https (http is allowed only for 127.0.0.1",
		"MCP_ALLOWED_HOSTS must be a comma-separated list of host names",
		"LOG_LEVEL must be one of debug, info, warn, error",
		"ENTRA_API_SCOPE must be a bare scope name",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	if !strings.HasPrefix(msg, "invalid configuration (11 problem(s)") {
		t.Errorf("header: %s", strings.SplitN(msg, "\n", 2)[0])
	}
}

func TestRetryWaitBound(t *testing.T) {
	e := valid()
	e["GRAPH_MAX_RETRY_WAIT"] = "201s"
	if _, err := Load(env(e)); err == nil || !strings.Contains(err.Error(), "GRAPH_MAX_RETRY_WAIT must be between 0s and 3m20s") {
		t.Fatalf("err = %v", err)
	}
	e["GRAPH_MAX_RETRY_WAIT"] = "2m"
	if c, err := Load(env(e)); err != nil || c.GraphMaxRetryWait != 2*time.Minute {
		t.Fatalf("c = %v, err = %v", c.GraphMaxRetryWait, err)
	}
}

func TestVariablesAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range Variables {
		if seen[v.Name] {
			t.Errorf("duplicate variable %s", v.Name)
		}
		seen[v.Name] = true
		if v.Description == "" {
			t.Errorf("%s has no description", v.Name)
		}
	}
}
