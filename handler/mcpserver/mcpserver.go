// Package mcpserver serves the MCP endpoint: go-sdk's Streamable HTTP handler (stateless, JSON
// responses — nothing to lose when the Functions host scales out) behind the checks a remote
// server needs, in this order:
//
//  1. Host allow-list (MCP_ALLOWED_HOSTS + WEBSITE_HOSTNAME). go-sdk's own localhost guard is
//     off: behind the Functions host every request arrives on 127.0.0.1 with the public Host,
//     which that guard would refuse with 403.
//  2. Browser cross-origin requests refused with 403 (net/http's CrossOriginProtection:
//     Sec-Fetch-Site / Origin); clients that send no Origin are unaffected.
//  3. Bearer authentication (package bearer): 401/403 with WWW-Authenticate challenges.
//  4. Tool authorization: a tools/call for a tool whose app role the caller lacks is refused with
//     403 error="insufficient_scope" before it reaches the SDK; tools/list shows each caller only
//     the tools its roles allow, because the SDK gets a server holding just those tools (one
//     server per distinct tool set, built once); and each tool re-checks the role itself.
//
// A single tools/call with plain headers then takes a fast path (fastpath.go) that skips go-sdk's
// transport and, for plain valid calls, its dispatch (graphtools.Tool.CallDirect); everything
// else goes to go-sdk's Streamable HTTP handler.
//
// [NewMux] adds the readiness ping (GET / → 200 "ok") that the Functions host polls at start.
//
//	h, _ := mcpserver.New(&mcpserver.Options{Tools: graphtools.Tools(), Deps: deps, Verifier: v,
//		ResourceMetadataURL: prm, Scope: cfg.APIScopeURI()})
//	http.ListenAndServe("127.0.0.1:8080", mcpserver.NewMux(h, nil, logger))
package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"example.com/graphmcp/handler/bearer"
	"example.com/graphmcp/handler/graphtools"
	"example.com/graphmcp/handler/logging"
	"example.com/graphmcp/handler/tokenverify"
)

// Options configures the MCP endpoint.
type Options struct {
	Tools    []graphtools.Tool
	Deps     *graphtools.Deps
	Verifier bearer.Verifier
	// ResourceMetadataURL and Scope go into every 401/403 challenge.
	ResourceMetadataURL string
	Scope               string
	// AllowedHosts are accepted Host names (lower case, no port); empty accepts any.
	AllowedHosts []string
	// MaxRequestBodyBytes bounds a request body. Default 1 MiB.
	MaxRequestBodyBytes int64
	// Version is reported in serverInfo. Default "dev".
	Version string
	Logger  *slog.Logger

	sdkLogger  *slog.Logger
	noFastPath bool // tests: send everything through go-sdk's handler
}

// Handler is the /mcp endpoint.
type Handler struct {
	opts     Options
	chain    http.Handler
	schemas  *mcp.SchemaCache
	mu       sync.Mutex
	servers  sync.Map // uint64 tool bitmask → *mcp.Server
	toolByNm map[string]int
	fast     atomic.Int64 // requests served on the fast path (fastpath.go)
	direct   atomic.Int64 // of those, the ones run with graphtools.Tool.CallDirect
}

// New returns the /mcp handler.
func New(opts *Options) (*Handler, error) {
	if opts == nil || opts.Verifier == nil || opts.Deps == nil {
		return nil, errors.New("mcpserver: Verifier and Deps are required")
	}
	o := *opts
	if len(o.Tools) > 64 {
		return nil, errors.New("mcpserver: at most 64 tools")
	}
	if o.MaxRequestBodyBytes <= 0 {
		o.MaxRequestBodyBytes = 1 << 20
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	// MCPGODEBUG changes go-sdk's transport behaviour in ways the fast path does not mirror.
	o.noFastPath = o.noFastPath || os.Getenv("MCPGODEBUG") != ""
	o.Deps.Defaults()
	// go-sdk logs connect/disconnect at INFO for every stateless request; keep its warnings only.
	o.sdkLogger = logging.AtLeast(o.Logger, slog.LevelWarn)
	h := &Handler{opts: o, schemas: mcp.NewSchemaCache(), toolByNm: map[string]int{}}
	for i, t := range o.Tools {
		if _, dup := h.toolByNm[t.Name]; dup {
			return nil, fmt.Errorf("mcpserver: duplicate tool %q", t.Name)
		}
		h.toolByNm[t.Name] = i
	}

	streamable := mcp.NewStreamableHTTPHandler(h.serverFor, &mcp.StreamableHTTPOptions{
		Stateless:    true,
		JSONResponse: true,
		// See the package comment: the Host check is ours (step 1).
		DisableLocalhostProtection: true,
		MaxRequestBodyBytes:        o.MaxRequestBodyBytes,
		Logger:                     o.sdkLogger,
	})
	// go-sdk hands tools the request's auth.TokenInfo (req.Extra.TokenInfo), and only its own
	// middleware can put one in the context; feed it the caller bearer already verified.
	withTokenInfo := auth.RequireBearerToken(func(_ context.Context, _ string, r *http.Request) (*auth.TokenInfo, error) {
		c := bearer.FromContext(r.Context())
		if c == nil {
			return nil, auth.ErrInvalidToken
		}
		return &auth.TokenInfo{
			Scopes: c.Identity.Scopes,
			UserID: c.Identity.TenantID + "/" + c.Identity.ObjectID,
			// Expiry was checked (with leeway) by tokenverify; the SDK must not re-judge it.
			Expiration: time.Now().Add(time.Hour),
			Extra:      map[string]any{bearer.TokenInfoExtraKey: c},
		}, nil
	}, nil)(h.dispatch(streamable))

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bearer.WriteError(w, http.StatusForbidden, "forbidden_origin", "cross-origin browser requests are not accepted")
	}))
	challenge := &bearer.Options{ResourceMetadataURL: o.ResourceMetadataURL, Scope: o.Scope}
	h.chain = h.checkHost(cop.Handler(bearer.Middleware(o.Verifier, challenge)(h.checkTools(challenge, withTokenInfo))))
	return h, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.chain.ServeHTTP(w, r) }

// checkHost enforces the Host allow-list.
func (h *Handler) checkHost(next http.Handler) http.Handler {
	if len(h.opts.AllowedHosts) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := strings.ToLower(r.Host)
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		if !slices.Contains(h.opts.AllowedHosts, host) {
			bearer.WriteError(w, http.StatusForbidden, "forbidden_host", "this Host is not served here (see MCP_ALLOWED_HOSTS)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// methodShaped reports whether s is ^[a-z][a-zA-Z/_]{0,63}$, written out: as a regexp, the counted
// repetition compiled into hundreds of instructions at every process start.
func methodShaped(s string) bool {
	if len(s) == 0 || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '/' || c == '_') {
			return false
		}
	}
	return true
}

// checkTools refuses tools/call for tools the caller's roles do not allow (HTTP 403, so that
// clients can step up), before the SDK dispatches anything. It reads the body exactly as go-sdk
// will (see [inspectBody]) and refuses with 400 what it cannot read, so that no body can mean one
// thing to the gate and another to the SDK.
func (h *Handler) checkTools(challenge *bearer.Options, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Body == nil {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxRequestBodyBytes))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				bearer.WriteError(w, http.StatusRequestEntityTooLarge, "request_too_large", fmt.Sprintf("request body exceeds %d bytes", mbe.Limit))
				return
			}
			bearer.WriteError(w, http.StatusBadRequest, "invalid_request", "could not read the request body")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		caller := bearer.FromContext(r.Context())
		single, methods, tools, err := inspectBody(body)
		if err != nil {
			bearer.WriteError(w, http.StatusBadRequest, "invalid_request", err.Error())
			return
		}
		if len(methods) > 0 {
			attrs := []slog.Attr{slog.String("mcp_method", strings.Join(methods, ","))}
			if len(tools) > 0 {
				known := make([]string, len(tools))
				for i, name := range tools {
					known[i] = "(unknown)" // client-controlled text stays out of the log
					if _, ok := h.toolByNm[name]; ok {
						known[i] = name
					}
				}
				attrs = append(attrs, slog.String("tool", strings.Join(known, ",")))
			}
			logging.AddToRequestLine(r.Context(), attrs...)
		}
		for _, name := range tools {
			i, known := h.toolByNm[name]
			if !known {
				continue // the SDK answers unknown tools with a JSON-RPC error
			}
			if t := h.opts.Tools[i]; !t.Allowed(caller.Identity) {
				bearer.Challenge(w, http.StatusForbidden, "insufficient_scope",
					fmt.Sprintf("the tool %s requires the app role %s; ask an administrator to assign it to you", t.Name, t.Role), challenge)
				return
			}
		}
		if single != nil {
			r = withParsed(r, single)
		}
		next.ServeHTTP(w, r)
	})
}

// inspectBody returns the methods of a JSON-RPC message or batch, the tool names of its
// tools/call requests and, when the body is a single request (not a batch), that request for
// the fast path (fastpath.go); or an error (for the client) when the body is not something the
// gate can read unambiguously.
//
// The gate must see what go-sdk will dispatch. go-sdk decodes with case-sensitive keys (its
// internal JSON package), encoding/json with case-insensitive ones: {"method":"tools/call",
// "Method":"ping"} is a ping to encoding/json and a tools/call to the SDK. So [envelope] reads
// each message's keys one by one and takes only the exact spellings, as the SDK does, and every
// ambiguity (a repeated key, duplicate or case-variant "name" keys, invalid UTF-8, nesting
// deeper than the SDK accepts, anything but exactly one JSON value) is refused rather than
// guessed. It does not call the SDK's decoder: that one allocates 32 KiB per call, and the SDK
// decodes each request often enough already (docs/performance.md).
func inspectBody(body []byte) (single *request, methods, tools []string, err error) {
	if !utf8.Valid(body) {
		return nil, nil, nil, errors.New("the request body is not valid UTF-8 JSON")
	}
	if !json.Valid(body) {
		return nil, nil, nil, errors.New("the request body is not one JSON value (a JSON-RPC message or batch)")
	}
	raws := []json.RawMessage{body}
	batch := false
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '[' {
		raws, batch = nil, true
		if err := json.Unmarshal(trimmed, &raws); err != nil || len(raws) == 0 {
			return nil, nil, nil, errors.New("the request body is not a JSON-RPC batch")
		}
	}
	for _, raw := range raws {
		req, err := envelope(raw)
		if err != nil {
			return nil, nil, nil, errors.New("the request body is not a JSON-RPC 2.0 message")
		}
		if !batch {
			single = req
		}
		if req == nil {
			continue // a response to a server request; nothing to authorize
		}
		method := req.method
		if !methodShaped(method) {
			method = "(invalid)" // client-controlled: only method-shaped text reaches the log
		}
		methods = append(methods, method)
		if req.method == "tools/call" {
			if req.call, err = readCall(req.params); err != nil {
				return nil, nil, nil, err
			}
			tools = append(tools, req.call.name)
		}
	}
	return single, methods, tools, nil
}

// maxDepth is go-sdk's nesting limit (internal/json.defaultMaxDepth): deeper messages are
// refused here as the SDK would refuse them.
const maxDepth = 1000

// request is what the gate needs of a JSON-RPC request.
type request struct {
	method string
	params json.RawMessage
	id     json.RawMessage // as sent; nil when absent
	call   callShape       // for tools/call: what readCall read of params
}

// envelope reads one JSON-RPC message the way go-sdk's jsonrpc.DecodeMessage does: exact,
// case-sensitive keys; "jsonrpc" must be "2.0"; "id" absent, null, a number or a string; a
// "method" key (even "method":null) makes it a request, otherwise it is a response (nil) and
// needs an id. A repeated "method" or "params" is refused, because decoders disagree on which
// one wins; for "jsonrpc" and "id" the last one counts, as in the SDK (they decide nothing here).
func envelope(raw json.RawMessage) (*request, error) {
	if depth(raw) > maxDepth {
		return nil, errors.New("nested too deeply")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not an object")
	}
	var version, id, method, params json.RawMessage
	fields := map[string]*json.RawMessage{"jsonrpc": &version, "id": &id, "method": &method, "params": &params}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		if dst, ok := fields[key]; ok {
			if *dst != nil && (key == "method" || key == "params") {
				return nil, errors.New("repeated key")
			}
			*dst = v
		}
	}
	var tag string
	if json.Unmarshal(version, &tag) != nil || tag != "2.0" {
		return nil, errors.New("not JSON-RPC 2.0")
	}
	hasID := false
	switch {
	case id == nil || string(id) == "null":
	case id[0] == '"':
		hasID = true
	case id[0] == '-' || (id[0] >= '0' && id[0] <= '9'):
		if _, err := strconv.ParseFloat(string(id), 64); err != nil {
			return nil, errors.New("id out of range")
		}
		hasID = true
	default:
		return nil, errors.New("invalid id")
	}
	if method == nil {
		if !hasID {
			return nil, errors.New("a response needs an id")
		}
		return nil, nil
	}
	var name *string // null decodes to "" as in the SDK
	if err := json.Unmarshal(method, &name); err != nil {
		return nil, errors.New("method is not a string")
	}
	r := &request{params: params, id: id}
	if name != nil {
		r.method = *name
	}
	return r, nil
}

// depth is the deepest nesting of objects and arrays in valid JSON.
func depth(data []byte) int {
	d, deepest, inString, escaped := 0, 0, false, false
	for _, b := range data {
		switch {
		case inString && escaped:
			escaped = false
		case inString && b == '\\':
			escaped = true
		case inString:
			inString = b != '"'
		case b == '"':
			inString = true
		case b == '{' || b == '[':
			d++
			deepest = max(deepest, d)
		case b == '}' || b == ']':
			d--
		}
	}
	return deepest
}

// callShape is what the gate reads of tools/call params: the tool name, and the arguments with
// plain set when the params hold exactly "name" (a string) and at most "arguments", each once,
// spelled exactly — the calls the fast path may run with graphtools.Tool.CallDirect.
type callShape struct {
	name  string
	args  json.RawMessage
	plain bool
}

// readCall reads params of a tools/call. Params that are not an object yield no name (the SDK
// refuses them); more than one key spelled like "name", in any case, is refused.
func readCall(params json.RawMessage) (callShape, error) {
	var c callShape
	dec := json.NewDecoder(bytes.NewReader(params))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return c, nil
	}
	seen, nameString, other := false, false, false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return callShape{}, errors.New("tools/call params are not a JSON object")
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return callShape{}, errors.New("tools/call params are not a JSON object")
		}
		switch {
		case strings.EqualFold(key, "name"):
			if seen || key != "name" {
				return callShape{}, errors.New(`tools/call params must have exactly one "name" key`)
			}
			seen, nameString = true, v[0] == '"'
			if err := json.Unmarshal(v, &c.name); err != nil {
				return callShape{}, errors.New(`tools/call params.name must be a string`)
			}
		case key == "arguments" && c.args == nil:
			c.args = v
		default:
			other = true
		}
	}
	c.plain = seen && nameString && !other
	return c, nil
}

// serverFor returns the MCP server holding exactly the tools the caller may use.
func (h *Handler) serverFor(r *http.Request) *mcp.Server {
	var id *tokenverify.Identity
	if c := bearer.FromContext(r.Context()); c != nil {
		id = c.Identity
	}
	var mask uint64
	for i, t := range h.opts.Tools {
		if t.Allowed(id) {
			mask |= 1 << i
		}
	}
	if s, ok := h.servers.Load(mask); ok {
		return s.(*mcp.Server)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.servers.Load(mask); ok {
		return s.(*mcp.Server)
	}
	var tools []graphtools.Tool
	for i, t := range h.opts.Tools {
		if mask&(1<<i) != 0 {
			tools = append(tools, t)
		}
	}
	s := NewSDKServer(tools, h.opts.Deps, h.opts.Version, h.opts.sdkLogger, h.schemas)
	h.servers.Store(mask, s)
	return s
}
