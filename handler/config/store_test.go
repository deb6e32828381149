package config

import (
	"errors"
	"strings"
	"testing"
)

func loadStoreFrom(env map[string]string) (StoreConfig, []error) {
	var errs []error
	s := loadStore(func(k string) string { return env[k] }, &errs)
	return s, errs
}

func TestLoadStoreDefaults(t *testing.T) {
	s, errs := loadStoreFrom(map[string]string{"HOME": "/home/u", "AZURE_CLIENT_ID": "ABC"})
	if len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
	if s.Kind != StoreEmbedded || s.File != "/home/u/.local/state/graphmcp/state.db" || s.CosmosDatabase != "mcpgateway" ||
		s.RequireFunctionsHost || s.ManagedIdentityClientID != "abc" {
		t.Fatalf("defaults: %+v", s)
	}
	s, _ = loadStoreFrom(map[string]string{"XDG_STATE_HOME": "/state"})
	if s.File != "/state/graphmcp/state.db" {
		t.Fatalf("XDG_STATE_HOME: %s", s.File)
	}
	s, _ = loadStoreFrom(map[string]string{})
	if s.File != "/tmp/graphmcp/state.db" {
		t.Fatalf("no HOME: %s", s.File)
	}
	s, errs = loadStoreFrom(map[string]string{"COSMOS_ENDPOINT": "https://acct.documents.azure.com:443/", "INTERNAL_API_REQUIRE_FUNCTIONS_HOST": "true"})
	if len(errs) > 0 || s.Kind != StoreCosmos || !s.RequireFunctionsHost {
		t.Fatalf("cosmos by endpoint: %+v %v", s, errs)
	}
	s, errs = loadStoreFrom(map[string]string{"STATE_STORE": "embedded", "COSMOS_ENDPOINT": "https://acct.documents.azure.com:443/", "STATE_FILE": "/data/s.db"})
	if len(errs) > 0 || s.Kind != StoreEmbedded || s.File != "/data/s.db" {
		t.Fatalf("explicit embedded: %+v %v", s, errs)
	}
	s, errs = loadStoreFrom(map[string]string{"STATE_STORE": "cosmos", "COSMOS_ENDPOINT": "http://127.0.0.1:8081/", "COSMOS_CREATE_IF_MISSING": "1"})
	if len(errs) > 0 || !s.CosmosCreateIfMissing {
		t.Fatalf("loopback emulator: %+v %v", s, errs)
	}
}

func TestLoadStoreErrorsNameTheVariable(t *testing.T) {
	for env, variable := range map[string]string{
		"STATE_STORE=redis":                              "STATE_STORE",
		"STATE_STORE=cosmos":                             "COSMOS_ENDPOINT",
		"COSMOS_ENDPOINT=http://acct.example.com/":       "COSMOS_ENDPOINT",
		"COSMOS_ENDPOINT=acct.documents.azure.com":       "COSMOS_ENDPOINT",
		"COSMOS_DATABASE=bad name":                       "COSMOS_DATABASE",
		"INTERNAL_API_REQUIRE_FUNCTIONS_HOST=yes-please": "INTERNAL_API_REQUIRE_FUNCTIONS_HOST",
		"COSMOS_CREATE_IF_MISSING=maybe":                 "COSMOS_CREATE_IF_MISSING",
	} {
		k, v, _ := strings.Cut(env, "=")
		_, errs := loadStoreFrom(map[string]string{k: v})
		if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), variable+" ") {
			t.Errorf("%s: errors %v, want one naming %s", env, errs, variable)
		}
	}
}

func TestStoreVariablesListed(t *testing.T) {
	names := map[string]bool{}
	for _, v := range Variables {
		names[v.Name] = true
	}
	for _, want := range []string{"STATE_STORE", "STATE_FILE", "COSMOS_ENDPOINT", "COSMOS_DATABASE", "INTERNAL_API_REQUIRE_FUNCTIONS_HOST"} {
		if !names[want] {
			t.Errorf("%s missing from config.Variables", want)
		}
	}
}
