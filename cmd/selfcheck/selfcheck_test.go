package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func run(t *testing.T, g *fakeGateway) []Result {
	t.Helper()
	c, err := New(g.srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.Run(context.Background())
}

func TestPassesAgainstAConformingGateway(t *testing.T) {
	g := newFakeGateway(t)
	results := run(t, g)
	var out bytes.Buffer
	if failed := Print(&out, g.srv.URL, results); failed != 0 {
		t.Fatalf("%d checks failed against a conforming gateway:\n%s", failed, out.String())
	}
	if len(results) != 8 {
		t.Errorf("ran %d checks, want 8", len(results))
	}
	if !strings.Contains(out.String(), "MCP server URL: "+g.srv.URL+"/mcp") {
		t.Errorf("the report does not print the MCP URL:\n%s", out.String())
	}
}

// TestEachFaultFailsItsCheck: one deliberate fault per case; the check that guards against it
// fails with a message saying what differs, and the others still pass.
func TestEachFaultFailsItsCheck(t *testing.T) {
	cases := []struct {
		fault, check, message string
	}{
		{"prm-resource", "protected-resource metadata", `resource is "` /* value follows */},
		{"plain-pkce", "authorization-server metadata", "want S256 and never plain"},
		{"no-cors", "CORS on metadata", "Access-Control-Allow-Origin"},
		{"challenge-without-metadata", "401 challenge on /mcp", "resource_metadata is \"\", want"},
		{"register-accepts-anything", "registration refusals", "want 400 with error"},
		{"open-redirect", "/authorize refusals", "open redirect"},
		{"accepts-plain", "/authorize refusals", "issued an authorization code"},
		{"token-cacheable", "/token refusals", "want no-store"},
	}
	for _, tc := range cases {
		t.Run(tc.fault, func(t *testing.T) {
			results := run(t, newFakeGateway(t, tc.fault))
			for _, r := range results {
				switch {
				case r.Name == tc.check && r.Passed:
					t.Errorf("check %q passed despite fault %s", r.Name, tc.fault)
				case r.Name == tc.check && !strings.Contains(r.Detail, tc.message):
					t.Errorf("check %q failed with %q, want a message containing %q", r.Name, r.Detail, tc.message)
				case r.Name != tc.check && !r.Passed:
					t.Errorf("fault %s also failed %q: %s", tc.fault, r.Name, r.Detail)
				}
			}
		})
	}
}

func TestPRMFaultMessageNamesBothValues(t *testing.T) {
	g := newFakeGateway(t, "prm-resource")
	r := run(t, g)[0]
	want := `resource is "` + g.srv.URL + `/", want "` + g.srv.URL + `/mcp"`
	if r.Passed || !strings.Contains(r.Detail, want) {
		t.Errorf("detail %q, want it to contain %q", r.Detail, want)
	}
	var out bytes.Buffer
	if Print(&out, g.srv.URL, run(t, g)) != 1 || !strings.Contains(out.String(), "FAIL  protected-resource metadata") {
		t.Errorf("report:\n%s", out.String())
	}
}

func TestDependentChecksSayWhyTheyDidNotRun(t *testing.T) {
	results := run(t, newFakeGateway(t, "register-down"))
	for _, r := range results {
		switch r.Name {
		case "dynamic client registration":
			if r.Passed || !strings.Contains(r.Detail, "answered 503, want 201") {
				t.Errorf("registration: %+v", r)
			}
		case "/authorize refusals", "/token refusals":
			if r.Passed || !strings.Contains(r.Detail, "needs the client the registration check creates") {
				t.Errorf("%s: %+v", r.Name, r)
			}
		}
	}
}

func TestNewValidatesTheGatewayURL(t *testing.T) {
	for _, bad := range []string{"", "apim.azure-api.net", "http://apim.azure-api.net", "https://apim.azure-api.net?x=1", "ftp://x"} {
		if _, err := New(bad, nil); err == nil {
			t.Errorf("New(%q) accepted it", bad)
		}
	}
	for _, good := range []string{"https://apim.azure-api.net", "https://apim.azure-api.net/", "http://127.0.0.1:8443", "http://localhost:1"} {
		c, err := New(good, nil)
		if err != nil {
			t.Errorf("New(%q): %v", good, err)
			continue
		}
		if strings.HasSuffix(c.Gateway(), "/") {
			t.Errorf("Gateway() = %q keeps a trailing slash", c.Gateway())
		}
	}
}

func TestParseBearer(t *testing.T) {
	p, ok := parseBearer(`Bearer error="invalid_token", error_description="a \"quoted\", comma", resource_metadata="https://g/.well-known/x", scope=openid`)
	if !ok {
		t.Fatal("not parsed")
	}
	want := map[string]string{"error": "invalid_token", "error_description": `a "quoted", comma`, "resource_metadata": "https://g/.well-known/x", "scope": "openid"}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("%s = %q, want %q", k, p[k], v)
		}
	}
	if _, ok := parseBearer(`Basic realm="x"`); ok {
		t.Error("a Basic challenge parsed as Bearer")
	}
}
