package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"example.com/graphmcp/handler/graphtools"
)

// richIn has the shapes a user's tool input may have, so that argument handling is compared
// between graphtools.Tool.CallDirect and go-sdk's typed handler beyond the built-in tools' ints.
type richIn struct {
	Name  string   `json:"name" jsonschema:"a required string"`
	Count int      `json:"count,omitempty"`
	Ratio float64  `json:"ratio,omitempty"`
	Tags  []string `json:"tags,omitempty"`
	Opt   *bool    `json:"opt,omitempty"`
	Inner struct {
		A int    `json:"a"`
		B string `json:"b,omitempty"`
	} `json:"inner,omitzero"`
	Items []struct {
		ID uint8 `json:"id"`
	} `json:"items,omitempty"`
	Extra map[string]any  `json:"extra,omitempty"`
	Any   any             `json:"any,omitempty"`
	When  *time.Time      `json:"when,omitempty"`
	Raw   json.RawMessage `json:"raw,omitempty"`
	Num   json.Number     `json:"num,omitempty"`
	Str   int             `json:"str,omitempty,string"`
}

// richTools return what they were given (so the decoded input shows in the reply) or the
// results and failures a tool can produce.
func richTools() []graphtools.Tool {
	echo := func(out func(richIn) (any, error)) func(context.Context, *graphtools.Call, richIn) (any, error) {
		return func(_ context.Context, _ *graphtools.Call, in richIn) (any, error) { return out(in) }
	}
	type none struct{}
	return []graphtools.Tool{
		graphtools.New("echo", "echoes its input", []string{"User.Read"}, "", echo(func(in richIn) (any, error) { return in, nil })),
		graphtools.New("echo_list", "a non-object result", []string{"User.Read"}, "", echo(func(in richIn) (any, error) { return []any{in.Name, in.Count}, nil })),
		graphtools.New("nothing", "no result", []string{"User.Read"}, "", echo(func(richIn) (any, error) { return nil, nil })),
		graphtools.New("typed_nil", "a nil map", []string{"User.Read"}, "", echo(func(richIn) (any, error) { return map[string]any(nil), nil })),
		graphtools.New("invalid", "an input error", []string{"User.Read"}, "", echo(func(in richIn) (any, error) {
			return nil, graphtools.Invalid("argument %q is not <accepted> & never will be", in.Name)
		})),
		graphtools.New("fails", "an unexplained error", []string{"User.Read"}, "", echo(func(richIn) (any, error) { return nil, errors.New("secret detail") })),
		graphtools.New("wire_error", "a JSON-RPC error", []string{"User.Read"}, "", echo(func(richIn) (any, error) {
			return nil, &jsonrpc.Error{Code: -32042, Message: "wire"}
		})),
		graphtools.New("panics", "a panic", []string{"User.Read"}, "", echo(func(richIn) (any, error) { panic("boom") })),
		graphtools.New("unmarshalable", "output JSON cannot encode", []string{"User.Read"}, "", echo(func(richIn) (any, error) { return map[string]any{"f": func() {}}, nil })),
		graphtools.New("no_input", "empty input struct", []string{"User.Read"}, "", func(context.Context, *graphtools.Call, none) (any, error) {
			return map[string]any{"html": "<b>&</b>", "ok": true}, nil
		}),
		graphtools.New("mail_only", "role-gated", []string{"Mail.ReadBasic"}, graphtools.MailRole, echo(func(in richIn) (any, error) { return in, nil })),
	}
}

// directCases are tools/call params: tool name and arguments (raw JSON, "" = absent).
var directCases = []struct{ tool, args string }{
	{"echo", `{"name":"n"}`},
	{"echo", `{"name":"n","count":3,"ratio":0.5,"tags":["a","b"],"opt":false,"inner":{"a":1,"b":"x"},"items":[{"id":255}],"extra":{"k":[1,{"z":null}]},"any":1.5e3}`},
	{"echo", `{"name":"n","count":3.0}`},
	{"echo", `{"name":"n","when":"2026-12-04T08:00:00.5+01:00","raw":{"b":[1, 2],"a":"x"},"num":1.50e3}`},
	{"echo", `{"name":"n","when":"yesterday"}`},
	{"echo", `{"name":"n","when":"2026-12-04T08:00:00.5+01:00"}`},
	{"echo", `{"name":"n","num":"12"}`},
	{"echo", `{"name":"n","str":"42"}`},
	{"echo", `{"name":"n","str":42}`},
	{"echo", `{"name":"n","count":1e2}`},
	{"echo", `{"name":"n","count":3.5}`},
	{"echo", `{"name":"n","items":[{"id":256}]}`},
	{"echo", `{"name":"n","items":[{"id":-1}]}`},
	{"echo", `{"name":"n","count":"3"}`},
	{"echo", `{"name":"n","Count":3}`},
	{"echo", `{"NAME":"n"}`},
	{"echo", `{"name":"n","inner":{"A":1,"a":2}}`},
	{"echo", `{"name":"n","inner":{}}`},
	{"echo", `{"name":"n","opt":null}`},
	{"echo", `{"name":"n","tags":null}`},
	{"echo", `{"name":"n","name":"m"}`},
	{"echo", `{"name":"<script>&amp;\u00e9"}`},
	{"echo", `{"name":"\ud800"}`},
	{"echo", `{}`},
	{"echo", ``},
	{"echo", `null`},
	{"echo", `[]`},
	{"echo", `"x"`},
	{"echo", ` {"name":"spaced"} `},
	{"echo_list", `{"name":"n","count":2}`},
	{"nothing", `{"name":"n"}`},
	{"typed_nil", `{"name":"n"}`},
	{"invalid", `{"name":"n"}`},
	{"fails", `{"name":"n"}`},
	{"wire_error", `{"name":"n"}`},
	{"panics", `{"name":"n"}`},
	{"unmarshalable", `{"name":"n"}`},
	{"no_input", ``},
	{"no_input", `{}`},
	{"no_input", `{"x":1}`},
	{"mail_only", `{"name":"n"}`},
}

// TestCallDirectMatchesSDK runs every case through the fast path (CallDirect where it takes
// the request) and through go-sdk's handler, and requires identical replies.
func TestCallDirectMatchesSDK(t *testing.T) {
	fast, sdk := directEdges(t)
	used := 0
	for _, c := range directCases {
		params := `{"name":"` + c.tool + `"`
		if c.args != "" {
			params += `,"arguments":` + c.args
		}
		body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":` + params + `}}`
		before := fast.h.direct.Load()
		compareEdges(t, fast, sdk, body)
		if fast.h.direct.Load() > before {
			used++
			t.Logf("CallDirect: %s %s", c.tool, c.args)
		}
	}
	// Not a tautology: most cases must take CallDirect, the rest must be handed to go-sdk.
	if used < 15 || used == len(directCases) {
		t.Fatalf("CallDirect served %d of %d cases", used, len(directCases))
	}
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{"name":"n"},"name":"echo"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"name":"n"},"arguments":{}}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"name":"n"},"task":{"ttl":1}}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"name":"n"},"requestState":"s"}}`,
	} {
		compareEdges(t, fast, sdk, body)
	}
}

// FuzzDirectMatchesSDK: for any arguments, CallDirect answers exactly as go-sdk does (or leaves
// the request to it).
func FuzzDirectMatchesSDK(f *testing.F) {
	for _, c := range directCases {
		f.Add(c.tool, c.args)
	}
	fast, sdk := directEdges(f)
	f.Fuzz(func(t *testing.T, tool, args string) {
		if !json.Valid([]byte(args)) {
			args = `"` + regexp.MustCompile(`[^a-z]`).ReplaceAllString(args, "") + `"`
		}
		name, _ := json.Marshal(tool)
		compareEdges(t, fast, sdk, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":`+string(name)+`,"arguments":`+args+`}}`)
	})
}

func directEdges(tb testing.TB) (fast, sdk *edge) {
	tb.Helper()
	fast = newEdgeWith(tb, &edge{obo: &countingOBO{}, graph: &fakeGraph{}, tools: richTools()}, nil, false)
	sdk = newEdgeWith(tb, &edge{obo: &countingOBO{}, graph: &fakeGraph{}, tools: richTools()}, nil, true)
	return fast, sdk
}

// compareEdges sends body to both edges. A reply CallDirect wrote must equal go-sdk's byte for
// byte. A request it handed on was answered by go-sdk on both sides, and go-sdk's own text is
// not always the same twice (with several invalid arguments, which one its validator names
// depends on map order), so there only the status and the kind of answer must agree.
func compareEdges(tb testing.TB, fast, sdk *edge, body string) {
	tb.Helper()
	before := fast.h.direct.Load()
	got, want := fast.post(tb, tokNoRole, body, nil), sdk.post(tb, tokNoRole, body, nil)
	same := got.body == want.body
	if fast.h.direct.Load() == before {
		same = answerKind(got.body) == answerKind(want.body)
	}
	if got.status != want.status || !same ||
		got.header.Get("Content-Type") != want.header.Get("Content-Type") || got.header.Get("Cache-Control") != want.header.Get("Cache-Control") {
		tb.Errorf("%s\nfast path: %d %s %s\ngo-sdk:    %d %s %s", body, got.status, got.header.Get("Content-Type"), got.body,
			want.status, want.header.Get("Content-Type"), want.body)
	}
}

// answerKind is "result", "result isError" or "error <code>" of a JSON-RPC reply.
func answerKind(body string) string {
	var reply struct {
		Result *struct {
			IsError bool `json:"isError"`
		} `json:"result"`
		Error *struct {
			Code int `json:"code"`
		} `json:"error"`
	}
	switch {
	case json.Unmarshal([]byte(body), &reply) != nil:
		return "not JSON: " + body
	case reply.Error != nil:
		return fmt.Sprint("error ", reply.Error.Code)
	case reply.Result != nil && reply.Result.IsError:
		return "result isError"
	case reply.Result != nil:
		return "result"
	}
	return "neither: " + body
}
