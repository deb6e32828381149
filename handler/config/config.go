// Package config turns the process environment into a validated [Config].
//
// Every variable the handler reads is listed in [Variables] (name, whether it is required, its
// default and what it is for), so that README's configuration table and the infrastructure
// cross-checks can enumerate them instead of copying names by hand. [Load] checks every variable
// and reports all problems at once, each naming the variable and the form it expects:
//
//	cfg, err := config.Load(os.Getenv)
//	if err != nil {
//		fmt.Fprintln(os.Stderr, err) // "AZURE_TENANT_ID is required: the Entra tenant ID, a GUID ..."
//		os.Exit(1)
//	}
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Variable describes one environment variable the handler reads.
type Variable struct {
	Name        string
	Required    bool
	Default     string // empty when there is none or when it is derived (see Description)
	Description string
}

// Variables lists every environment variable of the handler, in README order. The state
// store's variables (store.go) are appended to it.
var Variables = []Variable{
	{Name: "FUNCTIONS_CUSTOMHANDLER_PORT", Default: "8080", Description: "TCP port to listen on at 127.0.0.1; set by the Functions host."},
	{Name: "AZURE_TENANT_ID", Required: true, Description: "Entra tenant ID (GUID) whose access tokens are accepted and where OBO runs."},
	{Name: "ENTRA_APP_CLIENT_ID", Required: true, Description: "Client ID (GUID) of the API's Entra app registration: the audience of incoming tokens and the OBO client."},
	{Name: "AZURE_CLIENT_ID", Required: true, Description: "Client ID (GUID) of the function's user-assigned managed identity, the app's federated credential."},
	{Name: "ENTRA_AUTHORITY_HOST", Default: "https://login.microsoftonline.com/", Description: "Entra authority host (https); sovereign clouds use their own."},
	{Name: "ENTRA_API_SCOPE", Default: "access_as_user", Description: "Delegated scope of the API that every token must carry in `scp`."},
	{Name: "ENTRA_V1_ISSUER_HOST", Description: "Issuer host of v1 tokens; derived from the authority: https://sts.windows.net/ (public, US Gov) or https://sts.chinacloudapi.cn/ (China)."},
	{Name: "FIC_AUDIENCE", Description: "Audience of the managed-identity token used as client assertion; derived: api://AzureADTokenExchange (public), ...USGov (login.microsoftonline.us), ...China (login.chinacloudapi.cn)."},
	{Name: "GRAPH_ENDPOINT", Default: "https://graph.microsoft.com", Description: "Microsoft Graph endpoint (https); its origin is also the OBO resource."},
	{Name: "GRAPH_RESOURCE", Description: "Resource (audience) of Graph tokens requested by OBO; derived: the origin of GRAPH_ENDPOINT, or https://graph.microsoft.com when GRAPH_ENDPOINT is a loopback stand-in."},
	{Name: "GRAPH_MAX_RETRY_WAIT", Default: "30s", Description: "Longest Retry-After from Graph that is waited out (Go duration, at most 200s); longer ones fail the tool call."},
	{Name: "MCP_RESOURCE_METADATA_URL", Required: true, Description: "URL of the protected-resource metadata (the gateway's /.well-known/oauth-protected-resource/mcp), sent in 401/403 challenges; https (http only for loopback)."},
	{Name: "MCP_ALLOWED_HOSTS", Description: "Comma-separated Host values accepted on /mcp (WEBSITE_HOSTNAME is added when set); empty accepts any Host."},
	{Name: "WEBSITE_HOSTNAME", Description: "Set by Azure: the app's default host name, added to MCP_ALLOWED_HOSTS when that is set."},
	{Name: "LOG_LEVEL", Default: "info", Description: "debug, info, warn or error."},
}

// Config is the validated configuration of the handler.
type Config struct {
	Port              int
	TenantID          string
	AppClientID       string
	ManagedIdentityID string // AZURE_CLIENT_ID
	AuthorityHost     string // always ends in "/"
	APIScope          string
	V1IssuerHost      string // always ends in "/"
	FICAudience       string
	GraphEndpoint     string // no trailing "/"
	GraphResource     string // no trailing "/"
	GraphMaxRetryWait time.Duration
	ResourceMetadata  string
	AllowedHosts      []string // lower-case, no ports; empty = any
	LogLevel          slog.Level

	// Store configures the state store (store.go).
	Store StoreConfig
	// RuntimeStatsInterval is how often runtime figures are logged; 0 = never (diagnostics.go).
	RuntimeStatsInterval time.Duration
	// DiagnosticsAddr is where package diagnostics listens; "" = off (diagnostics.go).
	DiagnosticsAddr string
}

// Authority is the Entra authority URL for the tenant, e.g. https://login.microsoftonline.com/<tid>.
func (c Config) Authority() string { return c.AuthorityHost + c.TenantID }

// GatewayCallbackURL is the gateway's /oauth-callback, the app's registered redirect URI: the
// origin of MCP_RESOURCE_METADATA_URL (which the gateway serves) + "/oauth-callback". Consent
// links (package obo, ConsentPage) return the user there.
func (c Config) GatewayCallbackURL() string {
	u, err := url.Parse(c.ResourceMetadata)
	if err != nil { // validated by Load
		return ""
	}
	return u.Scheme + "://" + u.Host + "/oauth-callback"
}

// APIScopeURI is the full scope string of the API, e.g. api://<client id>/access_as_user.
func (c Config) APIScopeURI() string { return "api://" + c.AppClientID + "/" + c.APIScope }

// MaxGraphRetryWait is the upper bound accepted for GRAPH_MAX_RETRY_WAIT: the Azure load balancer
// cuts HTTP responses at 230 s, so a longer wait could never reach the client.
const MaxGraphRetryWait = 200 * time.Second

// isGUID reports whether s is ^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$,
// written out: the regexp's counted repetitions cost a compile at every process start.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
		} else if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// reader returns val, which reads a variable through get with surrounding space trimmed, and
// bad, which records one problem with a variable in errs (the message starts with its name).
func reader(get func(string) string, errs *[]error) (val func(string) string, bad func(name, format string, args ...any)) {
	val = func(name string) string { return strings.TrimSpace(get(name)) }
	bad = func(name, format string, args ...any) {
		*errs = append(*errs, fmt.Errorf("%s "+format, append([]any{name}, args...)...))
	}
	return val, bad
}

// Load reads and validates the configuration through get (os.Getenv in production). The
// returned error joins one message per problem.
func Load(get func(string) string) (Config, error) {
	var errs []error
	val, bad := reader(get, &errs)
	orDefault := func(name, def string) string {
		if v := val(name); v != "" {
			return v
		}
		return def
	}

	var c Config

	c.Port = 8080
	if v := val("FUNCTIONS_CUSTOMHANDLER_PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			bad("FUNCTIONS_CUSTOMHANDLER_PORT", "must be a TCP port number 1-65535, got %q", v)
		}
		c.Port = p
	}

	guid := func(name, what string) string { return guidVar(val, bad, name, what) }
	c.TenantID = guid("AZURE_TENANT_ID", "the Entra tenant ID")
	c.AppClientID = guid("ENTRA_APP_CLIENT_ID", "the client ID of the API's app registration")
	c.ManagedIdentityID = guid("AZURE_CLIENT_ID", "the client ID of the function's user-assigned managed identity")

	c.AuthorityHost = hostURL(orDefault("ENTRA_AUTHORITY_HOST", "https://login.microsoftonline.com/"), "ENTRA_AUTHORITY_HOST", false, bad)
	c.APIScope = orDefault("ENTRA_API_SCOPE", "access_as_user")
	if strings.ContainsAny(c.APIScope, " \t\"/") {
		bad("ENTRA_API_SCOPE", "must be a bare scope name such as access_as_user (no spaces, quotes or slashes), got %q", c.APIScope)
	}
	authHost := hostOf(c.AuthorityHost)
	c.V1IssuerHost = orDefault("ENTRA_V1_ISSUER_HOST", defaultV1IssuerHost(authHost))
	c.V1IssuerHost = hostURL(c.V1IssuerHost, "ENTRA_V1_ISSUER_HOST", false, bad)
	c.FICAudience = orDefault("FIC_AUDIENCE", defaultFICAudience(authHost))
	if strings.ContainsAny(c.FICAudience, " \t") {
		bad("FIC_AUDIENCE", "must be a single audience URI such as api://AzureADTokenExchange, got %q", c.FICAudience)
	}

	c.GraphEndpoint, c.GraphResource, c.GraphMaxRetryWait = graphVars(val, bad)

	c.ResourceMetadata = val("MCP_RESOURCE_METADATA_URL")
	if c.ResourceMetadata == "" {
		bad("MCP_RESOURCE_METADATA_URL", "is required: the https URL of the protected-resource metadata, e.g. https://<apim>.azure-api.net/.well-known/oauth-protected-resource/mcp")
	} else if err := checkURL(c.ResourceMetadata, true); err != nil {
		bad("MCP_RESOURCE_METADATA_URL", "%v, got %q", err, c.ResourceMetadata)
	} else if strings.ContainsAny(c.ResourceMetadata, "\"\\") {
		bad("MCP_RESOURCE_METADATA_URL", "must not contain quotes or backslashes, got %q", c.ResourceMetadata)
	}

	if v := val("MCP_ALLOWED_HOSTS"); v != "" {
		for _, h := range strings.Split(v, ",") {
			h = strings.ToLower(strings.TrimSpace(h))
			if h == "" {
				continue
			}
			if strings.ContainsAny(h, "/ @?#") {
				bad("MCP_ALLOWED_HOSTS", "must be a comma-separated list of host names (no scheme or path), got %q", h)
				continue
			}
			c.AllowedHosts = append(c.AllowedHosts, stripPort(h))
		}
		if w := strings.ToLower(val("WEBSITE_HOSTNAME")); w != "" {
			c.AllowedHosts = append(c.AllowedHosts, stripPort(w))
		}
	}

	c.LogLevel = logLevelVar(orDefault("LOG_LEVEL", "info"), bad)

	c.Store = loadStore(get, &errs)
	c.RuntimeStatsInterval = loadRuntimeStats(get, &errs)
	c.DiagnosticsAddr = strings.TrimSpace(get("HANDLER_DIAGNOSTICS_ADDR"))

	if len(errs) > 0 {
		return c, fmt.Errorf("invalid configuration (%d problem(s); see README \"Configuration\"):\n  %w", len(errs), joinLines(errs))
	}
	return c, nil
}

// badFunc records one configuration problem: the variable's name and what is wrong with it.
type badFunc = func(name, format string, args ...any)

// guidVar reads a required GUID variable (lower-cased).
func guidVar(val func(string) string, bad badFunc, name, what string) string {
	v := val(name)
	switch {
	case v == "":
		bad(name, "is required: %s, a GUID like 00000000-0000-0000-0000-000000000000", what)
	case !isGUID(v):
		bad(name, "must be a GUID like 00000000-0000-0000-0000-000000000000 (%s), got %q", what, v)
	}
	return strings.ToLower(v)
}

// graphVars reads GRAPH_ENDPOINT, GRAPH_RESOURCE and GRAPH_MAX_RETRY_WAIT.
func graphVars(val func(string) string, bad badFunc) (endpoint, resource string, maxWait time.Duration) {
	endpoint = val("GRAPH_ENDPOINT")
	if endpoint == "" {
		endpoint = "https://graph.microsoft.com"
	}
	endpoint = strings.TrimSuffix(hostURL(endpoint, "GRAPH_ENDPOINT", false, bad), "/")

	resource = defaultGraphResource(endpoint)
	if v := val("GRAPH_RESOURCE"); v != "" {
		resource = strings.TrimSuffix(hostURL(v, "GRAPH_RESOURCE", false, bad), "/")
	}

	maxWait = 30 * time.Second
	if v := val("GRAPH_MAX_RETRY_WAIT"); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			bad("GRAPH_MAX_RETRY_WAIT", "must be a Go duration such as 30s or 2m, got %q", v)
		case d < 0 || d > MaxGraphRetryWait:
			bad("GRAPH_MAX_RETRY_WAIT", "must be between 0s and %s (responses are cut at 230 s), got %s", MaxGraphRetryWait, d)
		default:
			maxWait = d
		}
	}
	return endpoint, resource, maxWait
}

// logLevelVar parses LOG_LEVEL.
func logLevelVar(v string, bad badFunc) slog.Level {
	switch lv := strings.ToLower(v); lv {
	case "debug":
		return slog.LevelDebug
	case "info":
		return slog.LevelInfo
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		bad("LOG_LEVEL", "must be one of debug, info, warn, error, got %q", lv)
		return slog.LevelInfo
	}
}

// joinLines joins errors one per line, indented, keeping them matchable with errors.Is.
func joinLines(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return &multiError{msg: strings.Join(msgs, "\n  "), errs: errs}
}

type multiError struct {
	msg  string
	errs []error
}

func (m *multiError) Error() string   { return m.msg }
func (m *multiError) Unwrap() []error { return m.errs }

// hostURL validates an https URL with no query or fragment and returns it with a trailing "/".
func hostURL(v, name string, allowLoopbackHTTP bool, bad func(string, string, ...any)) string {
	if err := checkURL(v, allowLoopbackHTTP); err != nil {
		bad(name, "%v, got %q", err, v)
		return v
	}
	if !strings.HasSuffix(v, "/") {
		v += "/"
	}
	return v
}

func checkURL(v string, allowLoopbackHTTP bool) error {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || !u.IsAbs() {
		return errors.New("must be an absolute https URL")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return errors.New("must be an https URL without query, fragment or user info")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if allowLoopbackHTTP && isLoopback(u.Hostname()) {
			return nil
		}
		if allowLoopbackHTTP {
			return errors.New("must use https (http is allowed only for 127.0.0.1, [::1] or localhost)")
		}
	}
	return errors.New("must use https")
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return strings.ToLower(p.Hostname())
}

func stripPort(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
}

func defaultV1IssuerHost(authorityHost string) string {
	if authorityHost == "login.chinacloudapi.cn" || authorityHost == "login.partner.microsoftonline.cn" {
		return "https://sts.chinacloudapi.cn/"
	}
	return "https://sts.windows.net/"
}

func defaultFICAudience(authorityHost string) string {
	switch authorityHost {
	case "login.microsoftonline.us":
		return "api://AzureADTokenExchangeUSGov"
	case "login.chinacloudapi.cn", "login.partner.microsoftonline.cn":
		return "api://AzureADTokenExchangeChina"
	}
	return "api://AzureADTokenExchange"
}

// defaultGraphResource is the origin of the Graph endpoint; a loopback endpoint is a local
// stand-in that impersonates public Graph, whose tokens name https://graph.microsoft.com.
func defaultGraphResource(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return "https://graph.microsoft.com"
	}
	if isLoopback(u.Hostname()) {
		return "https://graph.microsoft.com"
	}
	return u.Scheme + "://" + u.Host
}
