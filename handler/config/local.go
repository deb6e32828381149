package config

import (
	"fmt"
	"log/slog"
	"time"
)

// LocalVariables lists the environment of local (stdio) mode, `handler stdio`, in README
// order ("Local (stdio) mode"). The Entra and Graph variables mean what they mean for the
// server and are checked the same way.
var LocalVariables = []Variable{
	{Name: "AZURE_TENANT_ID", Required: true, Description: "Entra tenant ID (GUID) of the app registrations; the user signs in there."},
	{Name: "ENTRA_LOCAL_CLIENT_ID", Required: true, Description: "Client ID (GUID) of the local-mode public-client app registration (`azd env get-value ENTRA_LOCAL_CLIENT_ID`)."},
	{Name: "ENTRA_AUTHORITY_HOST", Default: "https://login.microsoftonline.com/", Description: "Entra authority host (https); sovereign clouds use their own."},
	{Name: "GRAPH_ENDPOINT", Default: "https://graph.microsoft.com", Description: "Microsoft Graph endpoint (https); its origin is also the resource of the requested scopes."},
	{Name: "GRAPH_RESOURCE", Description: "Resource of the requested Graph scopes; derived as for the server."},
	{Name: "GRAPH_MAX_RETRY_WAIT", Default: "30s", Description: "Longest Retry-After from Graph that is waited out."},
	{Name: "GRAPHMCP_TOKEN_CACHE", Description: "Token cache file; default `<user config dir>/graphmcp/msal-token-cache.json` (mode 0600)."},
	{Name: "GRAPHMCP_BROWSER", Description: "Program that opens the sign-in URL (called with the URL as its only argument) instead of the system browser."},
	{Name: "LOG_LEVEL", Default: "warn", Description: "debug, info, warn or error; logs go to standard error."},
}

// LocalConfig is the validated configuration of local (stdio) mode.
type LocalConfig struct {
	TenantID          string
	ClientID          string // ENTRA_LOCAL_CLIENT_ID
	AuthorityHost     string // always ends in "/"
	GraphEndpoint     string // no trailing "/"
	GraphResource     string // no trailing "/"
	GraphMaxRetryWait time.Duration
	TokenCache        string // "" = tokencache.DefaultPath()
	Browser           string // "" = the system browser
	LogLevel          slog.Level
}

// Authority is the Entra authority URL for the tenant.
func (c LocalConfig) Authority() string { return c.AuthorityHost + c.TenantID }

// LoadLocal reads and validates local mode's configuration through get; like [Load], the error
// has one line per problem.
func LoadLocal(get func(string) string) (LocalConfig, error) {
	var errs []error
	val, bad := reader(get, &errs)
	var c LocalConfig
	c.TenantID = guidVar(val, bad, "AZURE_TENANT_ID", "the Entra tenant ID")
	c.ClientID = guidVar(val, bad, "ENTRA_LOCAL_CLIENT_ID", "the client ID of the local-mode public-client app registration")
	host := val("ENTRA_AUTHORITY_HOST")
	if host == "" {
		host = "https://login.microsoftonline.com/"
	}
	c.AuthorityHost = hostURL(host, "ENTRA_AUTHORITY_HOST", false, bad)
	c.GraphEndpoint, c.GraphResource, c.GraphMaxRetryWait = graphVars(val, bad)
	c.TokenCache = val("GRAPHMCP_TOKEN_CACHE")
	c.Browser = val("GRAPHMCP_BROWSER")
	level := val("LOG_LEVEL")
	if level == "" {
		level = "warn"
	}
	c.LogLevel = logLevelVar(level, bad)
	if len(errs) > 0 {
		return c, fmt.Errorf("invalid configuration for local mode (%d problem(s); see README \"Local (stdio) mode\"):\n  %w", len(errs), joinLines(errs))
	}
	return c, nil
}
