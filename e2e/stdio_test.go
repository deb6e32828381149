package e2e

// Local (stdio) mode end to end: the real handler binary, `handler stdio`, driven over stdio by
// the go-sdk client and by the MCP Inspector CLI, signing in through the Entra stand-in with
// MSAL Go's public client and calling the Graph stand-in. The person at the browser is
// devstack/entra/scripteduser, which follows the sign-in URL the handler printed on stderr (or
// passed to the GRAPHMCP_BROWSER program) or approves the device code it printed.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"example.com/graphmcp/devstack"
	"example.com/graphmcp/devstack/entra/scripteduser"
	"example.com/graphmcp/handler/graphtools"
	"example.com/graphmcp/internal/freeport"
	"example.com/graphmcp/internal/handlerproc"
	"example.com/graphmcp/internal/syncbuf"
)

const adelePassword = "adele-dev-password"

// localEnv is a developer machine: stand-ins, a CA file, a token cache path, a browser.
type localEnv struct {
	ds     *devstack.Stack
	dir    string
	caFile string
	cache  string
	env    map[string]string
}

func newLocalEnv(t *testing.T) *localEnv {
	t.Helper()
	ds, err := devstack.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ds.Close)
	dir := t.TempDir()
	l := &localEnv{ds: ds, dir: dir, caFile: filepath.Join(dir, "ca.pem"), cache: filepath.Join(dir, "config", "graphmcp", "msal-token-cache.json")}
	if err := ds.CA.WriteCertFile(l.caFile); err != nil {
		t.Fatal(err)
	}
	l.env = map[string]string{
		"AZURE_TENANT_ID":       ds.Entra.TenantID(),
		"ENTRA_LOCAL_CLIENT_ID": ds.Entra.PublicClientID(),
		"ENTRA_AUTHORITY_HOST":  ds.Entra.URL() + "/",
		"GRAPH_ENDPOINT":        ds.Graph.URL(),
		"SSL_CERT_FILE":         l.caFile,
		"GRAPHMCP_TOKEN_CACHE":  l.cache,
		// The "browser" does nothing: the test follows the URL printed on stderr.
		"GRAPHMCP_BROWSER": "/bin/true",
		"LOG_LEVEL":        "debug",
	}
	return l
}

// environ is the child's whole environment: no inherited variables beyond PATH and HOME.
func (l *localEnv) environ() []string {
	out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + l.dir}
	for k, v := range l.env {
		out = append(out, k+"="+v)
	}
	return out
}

// user is the person at the browser.
func (l *localEnv) user(deny bool) scripteduser.User {
	return scripteduser.User{Client: l.ds.CA.HTTPClient(), UPN: adele, Password: adelePassword, Deny: deny}
}

var (
	signInURLRE  = regexp.MustCompile(`^https://\S+/oauth2/v2\.0/authorize\?\S+$`)
	deviceCodeRE = regexp.MustCompile(`enter the code [A-Z0-9]+`)
)

// stderrUser reads the handler's stderr line by line, as a person watching the terminal
// would: a sign-in URL is opened in "the browser", a device code is entered on the
// verification page. It keeps the whole text for assertions.
type stderrUser struct {
	t    *testing.T
	l    *localEnv
	deny bool
	mu   sync.Mutex
	buf  bytes.Buffer
	pw   *io.PipeWriter
	done chan struct{}
}

func (l *localEnv) watchStderr(t *testing.T, deny bool) *stderrUser {
	pr, pw := io.Pipe()
	s := &stderrUser{t: t, l: l, deny: deny, pw: pw, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.buf.WriteString(line + "\n")
			s.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			switch {
			case signInURLRE.MatchString(line):
				if err := l.user(s.deny).Authorize(ctx, line); err != nil {
					t.Errorf("browser sign-in: %v", err)
				}
			case deviceCodeRE.MatchString(line):
				code := scripteduser.UserCode(line)
				go func() { // approve while MSAL polls
					defer cancel()
					// A person takes a moment to type the code: MSAL polls meanwhile and
					// is told authorization_pending / slow_down.
					for l.ds.Entra.PublicCounts().Polls < 2 && ctx.Err() == nil {
						time.Sleep(20 * time.Millisecond)
					}
					if err := l.user(s.deny).ApproveDevice(ctx, l.ds.Entra.DeviceLoginURL(), code); err != nil {
						t.Errorf("device code: %v", err)
					}
				}()
				continue
			}
			cancel()
		}
	}()
	return s
}

func (s *stderrUser) Write(p []byte) (int, error) { return s.pw.Write(p) }

// text closes the stream (the process has exited) and returns all of stderr.
func (s *stderrUser) text() string {
	s.pw.Close()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// stdoutRecorder keeps every byte the handler wrote on stdout.
type stdoutRecorder struct{ syncbuf.Buffer }

// assertJSONRPCOnly checks that stdout held nothing but JSON-RPC 2.0 messages, one per line.
func (r *stdoutRecorder) assertJSONRPCOnly(t *testing.T) {
	t.Helper()
	out := r.String()
	if out == "" {
		return
	}
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil || string(m["jsonrpc"]) != `"2.0"` {
			t.Fatalf("stdout line %d is not a JSON-RPC 2.0 message: %.200q", i+1, line)
		}
		_, isReq := m["method"]
		_, isRes := m["result"]
		_, isErr := m["error"]
		if !isReq && !isRes && !isErr {
			t.Fatalf("stdout line %d is JSON but neither request, notification nor response: %.200q", i+1, line)
		}
	}
}

// run is one `handler stdio` process with a go-sdk client session over its stdio.
type run struct {
	cs     *mcp.ClientSession
	cmd    *exec.Cmd
	stderr *stderrUser
	stdout *stdoutRecorder
}

// startIO starts `handler stdio args…` and connects the go-sdk client through IOTransport
// over the process's pipes, recording stdout to check that it carries only JSON-RPC.
func (l *localEnv) startIO(t *testing.T, deny bool, args ...string) *run {
	t.Helper()
	cmd := exec.Command(handlerproc.Binary(t), append([]string{"stdio"}, args...)...)
	cmd.Env = l.environ()
	r := &run{cmd: cmd, stderr: l.watchStderr(t, deny), stdout: &stdoutRecorder{}}
	cmd.Stderr = r.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "graphmcp-e2e-stdio", Version: "0.0.1"}, nil)
	r.cs, err = client.Connect(ctx, &mcp.IOTransport{Reader: io.NopCloser(io.TeeReader(stdout, r.stdout)), Writer: stdin}, nil)
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("connect over stdio: %v\nstderr: %s", err, shown(r.stderr.text()))
	}
	return r
}

// startCommand starts `handler stdio args…` with go-sdk's CommandTransport.
func (l *localEnv) startCommand(t *testing.T, args ...string) *run {
	t.Helper()
	cmd := exec.Command(handlerproc.Binary(t), append([]string{"stdio"}, args...)...)
	cmd.Env = l.environ()
	r := &run{cmd: cmd, stderr: l.watchStderr(t, false)}
	cmd.Stderr = r.stderr
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "graphmcp-e2e-stdio", Version: "0.0.1"}, nil)
	var err error
	r.cs, err = client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect over stdio: %v\nstderr: %s", err, shown(r.stderr.text()))
	}
	return r
}

// signInQueryRE finds the query of a sign-in URL (state, PKCE challenge) anywhere in a line.
var signInQueryRE = regexp.MustCompile(`(https?://[^\s?]+)\?\S+`)

// shown is stderr as a failure message may print it: redact's rules, plus the sign-in URL's query
// and the device code (deviceCodeRE) replaced.
func shown(stderr string) string {
	s := signInQueryRE.ReplaceAllString(redact(stderr), "$1?[query redacted]")
	return deviceCodeRE.ReplaceAllString(s, "enter the code [redacted]")
}

// stop closes the session (stdin), waits for the process and returns its stderr.
func (r *run) stop(t *testing.T) string {
	t.Helper()
	r.cs.Close()
	if r.stdout != nil { // IOTransport: the process exits when stdin closes
		done := make(chan error, 1)
		go func() { done <- r.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("handler stdio exited with %v", err)
			}
		case <-time.After(20 * time.Second):
			r.cmd.Process.Kill()
			t.Error("handler stdio did not exit after stdin closed")
		}
		r.stdout.assertJSONRPCOnly(t)
	}
	return r.stderr.text()
}

// call calls a tool and returns its result text and whether it failed.
func (r *run) call(t *testing.T, name string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := r.cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: map[string]any{}})
	if err != nil {
		t.Fatalf("tools/call %s: %v", name, err)
	}
	return resultText(res), res.IsError
}

// callAll lists the tools, checks they are exactly want, and calls each one successfully.
func (r *run) callAll(t *testing.T, want []string) {
	t.Helper()
	list, err := r.cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := toolNames(list.Tools)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("tools/list = %v, want %v", got, want)
	}
	for _, name := range want {
		text, isErr := r.call(t, name)
		if isErr || len(text) < 10 {
			t.Fatalf("%s: isError=%v, %q", name, isErr, text)
		}
	}
}

func allToolNames() []string {
	var names []string
	for _, tl := range graphtools.Tools() {
		names = append(names, tl.Name)
	}
	return names
}

// expireAccessTokens makes the cached access tokens expired, as an hour passing would; the
// refresh tokens stay. The file keeps its mode (0600).
func (l *localEnv) expireAccessTokens(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(l.cache)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]map[string]map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	past := strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10)
	for _, at := range c["AccessToken"] {
		at["expires_on"] = past
		at["extended_expires_on"] = past
	}
	out, _ := json.Marshal(c)
	if err := os.WriteFile(l.cache, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return len(c["AccessToken"])
}

// TestStdioGoSDKSignInSilentRefreshLogout: with go-sdk's CommandTransport, the first run signs
// in through the browser (incremental consent: one sign-in per new permission) and every tool
// works; the second run is silent (no prompt, no token request); once the access tokens have
// expired a run renews them with the refresh token, still without a prompt; logout removes the
// account from the cache, which stays 0600.
func TestStdioGoSDKSignInSilentRefreshLogout(t *testing.T) {
	l := newLocalEnv(t)
	idp := l.ds.Entra
	tools := allToolNames()

	r := l.startCommand(t, "--allow-tools", "all")
	r.callAll(t, tools)
	stderr := r.stop(t)
	if n := idp.PublicCounts().SignIns; n != 4 {
		t.Fatalf("first run: %d sign-ins, want 4 (one per new Graph permission); stderr:\n%s", n, shown(stderr))
	}
	if consent := idp.PublicConsent(adele); len(consent) != 4 {
		t.Fatalf("consent after the first run: %v", consent)
	}
	if fi, err := os.Stat(l.cache); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token cache: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}

	idp.ResetCounts()
	r = l.startCommand(t, "--allow-tools", "all")
	r.callAll(t, tools)
	stderr = r.stop(t)
	n, pc := idp.Counts(), idp.PublicCounts()
	if n.TokenRequests != 0 || n.Authorize != 0 || pc.DeviceCodes != 0 || strings.Contains(stderr, "sign in to Microsoft Entra") {
		t.Fatalf("second run: %d token requests, %d authorize, %d device codes; want 0 (silent). stderr:\n%s", n.TokenRequests, n.Authorize, pc.DeviceCodes, shown(stderr))
	}

	if l.expireAccessTokens(t) == 0 {
		t.Fatal("no access token in the cache")
	}
	idp.ResetCounts()
	r = l.startCommand(t, "--allow-tools", "all")
	r.callAll(t, tools)
	r.stop(t)
	n = idp.Counts()
	if n.Refresh == 0 || n.Authorize != 0 || n.AuthCode != 0 || idp.PublicCounts().DeviceCodes != 0 {
		t.Fatalf("after expiry: counts %+v; want refresh-token redemptions only, no prompt", n)
	}

	out, err := l.command(t, "logout")
	if err != nil || !strings.Contains(out, "Signed out "+adele) {
		t.Fatalf("logout: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(l.cache)
	var c map[string]map[string]any
	if err := json.Unmarshal(b, &c); err != nil || len(c["Account"]) != 0 || len(c["RefreshToken"]) != 0 {
		t.Fatalf("cache after logout holds %d accounts, %d refresh tokens (err %v); want none", len(c["Account"]), len(c["RefreshToken"]), err)
	}
	if fi, _ := os.Stat(l.cache); fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache mode after logout %v", fi.Mode().Perm())
	}
}

// command runs `handler stdio args…` to completion (login, logout) and returns its stderr.
func (l *localEnv) command(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, handlerproc.Binary(t), append([]string{"stdio"}, args...)...)
	cmd.Env = l.environ()
	s := l.watchStderr(t, false)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, s
	err := cmd.Run()
	text := s.text()
	if stdout.Len() != 0 {
		t.Errorf("handler stdio %v wrote to stdout: %q", args, stdout.String())
	}
	return text, err
}

// TestStdioDeviceCode: --device-code prints the code on stderr (never stdout); once the user
// approves it the tool works; no browser was involved. Then `login`, with no browser to open
// (no GRAPHMCP_BROWSER, no display), falls back to a device code and adds another permission.
func TestStdioDeviceCode(t *testing.T) {
	l := newLocalEnv(t)
	r := l.startIO(t, false, "--device-code")
	text, isErr := r.call(t, "get_graph_user_details")
	stderr := r.stop(t)
	if isErr || !strings.Contains(text, "Adele Vance") {
		t.Fatalf("get_graph_user_details: %q; stderr:\n%s", text, shown(stderr))
	}
	pc := l.ds.Entra.PublicCounts()
	if pc.DeviceCodes != 1 || pc.Pending+pc.SlowDown == 0 || l.ds.Entra.Counts().Authorize != 0 {
		t.Fatalf("public counts %+v, authorize %d; want one device code polled until approved, no browser", pc, l.ds.Entra.Counts().Authorize)
	}
	if !strings.Contains(stderr, l.ds.Entra.DeviceLoginURL()) {
		t.Fatalf("stderr does not show the verification URL:\n%s", shown(stderr))
	}
	// No browser program and no display: login falls back to the device code by itself.
	delete(l.env, "GRAPHMCP_BROWSER")
	out, err := l.command(t, "login", "--scopes", "Files.Read")
	if err != nil || !strings.Contains(out, "using the device code flow instead") || !strings.Contains(out, "Signed in as "+adele) ||
		!slices.Contains(l.ds.Entra.PublicConsent(adele), "Files.Read") {
		t.Fatalf("login: %v\n%s", err, out)
	}
}

// TestStdioNegativeCatalogue: each failure is a tool error (or exit) a person can act on, and
// stdout carries only JSON-RPC in every case.
func TestStdioNegativeCatalogue(t *testing.T) {
	t.Run("entra unreachable", func(t *testing.T) {
		l := newLocalEnv(t)
		port, err := freeport.Pick()
		if err != nil {
			t.Fatal(err)
		}
		l.env["ENTRA_AUTHORITY_HOST"] = "https://127.0.0.1:" + strconv.Itoa(port) + "/"
		r := l.startIO(t, false)
		text, isErr := r.call(t, "get_graph_user_details")
		r.stop(t)
		want := "cannot reach Microsoft Entra at https://127.0.0.1:" + strconv.Itoa(port) + "/" + l.ds.Entra.TenantID()
		if !isErr || !strings.Contains(text, want) {
			t.Fatalf("tool result %q (isError %v); want it to contain %q", text, isErr, want)
		}
	})
	t.Run("consent declined", func(t *testing.T) {
		l := newLocalEnv(t)
		r := l.startIO(t, true)
		text, isErr := r.call(t, "list_upcoming_events")
		r.stop(t)
		if !isErr || !strings.Contains(text, "Calendars.Read") || !strings.Contains(text, "AADSTS65004") ||
			!strings.Contains(text, "handler stdio login --scopes Calendars.Read") {
			t.Fatalf("tool result %q; want the permission, the Entra code and how to grant it", text)
		}
	})
	for _, tc := range []struct {
		name, want string
		spoil      func(path string)
	}{
		{"corrupted cache", "is corrupted", func(p string) { os.WriteFile(p, []byte(`{"Account": {"x": tru`), 0o600) }},
		{"foreign-permission cache", "is accessible to other users (mode 0644", func(p string) { os.Chmod(p, 0o644) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLocalEnv(t)
			out, err := l.command(t, "login", "--scopes", "User.Read")
			if err != nil {
				t.Fatalf("login: %v\n%s", err, out)
			}
			tc.spoil(l.cache)
			before, _ := os.ReadFile(l.cache)
			l.ds.Entra.ResetCounts()
			r := l.startIO(t, false)
			text, isErr := r.call(t, "get_graph_user_details")
			stderr := r.stop(t)
			if !isErr || !strings.Contains(text, tc.want) || !strings.Contains(text, l.cache) || !strings.Contains(text, "left untouched") {
				t.Fatalf("tool result %q; want a refusal naming %s and %q", text, l.cache, tc.want)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Fatalf("stderr does not explain the refusal:\n%s", shown(stderr))
			}
			after, _ := os.ReadFile(l.cache)
			if !bytes.Equal(before, after) || l.ds.Entra.Counts().Authorize != 0 {
				t.Fatal("the refused cache was overwritten, or a sign-in was started")
			}
			if _, err := l.command(t, "logout"); err == nil {
				t.Fatal("logout succeeded over a refused cache")
			}
		})
	}
	t.Run("configuration errors", func(t *testing.T) {
		l := newLocalEnv(t)
		delete(l.env, "ENTRA_LOCAL_CLIENT_ID")
		l.env["ENTRA_AUTHORITY_HOST"] = "http://login.example/"
		out, err := l.command(t)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if err == nil || len(lines) != 3 || !strings.Contains(lines[1], "ENTRA_LOCAL_CLIENT_ID is required") ||
			!strings.Contains(lines[2], "ENTRA_AUTHORITY_HOST must use https") {
			t.Fatalf("exit %v, stderr:\n%s\nwant one line per problem", err, shown(out))
		}
	})
}

// TestStdioInspectorCLI: the MCP Inspector CLI runs `handler stdio` itself (stdio transport),
// lists the tools (the mail tool needs an app role, so it is off locally without
// --allow-tools) and calls each; the sign-in URL goes to the GRAPHMCP_BROWSER program. A
// second Inspector run is silent.
func TestStdioInspectorCLI(t *testing.T) {
	l := newLocalEnv(t)
	urls := filepath.Join(l.dir, "urls")
	browser := filepath.Join(l.dir, "browser.sh")
	if err := os.WriteFile(browser, []byte("#!/bin/sh\nprintf '%s\\n' \"$1\" >> '"+urls+"'\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	l.env["GRAPHMCP_BROWSER"] = browser
	stop := l.followURLs(t, urls)
	defer stop()

	var list struct {
		Result mcp.ListToolsResult `json:"result"`
	}
	l.inspector(t, &list, "--method", "tools/list")
	names := toolNames(list.Result.Tools)
	slices.Sort(names)
	if want := []string{"get_graph_user_details", "list_recent_files", "list_upcoming_events"}; !slices.Equal(names, want) {
		t.Fatalf("tools/list = %v, want %v", names, want)
	}
	for _, name := range names {
		var res struct {
			Result mcp.CallToolResult `json:"result"`
		}
		l.inspector(t, &res, "--method", "tools/call", "--tool-name", name)
		if res.Result.IsError || res.Result.StructuredContent == nil {
			t.Fatalf("%s: %s", name, resultText(&res.Result))
		}
	}
	if n := l.ds.Entra.PublicCounts().SignIns; n != 3 {
		t.Fatalf("%d sign-ins, want 3 (one per permission)", n)
	}
	l.ds.Entra.ResetCounts()
	var res struct {
		Result mcp.CallToolResult `json:"result"`
	}
	l.inspector(t, &res, "--method", "tools/call", "--tool-name", "get_graph_user_details")
	if n := l.ds.Entra.Counts(); res.Result.IsError || !strings.Contains(resultText(&res.Result), "Adele Vance") || n.TokenRequests != 0 || n.Authorize != 0 {
		t.Fatalf("second Inspector run: %s, %d token requests, %d authorize; want a silent success", resultText(&res.Result), n.TokenRequests, n.Authorize)
	}

	// Entra unreachable (and nothing cached for this cache file): the Inspector reports a tool
	// error whose text names the authority.
	port, err := freeport.Pick()
	if err != nil {
		t.Fatal(err)
	}
	l.env["ENTRA_AUTHORITY_HOST"] = "https://127.0.0.1:" + strconv.Itoa(port) + "/"
	l.env["GRAPHMCP_TOKEN_CACHE"] = filepath.Join(l.dir, "other-cache.json")
	r := l.inspectorRun(t, "--method", "tools/call", "--tool-name", "get_graph_user_details")
	if r.Code != inspectorToolError || !strings.Contains(string(r.Stdout), "cannot reach Microsoft Entra at https://127.0.0.1:"+strconv.Itoa(port)) {
		t.Fatalf("unreachable Entra: exit %d, stdout %s", r.Code, redact(string(r.Stdout)))
	}
}

// inspectorRun runs the Inspector CLI on `handler stdio` and returns the outcome.
func (l *localEnv) inspectorRun(t *testing.T, args ...string) nodeRun {
	t.Helper()
	full := []string{"--cli", "--transport", "stdio", "--format", "json"}
	for k, v := range l.env {
		full = append(full, "-e", k+"="+v)
	}
	full = append(full, "-e", "HOME="+l.dir)
	full = append(full, args...)
	full = append(full, "--", handlerproc.Binary(t), "stdio")
	return runNode(t, "mcp-inspector", []string{"MCP_INSPECTOR_SECRET_STORE=memory"}, full...)
}

// followURLs plays the browser for the GRAPHMCP_BROWSER program: every URL it appends to
// file is opened and signed in.
func (l *localEnv) followURLs(t *testing.T, file string) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		seen := 0
		for ctx.Err() == nil {
			b, _ := os.ReadFile(file)
			lines := strings.Fields(string(b))
			for ; seen < len(lines); seen++ {
				sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
				if err := l.user(false).Authorize(sctx, lines[seen]); err != nil {
					t.Errorf("browser: %v", err)
				}
				scancel()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return func() { cancel(); <-done }
}

// inspector runs `mcp-inspector --cli <handler> stdio --transport stdio …` with the local
// environment passed through -e, requires exit code 0 and decodes the JSON output.
func (l *localEnv) inspector(t *testing.T, out any, args ...string) {
	t.Helper()
	r := l.inspectorRun(t, args...)
	if r.Code != inspectorOK {
		t.Fatalf("inspector %v: exit %d\nstderr: %s\nstdout: %s", args, r.Code, redact(r.Stderr), redact(string(r.Stdout)))
	}
	if err := json.Unmarshal(r.Stdout, out); err != nil {
		t.Fatalf("inspector %v: stdout is not the expected JSON (%v): %s", args, err, redact(string(r.Stdout)))
	}
}
