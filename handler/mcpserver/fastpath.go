package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"example.com/graphmcp/handler/bearer"
	"example.com/graphmcp/handler/logging"
	"example.com/graphmcp/handler/tokenverify"
)

// The fast path serves the hot request — one JSON-RPC tools/call POSTed on its own — without
// go-sdk's Streamable HTTP transport, which decodes such a request seven times with go-sdk's
// JSON decoder (32 KiB of garbage each, docs/performance.md) before its server decodes it four
// more times. The gate has already read the envelope with encoding/json. Then:
//
//  1. params of exactly "name" and "arguments", for a tool the caller may use, with arguments
//     that validate: the tool runs through [graphtools.Tool.CallDirect] (go-sdk's typed-handler
//     contract with the same schema, decoder, function and result types) and the reply is
//     encoded with go-sdk's jsonrpc encoder (serveDirect);
//  2. otherwise the fast path builds the *jsonrpc.Request and hands it to the same *mcp.Server
//     through [mcp.Server.Connect] on a one-message in-memory connection, with the session state
//     go-sdk's stateless mode synthesizes, and go-sdk dispatches: tool lookup, argument decoding,
//     schema validation, the handler, errors and the result encoding are its own.
//
// Anything unusual goes to go-sdk's handler instead: batches, notifications, other methods,
// headers its transport would check beyond the basics (Mcp-Session-Id, Mcp-Method, Mcp-Name,
// Mcp-Param-*, Last-Event-ID), a missing or newer protocol version, a "_meta" key or a \u
// escape in the params, ids that are not plain strings or small integers, MCPGODEBUG set. The
// differential tests (TestFastPathMatchesSDK, TestCallDirectMatchesSDK, FuzzDirectMatchesSDK)
// send the same requests both ways and compare the replies.

// fastVersions are the Mcp-Protocol-Version values served on the fast path: those go-sdk
// v1.8.0 accepts for which its stateless transport applies no per-request _meta rules.
var fastVersions = map[string]bool{"2025-03-26": true, "2025-06-18": true, "2025-11-25": true}

type parsedKey struct{}

// withParsed hands the gate's reading of a single-message body to [Handler.dispatch].
func withParsed(r *http.Request, msg *request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), parsedKey{}, msg))
}

// dispatch serves r on the fast path when it qualifies, through go-sdk's handler otherwise.
func (h *Handler) dispatch(sdk http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if msg, _ := r.Context().Value(parsedKey{}).(*request); msg != nil && !h.opts.noFastPath {
			if id, version, ok := fastEligible(r, msg); ok {
				h.serveCall(w, r, msg, id, version)
				return
			}
		}
		sdk.ServeHTTP(w, r)
	})
}

// fastEligible reports whether go-sdk's stateless transport would pass r through every check
// to the server unchanged, for the message msg; each condition is at least as strict as its.
func fastEligible(r *http.Request, msg *request) (jsonrpc.ID, string, bool) {
	if r.Method != http.MethodPost || msg.method != "tools/call" {
		return jsonrpc.ID{}, "", false
	}
	version := r.Header.Get("Mcp-Protocol-Version")
	if !fastVersions[version] {
		return jsonrpc.ID{}, "", false
	}
	for k := range r.Header {
		if k == "Last-Event-Id" || (strings.HasPrefix(k, "Mcp-") && k != "Mcp-Protocol-Version") {
			return jsonrpc.ID{}, "", false
		}
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/json" {
		return jsonrpc.ID{}, "", false
	}
	if !acceptsBoth(r.Header.Values("Accept")) {
		return jsonrpc.ID{}, "", false
	}
	p := msg.params
	if len(p) == 0 || p[0] != '{' || bytes.Contains(p, []byte("_meta")) || bytes.Contains(p, []byte(`\u`)) {
		return jsonrpc.ID{}, "", false
	}
	id, ok := plainID(msg.id)
	return id, version, ok
}

// plainID converts a JSON-RPC id the way go-sdk does (strings as they are, numbers through
// float64), for the ids where that cannot be ambiguous: strings without escapes, integers of
// at most 15 digits.
func plainID(raw json.RawMessage) (jsonrpc.ID, bool) {
	var v any
	switch {
	case len(raw) >= 2 && raw[0] == '"' && bytes.IndexByte(raw, '\\') < 0:
		v = string(raw[1 : len(raw)-1])
	case len(raw) > 0 && len(raw) <= 16 && bytes.IndexAny(raw, ".eE") < 0:
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil || (raw[0] != '-' && len(raw) > 15) {
			return jsonrpc.ID{}, false
		}
		v = float64(n)
	default:
		return jsonrpc.ID{}, false
	}
	id, err := jsonrpc.MakeID(v)
	return id, err == nil && id.IsValid()
}

// acceptsBoth is go-sdk's Accept rule: application/json and text/event-stream (or wildcards).
func acceptsBoth(values []string) bool {
	jsonOK, streamOK := false, false
	for _, value := range values {
		for raw := range strings.SplitSeq(value, ",") {
			base, _, _ := strings.Cut(strings.TrimSpace(raw), ";")
			switch strings.ToLower(strings.TrimSpace(base)) {
			case "application/json", "application/*":
				jsonOK = true
			case "text/event-stream", "text/*":
				streamOK = true
			case "*/*":
				jsonOK, streamOK = true, true
			}
		}
	}
	return jsonOK && streamOK
}

// serveCall runs the call on the caller's server and writes go-sdk's JSON response.
func (h *Handler) serveCall(w http.ResponseWriter, r *http.Request, msg *request, id jsonrpc.ID, version string) {
	h.fast.Add(1)
	// As go-sdk's servePOST sets it (CloseSSEStream is a no-op for JSON responses).
	extra := &mcp.RequestExtra{TokenInfo: auth.TokenInfoFromContext(r.Context()), Header: r.Header}
	if h.serveDirect(w, r, msg, id, extra) {
		return
	}
	req := &jsonrpc.Request{ID: id, Method: msg.method, Params: msg.params, Extra: extra}
	conn := &oneCall{msg: req, id: id, reply: make(chan []byte, 1), closed: make(chan struct{})}
	// The state go-sdk's stateless mode synthesizes for a request that is not initialize.
	state := &mcp.ServerSessionState{
		InitializeParams:  &mcp.InitializeParams{ProtocolVersion: version},
		InitializedParams: &mcp.InitializedParams{},
		LogLevel:          "info",
	}
	session, err := h.serverFor(r).Connect(r.Context(), conn, &mcp.ServerSessionOptions{State: state})
	if err != nil {
		h.opts.sdkLogger.Error(fmt.Sprintf("failed to connect: %v", err))
		http.Error(w, "failed connection", http.StatusInternalServerError)
		return
	}
	defer session.Close()
	w.Header().Set("Cache-Control", "no-cache, no-transform")
	w.Header().Set("Content-Type", "application/json")
	select {
	case data := <-conn.reply:
		_, _ = w.Write(data)
	case <-r.Context().Done():
	}
}

// oneCall is an [mcp.Transport] and [mcp.Connection] carrying one request in and its response
// out.
type oneCall struct {
	msg    jsonrpc.Message
	id     jsonrpc.ID
	read   atomic.Bool
	reply  chan []byte
	closed chan struct{}
	once   atomic.Bool
}

// errRejected has go-sdk's "rejected by transport" code, which its JSON-RPC layer treats as a
// failed delivery rather than a broken connection (errors.Is compares codes).
var errRejected = &jsonrpc.Error{Code: -32005, Message: "rejected by transport"}

func (c *oneCall) Connect(context.Context) (mcp.Connection, error) { return c, nil }

func (c *oneCall) Read(ctx context.Context) (jsonrpc.Message, error) {
	if c.read.CompareAndSwap(false, true) {
		return c.msg, nil
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.closed:
		return nil, io.EOF
	}
}

// Write takes the response to the call. Anything else is refused as go-sdk's stateless JSON
// transport refuses it: server-to-client requests, and notifications (they would go to a
// standalone SSE stream, which a stateless server does not have).
func (c *oneCall) Write(_ context.Context, msg jsonrpc.Message) error {
	resp, ok := msg.(*jsonrpc.Response)
	if !ok || resp.ID != c.id {
		return fmt.Errorf("%w: stateless servers cannot send this message", errRejected)
	}
	data, err := jsonrpc.EncodeMessage(resp)
	if err != nil {
		return err
	}
	select {
	case c.reply <- data:
		return nil
	default:
		return fmt.Errorf("%w: write to closed stream", errRejected)
	}
}

func (c *oneCall) Close() error {
	if c.once.CompareAndSwap(false, true) {
		close(c.closed)
	}
	return nil
}

func (c *oneCall) SessionID() string { return "" }

// serveDirect runs the call with [graphtools.Tool.CallDirect] and writes the response go-sdk
// would write, when the params are exactly {"name", "arguments"}, the tool is one the caller may
// use and CallDirect takes the arguments; it reports false, having written nothing, otherwise.
func (h *Handler) serveDirect(w http.ResponseWriter, r *http.Request, msg *request, id jsonrpc.ID, extra *mcp.RequestExtra) bool {
	if !msg.call.plain {
		return false
	}
	name, args := msg.call.name, msg.call.args
	i, known := h.toolByNm[name]
	if !known {
		return false
	}
	var caller *tokenverify.Identity
	if c := bearer.FromContext(r.Context()); c != nil {
		caller = c.Identity
	}
	tool := h.opts.Tools[i]
	if !tool.Allowed(caller) {
		return false
	}
	req := &mcp.CallToolRequest{Params: &mcp.CallToolParamsRaw{Name: name, Arguments: args}, Extra: extra}
	res, ok, err := tool.CallDirect(r.Context(), h.opts.Deps, req)
	if !ok {
		return false
	}
	h.direct.Add(1)
	resp := &jsonrpc.Response{ID: id, Error: err}
	if err == nil {
		if resp.Result, err = marshalNoEscape(res); err != nil {
			resp = &jsonrpc.Response{ID: id, Error: err}
		}
	}
	data, err := jsonrpc.EncodeMessage(resp)
	if err != nil {
		h.opts.Logger.ErrorContext(r.Context(), "encoding a tools/call response failed", logging.Err(err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return true
	}
	w.Header().Set("Cache-Control", "no-cache, no-transform")
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(data)
	return true
}

// marshalNoEscape encodes a result as go-sdk's JSON-RPC layer does: without HTML escaping.
func marshalNoEscape(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
