// Package graphtools defines the MCP tools: each one a small, typed function that calls
// Microsoft Graph on behalf of the signed-in user.
//
// A [Tool] declares the delegated Graph scopes it needs (user-consentable ones only) and,
// optionally, an Entra app role of our API that the caller must hold. The MCP server shows a
// caller only the tools its roles allow ([Tool.Allowed]) and checks again on every call. Adding
// a tool is one [New] call with an input struct whose json/jsonschema tags become the tool's
// input schema (see the example in graphtools_example_test.go):
//
//	type peopleIn struct{}
//	var relevantPeople = graphtools.New("list_relevant_people", "Lists the people most relevant to the user.",
//		[]string{"People.Read"}, "", func(ctx context.Context, c *graphtools.Call, _ peopleIn) (any, error) {
//			var page map[string]any
//			return page, c.Get(ctx, "/v1.0/me/people", nil, &page)
//		})
//
// [Call.Get] does the on-behalf-of exchange for exactly the tool's scopes (MSAL then serves later
// calls from its cache, since Entra returns every scope the user consented to) and the Graph GET.
// Errors become tool results with IsError set and a message that says what to do: missing consent
// names the permission and links to Entra's consent prompt (Deps.ConsentURL), throttling says
// when to retry. A client that declared URL-mode elicitation gets missing consent as go-sdk's
// URL-elicitation-required error (-32042) with that link instead. Panics are caught and logged; the client
// only sees a request id.
package graphtools

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"example.com/graphmcp/handler/bearer"
	"example.com/graphmcp/handler/logging"
	"example.com/graphmcp/handler/tokenverify"
)

// TokenSource exchanges the user's token for a Graph token (package obo).
type TokenSource interface {
	Token(ctx context.Context, userToken string, scopes []string) (string, error)
}

// GraphGetter performs a Graph GET (package graph).
type GraphGetter interface {
	Get(ctx context.Context, token, path string, query url.Values, out any) error
}

// Deps are the services tool calls use.
type Deps struct {
	OBO   TokenSource
	Graph GraphGetter
	// GraphResource prefixes scopes in OBO requests. Default "https://graph.microsoft.com".
	GraphResource string
	Logger        *slog.Logger     // default slog.Default()
	Now           func() time.Time // default time.Now
	// ConsentURL returns the link where the user grants missing Graph scopes (full scope URIs),
	// e.g. (*obo.ConsentPage).URL. nil: missing consent is explained without a link and never
	// answered with a URL elicitation.
	ConsentURL func(scopes []string) string
	// CallTimeout bounds one tool call (OBO + Graph with its retries). Default 210 s: Azure's
	// load balancer cuts HTTP responses at 230 s, and an answer is better than a cut.
	CallTimeout time.Duration
}

// Tool is one MCP tool backed by Graph.
type Tool struct {
	Name        string
	Description string
	Scopes      []string // delegated Graph permissions, e.g. "User.Read"
	Role        string   // app role of our API the caller must hold; "" = any signed-in user
	add         func(s *mcp.Server, d *Deps)
	direct      func(ctx context.Context, d *Deps, req *mcp.CallToolRequest) (*mcp.CallToolResult, bool, error)
}

// Allowed reports whether id may see and call the tool.
func (t Tool) Allowed(id *tokenverify.Identity) bool {
	return t.Role == "" || (id != nil && id.HasRole(t.Role))
}

// AddTo registers the tool on s.
func (t Tool) AddTo(s *mcp.Server, d *Deps) { t.add(s, d) }

// Call is the per-call context a tool's function receives.
type Call struct {
	tool   *Tool
	deps   *Deps
	caller *bearer.Caller
}

// Identity is the signed-in caller.
func (c *Call) Identity() *tokenverify.Identity { return c.caller.Identity }

// Now is the current time (injectable for tests).
func (c *Call) Now() time.Time { return c.deps.Now() }

// Get obtains a Graph token for the tool's scopes on behalf of the caller and GETs path.
func (c *Call) Get(ctx context.Context, path string, query url.Values, out any) error {
	scopes := make([]string, len(c.tool.Scopes))
	for i, s := range c.tool.Scopes {
		scopes[i] = c.deps.GraphResource + "/" + s
	}
	tok, err := c.deps.OBO.Token(ctx, c.caller.Token, scopes)
	if err != nil {
		return err
	}
	return c.deps.Graph.Get(ctx, tok, path, query, out)
}

// New defines a tool. In is the input type (its schema is inferred from json and jsonschema
// tags); run returns a JSON object (map or struct) that becomes the structured result.
func New[In any](name, description string, scopes []string, role string, run func(ctx context.Context, c *Call, in In) (any, error)) Tool {
	t := Tool{Name: name, Description: description, Scopes: slices.Clone(scopes), Role: role}
	// Inferred at first use, not at package init: process start → ready does not wait for it.
	schema := sync.OnceValues(func() (*jsonschema.Schema, *jsonschema.Resolved) { return inputSchema[In](name) })
	// tool is what calls see of t (Call.tool, messages): read-only, shared by every call.
	tool := t
	// handle is the tool behind both entries: go-sdk's typed handler (add) and CallDirect.
	handle := func(ctx context.Context, req *mcp.CallToolRequest, d *Deps, in In) (res *mcp.CallToolResult, out any, err error) {
		defer func() {
			if p := recover(); p != nil {
				d.Logger.ErrorContext(ctx, "tool panicked", slog.String("tool", tool.Name),
					slog.String("panic", logging.Redact(fmt.Sprint(p))), slog.String("stack", string(debug.Stack())))
				res, out, err = nil, nil, fmt.Errorf("internal error in tool %s; the server logged it (request id %s)", tool.Name, logging.RequestID(ctx))
			}
		}()
		ctx, cancel := context.WithTimeout(ctx, d.CallTimeout)
		defer cancel()
		caller := callerOf(ctx, req)
		if caller == nil || caller.Identity == nil {
			return nil, nil, fmt.Errorf("tool %s needs an authenticated caller; send an Entra access token", tool.Name)
		}
		// go-sdk runs tools on the session's context, not the HTTP request's: carry the
		// request id over so tool log lines join the request's.
		if logging.RequestID(ctx) == "" && caller.RequestID != "" {
			ctx = logging.WithRequestID(ctx, caller.RequestID)
			logging.SetUser(ctx, caller.Identity.ObjectID)
		}
		if !tool.Allowed(caller.Identity) {
			return nil, nil, fmt.Errorf("tool %s requires the app role %q, which your account does not have; ask an administrator to assign it", tool.Name, tool.Role)
		}
		result, err := run(ctx, &Call{tool: &tool, deps: d, caller: caller}, in)
		if err != nil {
			return nil, nil, failure(ctx, req, d, &tool, err)
		}
		return nil, result, nil
	}
	t.add = func(s *mcp.Server, d *Deps) {
		input, _ := schema()
		mcp.AddTool(s, &mcp.Tool{
			Name:        t.Name,
			Description: t.Description,
			Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: ptr(true)},
			InputSchema: input,
		}, func(ctx context.Context, req *mcp.CallToolRequest, in In) (*mcp.CallToolResult, any, error) {
			return handle(ctx, req, d, in)
		})
	}
	t.direct = func(ctx context.Context, d *Deps, req *mcp.CallToolRequest) (*mcp.CallToolResult, bool, error) {
		_, resolved := schema()
		in, ok := decodeArgs[In](req.Params.Arguments, resolved)
		if !ok {
			return nil, false, nil
		}
		res, err := toolResult(handle(ctx, req, d, in))
		return res, true, err
	}
	return t
}

// callerOf finds the authenticated caller: go-sdk hands it to tools through TokenInfo.
func callerOf(ctx context.Context, req *mcp.CallToolRequest) *bearer.Caller {
	if req != nil && req.Extra != nil && req.Extra.TokenInfo != nil {
		if c := bearer.FromExtra(req.Extra.TokenInfo.Extra); c != nil {
			return c
		}
	}
	return bearer.FromContext(ctx)
}

// Defaults fills unset fields of d.
func (d *Deps) Defaults() *Deps {
	if d.GraphResource == "" {
		d.GraphResource = "https://graph.microsoft.com"
	}
	d.GraphResource = strings.TrimSuffix(d.GraphResource, "/")
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.CallTimeout <= 0 {
		d.CallTimeout = 210 * time.Second
	}
	return d
}

func ptr[T any](v T) *T { return &v }
