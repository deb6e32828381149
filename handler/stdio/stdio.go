// Package stdio is the handler's local mode: the same Graph tools (package graphtools, the
// very tool set the server registers) served over MCP's stdio transport on a developer's
// machine, for VS Code, Claude Desktop or Cursor, with no Azure deployment in between.
//
// There is no gateway token to exchange on behalf of the user, so the token source is
// package localauth (MSAL Go public client: silent from the persistent cache of package
// tokencache, else browser with PKCE and a loopback redirect, else device code) and Graph
// scopes are requested directly, per tool, as they are needed. Standard output carries only
// MCP JSON-RPC; sign-in prompts, device codes and logs go to standard error.
//
//	handler stdio [--account <upn>] [--device-code] [--allow-tools list_recent_mail|all]
//	handler stdio login [--scopes User.Read,…] [--account <upn>] [--device-code]
//	handler stdio logout [--account <upn>] [--all]
//
// App roles: in server mode a tool with an app role (list_recent_mail needs Tools.Mail) is
// shown only to callers whose gateway token carries the role. Locally there is no token for
// our API, hence no roles: such tools are off unless named in --allow-tools — a choice the
// person running the process makes for themselves; Graph still enforces the user's own
// permissions. README ("Local (stdio) mode") shows the client configurations.
package stdio

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os/exec"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"example.com/graphmcp/handler/bearer"
	"example.com/graphmcp/handler/config"
	"example.com/graphmcp/handler/graph"
	"example.com/graphmcp/handler/graphtools"
	"example.com/graphmcp/handler/localauth"
	"example.com/graphmcp/handler/logging"
	"example.com/graphmcp/handler/mcpserver"
	"example.com/graphmcp/handler/tokencache"
	"example.com/graphmcp/handler/tokenverify"
)

// IO are the process's streams and environment.
type IO struct {
	Stdin  io.ReadCloser
	Stdout io.WriteCloser // MCP JSON-RPC only
	Stderr io.Writer
	Getenv func(string) string
}

// grantHint is how a user grants a permission they declined.
const grantHint = "call the tool again and accept the permission on the sign-in page, or run `handler stdio login --scopes %s`"

// Main runs `handler stdio <args>` and returns the exit code.
func Main(ctx context.Context, args []string, sio IO, version string) int {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "login" || args[0] == "logout") {
		cmd, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("handler stdio "+cmd, flag.ContinueOnError)
	fs.SetOutput(sio.Stderr)
	fs.Usage = func() {
		fmt.Fprint(sio.Stderr, `Local mode: the Graph tools over MCP stdio, signed in with your own account.
  handler stdio [--account <upn>] [--device-code] [--allow-tools <names>|all]   serve MCP on stdin/stdout
  handler stdio login [--scopes User.Read,...] [--account <upn>] [--device-code] sign in now
  handler stdio logout [--account <upn>] [--all]                               remove the account from the token cache
Configuration comes from the environment (README "Local (stdio) mode").
`)
		fs.PrintDefaults()
	}
	account := fs.String("account", "", "user name (UPN) of the cached account to use when there are several")
	deviceCode := fs.Bool("device-code", false, "sign in with a device code instead of the browser")
	allow := fs.String("allow-tools", "", "comma-separated tools that need an app role to enable locally (e.g. list_recent_mail), or all")
	scopes := fs.String("scopes", "", "login: comma-separated Graph permissions to consent to (default: those of the enabled tools)")
	all := fs.Bool("all", false, "logout: remove every cached account")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(sio.Stderr, "handler stdio: unexpected argument %q; see `handler stdio -h`\n", fs.Arg(0))
		return 2
	}
	cfg, err := config.LoadLocal(sio.Getenv)
	if err != nil {
		fmt.Fprintln(sio.Stderr, "handler stdio:", err)
		return 1
	}
	logger := logging.New(sio.Stderr, cfg.LogLevel)
	tools, id, err := enabledTools(graphtools.Tools(), *allow)
	if err != nil {
		fmt.Fprintln(sio.Stderr, "handler stdio:", err)
		return 2
	}
	httpClient := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	file, cacheErr := tokencache.Open(cfg.TokenCache)
	if cacheErr != nil {
		fmt.Fprintln(sio.Stderr, "handler stdio:", cacheErr)
		if cmd != "serve" {
			return 1
		}
	}
	var auth *localauth.Client
	if cacheErr == nil {
		auth, err = localauth.New(&localauth.Options{
			Authority: cfg.Authority(), ClientID: cfg.ClientID, Cache: file, HTTPClient: httpClient,
			Account: *account, DeviceCode: *deviceCode, OpenBrowser: opener(cfg.Browser, sio.Stderr),
			Prompt: sio.Stderr, GrantHint: grantHint, Logger: logger,
		})
		if err != nil {
			fmt.Fprintln(sio.Stderr, "handler stdio:", err)
			return 1
		}
	}
	switch cmd {
	case "login":
		return login(ctx, auth, cfg, tools, *scopes, sio.Stderr)
	case "logout":
		return logout(ctx, auth, *all, sio.Stderr)
	}

	var source graphtools.TokenSource = auth
	if cacheErr != nil {
		// Serve anyway: every tool call then shows the refusal in the MCP client, which is
		// where the user looks, and the file stays as it is.
		source = refused{cacheErr}
	}
	gc, err := graph.New(&graph.Options{Endpoint: cfg.GraphEndpoint, HTTPClient: httpClient, MaxRetryWait: cfg.GraphMaxRetryWait})
	if err != nil {
		fmt.Fprintln(sio.Stderr, "handler stdio:", err)
		return 1
	}
	deps := (&graphtools.Deps{OBO: source, Graph: gc, GraphResource: cfg.GraphResource, Logger: logger}).Defaults()
	server := mcpserver.NewSDKServer(tools, deps, version, logging.AtLeast(logger, slog.LevelWarn), nil)
	caller := &bearer.Caller{Identity: id}
	server.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			return next(bearer.NewContext(ctx, caller), method, req)
		}
	})
	logger.Info("local mode serving on stdio", slog.String("authority", cfg.Authority()),
		slog.String("graph_endpoint", cfg.GraphEndpoint), slog.Int("tools", len(tools)))
	err = server.Run(ctx, &mcp.IOTransport{Reader: sio.Stdin, Writer: sio.Stdout})
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) {
		logger.Error("stdio session ended", logging.Err(err))
		return 1
	}
	return 0
}

// enabledTools returns the tools local mode serves and the local caller's identity: tools
// without an app role, plus those named in allow ("all": every tool). The identity holds the
// roles of the enabled tools, so each tool's own role check passes for exactly these.
func enabledTools(all []graphtools.Tool, allow string) ([]graphtools.Tool, *tokenverify.Identity, error) {
	names := commaList(allow)
	id := &tokenverify.Identity{}
	var out []graphtools.Tool
	known := map[string]bool{}
	for _, t := range all {
		known[t.Name] = true
		if t.Role == "" || slices.Contains(names, t.Name) || slices.Contains(names, "all") {
			out = append(out, t)
			if t.Role != "" && !slices.Contains(id.Roles, t.Role) {
				id.Roles = append(id.Roles, t.Role)
			}
		}
	}
	for _, n := range names {
		if n != "all" && !known[n] {
			return nil, nil, fmt.Errorf("--allow-tools: unknown tool %q (tools: %s)", n, strings.Join(slices.Sorted(maps.Keys(known)), ", "))
		}
	}
	return out, id, nil
}

// login signs in now, for the given scopes or those of the enabled tools.
func login(ctx context.Context, auth *localauth.Client, cfg config.LocalConfig, tools []graphtools.Tool, scopes string, stderr io.Writer) int {
	names := commaList(scopes)
	if len(names) == 0 {
		for _, t := range tools {
			for _, s := range t.Scopes {
				if !slices.Contains(names, s) {
					names = append(names, s)
				}
			}
		}
	}
	full := make([]string, len(names))
	for i, n := range names {
		full[i] = cfg.GraphResource + "/" + n
	}
	res, err := auth.SignIn(ctx, full)
	if err != nil {
		fmt.Fprintln(stderr, "handler stdio login:", err)
		return 1
	}
	fmt.Fprintf(stderr, "Signed in as %s with %s; the token cache is ready.\n", res.Account.PreferredUsername, strings.Join(names, ", "))
	return 0
}

// logout removes the cached account(s).
func logout(ctx context.Context, auth *localauth.Client, all bool, stderr io.Writer) int {
	removed, err := auth.SignOut(ctx, all)
	if err != nil {
		fmt.Fprintln(stderr, "handler stdio logout:", err)
		return 1
	}
	if len(removed) == 0 {
		fmt.Fprintln(stderr, "No account was signed in.")
		return 0
	}
	fmt.Fprintf(stderr, "Signed out %s: removed from the token cache.\n", strings.Join(removed, ", "))
	return 0
}

// commaList splits a comma-separated flag value into its non-empty, trimmed items.
func commaList(v string) []string {
	var items []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			items = append(items, s)
		}
	}
	return items
}

// opener returns how the sign-in URL is opened: the GRAPHMCP_BROWSER program, called with the
// URL as its only argument (its output goes to stderr), or nil for the system browser.
func opener(program string, stderr io.Writer) func(string) error {
	if program == "" {
		return nil
	}
	return func(u string) error {
		cmd := exec.Command(program, u)
		cmd.Stdout, cmd.Stderr = stderr, stderr
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("GRAPHMCP_BROWSER %s: %w", program, err)
		}
		go cmd.Wait() // a browser may outlive the sign-in; reap it whenever it exits
		return nil
	}
}

// refused is the token source when the token cache was refused: every call explains why.
type refused struct{ err error }

func (r refused) Token(context.Context, string, []string) (string, error) { return "", r.err }
