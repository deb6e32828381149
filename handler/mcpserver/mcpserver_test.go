package mcpserver

import (
	"slices"
	"testing"
)

func TestInspect(t *testing.T) {
	cases := map[string][]string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_recent_mail"}}`:                                    {"list_recent_mail"},
		` [{"method":"tools/list"},{"method":"tools/call","params":{"name":"a"}},{"method":"tools/call","params":{"name":"b"}}]`: {"a", "b"},
		`{"method":"tools/list"}`: nil,
		`not json`:                nil,
	}
	for body, want := range cases {
		if _, got := inspect([]byte(body)); !slices.Equal(got, want) {
			t.Errorf("inspect(%s) = %v, want %v", body, got, want)
		}
	}
}

// FuzzInspect: the tool gate's JSON peek never panics and only lets method-shaped text into logs.
func FuzzInspect(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}`))
	f.Add([]byte(`[{"method":"tools/call","params":{"name":"a"}},{"method":"ping"}]`))
	f.Add([]byte(`{"method":"eyJhbGciOiJSUzI1NiJ9.e30.x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		methods, _ := inspect(body)
		for _, m := range methods {
			if m != "(invalid)" && !methodRE.MatchString(m) {
				t.Fatalf("method %q reached the log unfiltered", m)
			}
		}
	})
}
