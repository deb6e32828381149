package mcpserver

import (
	"regexp"
	"strings"
	"testing"
)

// TestFastPathMatchesSDK sends the same requests through the fast path and through go-sdk's own
// Streamable HTTP handler (noFastPath) and requires identical replies: status, the headers a
// client reads, and the body byte for byte. Only the random elicitationId of a URL-elicitation
// error is masked. The hot cases must actually take the fast path, and everything else must not.
func TestFastPathMatchesSDK(t *testing.T) {
	fast := newEdge(t, nil)
	sdk := newEdgeWith(t, &edge{obo: &countingOBO{}, graph: &fakeGraph{}}, nil, true)
	call := func(id, name, args string) string {
		return `{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"` + name + `","arguments":` + args + `}}`
	}
	v := func(version string) map[string]string { return map[string]string{"MCP-Protocol-Version": version} }
	meta2026 := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_graph_user_details","arguments":{},"_meta":{` +
		`"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"},` +
		`"io.modelcontextprotocol/clientCapabilities":{"elicitation":{"url":{}}}}}}`
	cases := []struct {
		name, token, body string
		hdr               map[string]string
		wantFast          bool
	}{
		{"valid call", tokNoRole, call("1", "get_graph_user_details", `{}`), nil, true},
		{"valid call 2025-06-18", tokNoRole, call("2", "get_graph_user_details", `{}`), v("2025-06-18"), true},
		{"valid call 2025-11-25, string id", tokNoRole, call(`"abc"`, "list_upcoming_events", `{"top":3,"days":2}`), v("2025-11-25"), true},
		{"negative id", tokNoRole, call("-5", "get_graph_user_details", `{}`), nil, true},
		{"role holder", tokMailRole, call("1", "list_recent_mail", `{}`), nil, true},
		{"invalid arguments", tokNoRole, call("3", "list_upcoming_events", `{"top":-1}`), nil, true},
		{"wrong-typed arguments", tokNoRole, call("3", "list_upcoming_events", `{"top":"5"}`), nil, true},
		{"extra arguments", tokNoRole, call("3", "list_upcoming_events", `{"x":1}`), nil, true},
		{"arguments not an object", tokNoRole, call("3", "list_upcoming_events", `[]`), nil, true},
		{"no arguments", tokNoRole, `{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"get_graph_user_details"}}`, nil, true},
		{"name not a string", tokNoRole, `{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":5}}`, nil, false}, // refused by the gate
		{"unknown tool", tokNoRole, call("5", "no_such_tool", `{}`), nil, true},
		{"hidden tool (case)", tokNoRole, call("5", "LIST_RECENT_MAIL", `{}`), nil, true},
		{"missing consent: tool error", tokConsent, call("6", "get_graph_user_details", `{}`), nil, true},
		{"missing consent: URL elicitation (2026-07-28 _meta)", tokConsent, meta2026,
			map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "get_graph_user_details"}, false},
		{"_meta progress token", tokNoRole, `{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"get_graph_user_details","arguments":{},"_meta":{"progressToken":1}}}`, nil, false},
		{"escaped text", tokNoRole, call("9", "get_graph_user_\\u0064etails", `{}`), nil, false},
		{"float id", tokNoRole, call("1.5", "get_graph_user_details", `{}`), nil, false},
		{"huge id", tokNoRole, call("12345678901234567", "get_graph_user_details", `{}`), nil, false},
		{"null id", tokNoRole, call("null", "get_graph_user_details", `{}`), nil, false},
		{"notification form of tools/call", tokNoRole, `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"get_graph_user_details"}}`, nil, false},
		{"missing params", tokNoRole, `{"jsonrpc":"2.0","id":1,"method":"tools/call"}`, nil, false},
		{"wrong Content-Type", tokNoRole, call("1", "get_graph_user_details", `{}`), map[string]string{"Content-Type": "text/plain"}, false},
		{"Content-Type with charset", tokNoRole, call("1", "get_graph_user_details", `{}`), map[string]string{"Content-Type": "application/json; charset=utf-8"}, true},
		{"Accept JSON only", tokNoRole, call("1", "get_graph_user_details", `{}`), map[string]string{"Accept": "application/json"}, false},
		{"Accept wildcard", tokNoRole, call("1", "get_graph_user_details", `{}`), map[string]string{"Accept": "*/*"}, true},
		{"no Accept", tokNoRole, call("1", "get_graph_user_details", `{}`), map[string]string{"Accept": ""}, false},
		{"unsupported protocol version", tokNoRole, call("1", "get_graph_user_details", `{}`), v("1999-01-01"), false},
		{"no protocol version", tokNoRole, call("1", "get_graph_user_details", `{}`), v(""), false},
		{"2024-11-05", tokNoRole, call("1", "get_graph_user_details", `{}`), v("2024-11-05"), false},
		{"2026-07-28 without _meta", tokNoRole, call("1", "get_graph_user_details", `{}`), v("2026-07-28"), false},
		{"Last-Event-ID", tokNoRole, call("1", "get_graph_user_details", `{}`), map[string]string{"Last-Event-ID": "x"}, false},
		{"session id", tokNoRole, call("1", "get_graph_user_details", `{}`), map[string]string{"Mcp-Session-Id": "abc"}, false},
		{"Mcp-Method header", tokNoRole, call("1", "get_graph_user_details", `{}`), map[string]string{"Mcp-Method": "tools/list"}, false},
		{"Mcp-Name header", tokNoRole, call("1", "get_graph_user_details", `{}`), map[string]string{"Mcp-Name": "other"}, false},
		{"batch", tokNoRole, `[` + call("1", "get_graph_user_details", `{}`) + `]`, nil, false},
		{"batch at 2025-06-18", tokNoRole, `[` + call("1", "get_graph_user_details", `{}`) + `]`, v("2025-06-18"), false},
		{"notification", tokNoRole, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, nil, false},
		{"tools/list", tokNoRole, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, nil, false},
		{"initialize", tokNoRole, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`, v(""), false},
		{"ping", tokNoRole, `{"jsonrpc":"2.0","id":1,"method":"ping"}`, nil, false},
		{"forbidden tool", tokNoRole, call("1", "list_recent_mail", `{}`), nil, false},
		{"no token", "", call("1", "get_graph_user_details", `{}`), nil, false},
	}
	// Of the fast ones, these run the tool with graphtools.Tool.CallDirect; the other fast ones
	// (arguments CallDirect does not take, tools the caller may not see) go through go-sdk's server.
	direct := map[string]bool{"valid call": true, "valid call 2025-06-18": true, "valid call 2025-11-25, string id": true,
		"negative id": true, "role holder": true, "invalid arguments": true, "no arguments": true,
		"missing consent: tool error": true, "Content-Type with charset": true, "Accept wildcard": true}
	elicitationID := regexp.MustCompile(`"elicitationId":"[^"]*"`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, beforeDirect := fast.h.fast.Load(), fast.h.direct.Load()
			got := fast.post(t, tc.token, tc.body, tc.hdr)
			if took := fast.h.fast.Load() > before; took != tc.wantFast {
				t.Errorf("fast path taken: %v, want %v", took, tc.wantFast)
			}
			if took := fast.h.direct.Load() > beforeDirect; took != direct[tc.name] {
				t.Errorf("CallDirect used: %v, want %v", took, direct[tc.name])
			}
			want := sdk.post(t, tc.token, tc.body, tc.hdr)
			if sdk.h.fast.Load() != 0 {
				t.Fatal("the reference handler used the fast path")
			}
			if got.status != want.status {
				t.Errorf("status %d, go-sdk %d", got.status, want.status)
			}
			for _, k := range []string{"Content-Type", "Cache-Control", "Allow", "Www-Authenticate", "Mcp-Session-Id", "Connection"} {
				if g, w := strings.Join(got.header.Values(k), "|"), strings.Join(want.header.Values(k), "|"); g != w {
					t.Errorf("%s %q, go-sdk %q", k, g, w)
				}
			}
			g, w := elicitationID.ReplaceAllString(got.body, "ID"), elicitationID.ReplaceAllString(want.body, "ID")
			if g != w {
				t.Errorf("body\n%s\ngo-sdk\n%s", got.body, want.body)
			}
			t.Logf("%d %.200s", got.status, got.body)
		})
	}
	if fast.obo.n.Load() != sdk.obo.n.Load() || fast.graph.paths.String() != sdk.graph.paths.String() {
		t.Fatalf("the paths reached OBO/Graph differently: %d/%q vs %d/%q", fast.obo.n.Load(), fast.graph.paths.String(), sdk.obo.n.Load(), sdk.graph.paths.String())
	}
}
