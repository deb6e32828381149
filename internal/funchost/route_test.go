package funchost

import "testing"

func TestRouteTemplateMatch(t *testing.T) {
	cases := []struct {
		template string
		path     string
		want     bool
	}{
		{"mcp", "/mcp", true},
		{"mcp", "/MCP", true}, // literals are case-insensitive in ASP.NET Core routing
		{"mcp", "/mcp/", true},
		{"mcp", "/mcp/x", false},
		{"mcp", "/", false},
		{"mcp", "/mcpx", false},
		{"api/mcp", "/api/mcp", true},
		{"api/mcp", "/mcp", false},
		{"internal/{*path}", "/internal", true},
		{"internal/{*path}", "/internal/", true},
		{"internal/{*path}", "/internal/a/b/c", true},
		{"internal/{*path}", "/internalx/a", false},
		{"{*route}", "/", true},
		{"{*route}", "/anything/at/all", true},
		{"items/{id}", "/items/42", true},
		{"items/{id}", "/items", false},
		{"items/{id}", "/items//", false},
		{"items/{id?}", "/items", true},
		{"items/{id?}", "/items/7", true},
		{"items/{id?}", "/items/7/8", false},
		{"", "/", true},
		{"", "/x", false},
	}
	for _, c := range cases {
		rt, err := parseRouteTemplate(c.template)
		if err != nil {
			t.Fatalf("parse %q: %v", c.template, err)
		}
		if got := rt.match(c.path); got != c.want {
			t.Errorf("template %q path %q: match = %v, want %v", c.template, c.path, got, c.want)
		}
	}
}

func TestRouteTemplateRejectsWhatItCannotModel(t *testing.T) {
	for _, tmpl := range []string{
		"items/{id:int}",   // constraint
		"items/{id=5}",     // default
		"files/{name}.txt", // complex segment
		"{*rest}/tail",     // catch-all not last
		"{a?}/b",           // optional not last
		"a//b",             // empty segment
		"{}",               // no name
	} {
		if _, err := parseRouteTemplate(tmpl); err == nil {
			t.Errorf("parseRouteTemplate(%q) succeeded; want an error", tmpl)
		}
	}
}
