package config

import (
	"strings"
	"testing"
)

func TestLoadLocal(t *testing.T) {
	env := map[string]string{
		"AZURE_TENANT_ID":       "8C3B3F5E-5A1D-4B7E-9C55-0D7D1A6F2E10",
		"ENTRA_LOCAL_CLIENT_ID": "b7e4d2a1-6c3f-4e8b-9a5d-2f1e0c7b3a94",
		"ENTRA_AUTHORITY_HOST":  "https://login.microsoftonline.us",
		"GRAPH_ENDPOINT":        "https://graph.microsoft.us",
	}
	c, err := LoadLocal(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Authority() != "https://login.microsoftonline.us/8c3b3f5e-5a1d-4b7e-9c55-0d7d1a6f2e10" ||
		c.GraphResource != "https://graph.microsoft.us" || c.LogLevel.String() != "WARN" {
		t.Fatalf("config = %+v", c)
	}
}

// TestLoadLocalReportsEveryProblemOnItsOwnLine: as for the server, one line per variable.
func TestLoadLocalReportsEveryProblemOnItsOwnLine(t *testing.T) {
	env := map[string]string{
		"ENTRA_LOCAL_CLIENT_ID": "not-a-guid",
		"ENTRA_AUTHORITY_HOST":  "http://login.example",
		"GRAPH_MAX_RETRY_WAIT":  "forever",
		"LOG_LEVEL":             "loud",
	}
	_, err := LoadLocal(func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{"AZURE_TENANT_ID is required", "ENTRA_LOCAL_CLIENT_ID must be a GUID", "ENTRA_AUTHORITY_HOST must use https",
		"GRAPH_MAX_RETRY_WAIT must be a Go duration", "LOG_LEVEL must be one of"}
	if len(lines) != len(want)+1 || !strings.Contains(lines[0], "5 problem(s)") {
		t.Fatalf("error has %d lines, want a header and %d problems:\n%v", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.Contains(lines[i+1], w) {
			t.Errorf("line %d = %q, want it to start with %q", i+1, lines[i+1], w)
		}
	}
}
