package config

import (
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// StoreConfig configures the state store (client registrations and OAuth flow state) and the
// internal API that exposes it to the APIM policies.
type StoreConfig struct {
	// Kind is "embedded" (a bbolt file) or "cosmos".
	Kind string
	// File is the embedded store's path.
	File string
	// CosmosEndpoint is the account URL, e.g. https://acct.documents.azure.com:443/.
	CosmosEndpoint string
	// CosmosDatabase is the database id holding the containers.
	CosmosDatabase string
	// CosmosCreateIfMissing creates database and containers at start (local emulator only;
	// in Azure, Bicep creates them and the identity has data-plane rights only).
	CosmosCreateIfMissing bool
	// ManagedIdentityClientID is AZURE_CLIENT_ID: the user-assigned identity used for Cosmos.
	ManagedIdentityClientID string
	// RequireFunctionsHost makes /internal/ refuse requests that did not come through the
	// Functions host (the function-key-protected "internal" route).
	RequireFunctionsHost bool
}

// Store kinds.
const (
	StoreEmbedded = "embedded"
	StoreCosmos   = "cosmos"
)

var storeVariables = []Variable{
	{Name: "STATE_STORE", Description: "State store: `cosmos` or `embedded` (a local bbolt file); derived: cosmos when COSMOS_ENDPOINT is set, else embedded."},
	{Name: "STATE_FILE", Description: "Path of the embedded store's file; derived: $XDG_STATE_HOME/graphmcp/state.db, else $HOME/.local/state/graphmcp/state.db, else <temp dir>/graphmcp/state.db."},
	{Name: "COSMOS_ENDPOINT", Description: "Cosmos DB account endpoint (https; http only on loopback for the local emulator), e.g. https://<account>.documents.azure.com:443/. Reached with the managed identity (data-plane RBAC), never a key."},
	{Name: "COSMOS_DATABASE", Default: "mcpgateway", Description: "Cosmos DB database id holding the containers clients, transactions, codes and refreshFamilies."},
	{Name: "COSMOS_CREATE_IF_MISSING", Default: "false", Description: "Create the Cosmos database and containers at start (local emulator only; in Azure Bicep creates them)."},
	{Name: "AZURE_TOKEN_CREDENTIALS", Description: "Credential for Cosmos DB: `prod` = managed identity, `dev` = Azure CLI / Azure Developer CLI; derived: prod when IDENTITY_ENDPOINT is set (Azure), else dev."},
	{Name: "INTERNAL_API_REQUIRE_FUNCTIONS_HOST", Default: "false", Description: "Refuse /internal/ requests that lack the X-Azure-Functions-InvocationId header the Functions host adds (set true in Azure)."},
}

func init() { Variables = append(Variables, storeVariables...) }

// cosmosDatabaseOK is ^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$ written out: as a regexp, the counted
// repetition compiles into hundreds of instructions at process start (~3 ms of the cold start).
func cosmosDatabaseOK(s string) bool {
	if len(s) == 0 || len(s) > 255 || s[0] == '_' || s[0] == '-' {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func loadStore(get func(string) string, errs *[]error) StoreConfig {
	val, bad := reader(get, errs)
	boolean := func(name string) bool {
		v := val(name)
		if v == "" {
			return false
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad(name, "must be true or false, got %q", v)
		}
		return b
	}

	s := StoreConfig{
		CosmosEndpoint:          val("COSMOS_ENDPOINT"),
		CosmosDatabase:          val("COSMOS_DATABASE"),
		ManagedIdentityClientID: strings.ToLower(val("AZURE_CLIENT_ID")),
		CosmosCreateIfMissing:   boolean("COSMOS_CREATE_IF_MISSING"),
		RequireFunctionsHost:    boolean("INTERNAL_API_REQUIRE_FUNCTIONS_HOST"),
	}
	switch k := strings.ToLower(val("STATE_STORE")); k {
	case "":
		s.Kind = StoreEmbedded
		if s.CosmosEndpoint != "" {
			s.Kind = StoreCosmos
		}
	case StoreEmbedded, StoreCosmos:
		s.Kind = k
	default:
		bad("STATE_STORE", "must be cosmos or embedded, got %q", k)
	}

	if s.Kind == StoreCosmos {
		if s.CosmosEndpoint == "" {
			bad("COSMOS_ENDPOINT", "is required when STATE_STORE=cosmos: the account URL, e.g. https://<account>.documents.azure.com:443/")
		} else if u, err := url.Parse(s.CosmosEndpoint); err != nil || u.Host == "" || u.User != nil ||
			!(u.Scheme == "https" || u.Scheme == "http" && isLoopbackHost(u.Hostname())) {
			bad("COSMOS_ENDPOINT", "must be an https URL such as https://<account>.documents.azure.com:443/ (http only on loopback), got %q", s.CosmosEndpoint)
		}
	}
	if s.CosmosDatabase == "" {
		s.CosmosDatabase = "mcpgateway"
	} else if !cosmosDatabaseOK(s.CosmosDatabase) {
		bad("COSMOS_DATABASE", "must be letters, digits, '-' or '_' (at most 255), got %q", s.CosmosDatabase)
	}
	if v := val("AZURE_TOKEN_CREDENTIALS"); v != "" && v != "prod" && v != "dev" && s.Kind == StoreCosmos {
		if !regexp.MustCompile(`^[A-Za-z]+Credential$`).MatchString(v) {
			bad("AZURE_TOKEN_CREDENTIALS", "must be prod, dev or a credential type name such as ManagedIdentityCredential, got %q", v)
		}
	}

	s.File = val("STATE_FILE")
	if s.File == "" {
		s.File = defaultStateFile(get)
	} else if !filepath.IsAbs(s.File) {
		abs, err := filepath.Abs(s.File)
		if err != nil {
			bad("STATE_FILE", "must be a file path, got %q", s.File)
		}
		s.File = abs
	}
	return s
}

func defaultStateFile(get func(string) string) string {
	if d := strings.TrimSpace(get("XDG_STATE_HOME")); filepath.IsAbs(d) {
		return filepath.Join(d, "graphmcp", "state.db")
	}
	if h := strings.TrimSpace(get("HOME")); filepath.IsAbs(h) {
		return filepath.Join(h, ".local", "state", "graphmcp", "state.db")
	}
	tmp := strings.TrimSpace(get("TMPDIR"))
	if !filepath.IsAbs(tmp) {
		tmp = "/tmp"
	}
	return filepath.Join(tmp, "graphmcp", "state.db")
}

func isLoopbackHost(h string) bool { return h == "127.0.0.1" || h == "::1" || h == "localhost" }
