package graphtools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	segjson "github.com/segmentio/encoding/json"
)

// CallDirect runs the tool for req as go-sdk's typed tool handler (mcp.AddTool) would, without
// go-sdk's dispatch: defaults and validation against the same input schema object, the same
// function, the same result (structured content with its JSON as text, or the error as a tool
// error, or a JSON-RPC error as is). go-sdk v1.8.0 decodes a tools/call four times on its way to
// a tool, each with a fresh 32 KiB decoder buffer — three quarters of the handler's allocation
// per call (docs/performance.md); this is the workaround, used by the /mcp fast path only.
//
// ok is false, and nothing has run, when the arguments are not a case it mirrors exactly: not
// absent and not a JSON object, not decodable, or invalid for the schema. The caller then hands
// the request to go-sdk, which answers with its own error. mcpserver.TestFastPathMatchesSDK,
// TestCallDirectMatchesSDK and FuzzDirectMatchesSDK compare both paths.
func (t Tool) CallDirect(ctx context.Context, d *Deps, req *mcp.CallToolRequest) (res *mcp.CallToolResult, ok bool, err error) {
	return t.direct(ctx, d, req)
}

// inputSchema infers In's input schema the way mcp.AddTool does (once per tool, at first use):
// the same *jsonschema.Schema is given to go-sdk, so both paths validate against one object.
func inputSchema[In any](name string) (*jsonschema.Schema, *jsonschema.Resolved) {
	schema, err := jsonschema.ForType(reflect.TypeFor[In](), &jsonschema.ForOptions{})
	if err == nil {
		var resolved *jsonschema.Resolved
		if resolved, err = schema.Resolve(&jsonschema.ResolveOptions{ValidateDefaults: true}); err == nil {
			return schema, resolved
		}
	}
	// A programming error in a tool definition, found when the first server is built, as
	// go-sdk's AddTool would find it.
	panic(fmt.Sprintf("graphtools: tool %s: input schema: %v", name, err))
}

// decodeArgs is go-sdk's argument handling for the plain cases: arguments absent or an object,
// defaults applied, validated, re-encoded and decoded into In. Both decodes use the decoder
// go-sdk's internal/json wraps (segmentio, case-sensitive keys) with the flags it sets, through
// its in-memory Parse rather than the streaming Decoder that allocates the 32 KiB buffer, so In
// is filled exactly as go-sdk fills it (encoding/json differs, e.g. it takes "12" for a
// json.Number). The gate has already bounded the nesting as go-sdk does.
func decodeArgs[In any](args json.RawMessage, resolved *jsonschema.Resolved) (in In, ok bool) {
	m := map[string]any{}
	if len(args) > 0 {
		if !isObject(args) || !parseLikeSDK(args, &m) {
			return in, false
		}
	}
	var v any = m
	if resolved.ApplyDefaults(&v) != nil || resolved.Validate(&v) != nil {
		return in, false
	}
	data, err := json.Marshal(v) // go-sdk re-encodes with encoding/json too
	if err != nil || !parseLikeSDK(data, &in) {
		return in, false
	}
	return in, true
}

// parseLikeSDK decodes one JSON value as go-sdk's internal/json.Unmarshal does.
func parseLikeSDK(data []byte, v any) bool {
	_, err := segjson.Parse(data, v, segjson.DontMatchCaseInsensitiveStructFields)
	return err == nil
}

// toolResult is what go-sdk makes of a typed handler's return values (for Out = any, which has
// no output schema) and then of the result in its tools/call method.
func toolResult(res *mcp.CallToolResult, out any, err error) (*mcp.CallToolResult, error) {
	if err != nil {
		if wire, ok := err.(*jsonrpc.Error); ok {
			return nil, wire
		}
		var failed mcp.CallToolResult
		failed.SetError(err)
		return &failed, nil
	}
	if res == nil {
		res = &mcp.CallToolResult{}
	}
	if out != nil {
		data, err := json.Marshal(out)
		if err != nil {
			return nil, fmt.Errorf("marshaling output: %w", err)
		}
		res.StructuredContent = json.RawMessage(data)
		if res.Content == nil {
			res.Content = []mcp.Content{&mcp.TextContent{Text: string(data)}}
		} else if !isObject(data) {
			res.Content = append(res.Content, &mcp.TextContent{Text: string(data)})
		}
	}
	if res.Content == nil {
		res.Content = []mcp.Content{} // go-sdk avoids "content": null
	}
	return res, nil
}

// isObject reports whether JSON text is an object (go-sdk's isObjectJSON).
func isObject(data []byte) bool {
	data = bytes.TrimLeft(data, " \t\r\n")
	return len(data) > 0 && data[0] == '{'
}
