// Package apimemu runs the project's Azure API Management policies locally: it compiles every
// policy expression (apim-policies/toolchain), starts the C# emulator (apim-policies/emulator)
// on Mono, and fronts it with a Go listener (optionally TLS) on loopback.
//
//	gw, err := apimemu.Start(ctx, &apimemu.Options{
//		NamedValues: map[string]string{"function-key": "k"},
//		Backends:    map[string]string{"function": backend.URL},
//		HostMap:     map[string]string{"login.microsoftonline.com": entra.URL},
//		MSIEndpoint: mi.URL + "/msi/token", MSIHeader: "secret",
//	})
//	if err != nil { ... }
//	defer gw.Close()
//	resp, _ := http.Get(gw.URL() + "/.well-known/oauth-protected-resource")
//	events, _ := gw.Events() // trace / emit-metric / log-to-eventhub records, in order
//
// The manifest (apim-policies/gateway.json by default) names the APIs, operations, policy files,
// fragments, named values and backends; every named value must be given a value. Builds are
// cached by content hash under apim-policies/.build, so repeated starts with the same policies
// and named values do not recompile.
package apimemu

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"example.com/graphmcp/apim-policies/toolchain"
	"example.com/graphmcp/internal/freeport"
)

// Options configure the emulator. A nil *Options means the real manifest with no named values
// (which only works while the manifest declares none).
type Options struct {
	// Manifest is the gateway manifest. Default: apim-policies/gateway.json of this checkout.
	Manifest string
	// NamedValues gives a value to every named value the manifest declares ({{name}} in policies).
	NamedValues map[string]string
	// Backends overrides backend URLs by id (the manifest's URLs point at Azure).
	Backends map[string]string
	// HostMap sends outbound requests for a host ("login.microsoftonline.com" or "host:port") to a
	// local base URL instead, e.g. the Entra ID or function stand-ins.
	HostMap map[string]string
	// MSIEndpoint and MSIHeader are the managed-identity endpoint (App Service protocol,
	// IDENTITY_ENDPOINT / IDENTITY_HEADER) used by authentication-managed-identity.
	MSIEndpoint, MSIHeader string
	// TLS, when set, makes the front listener serve HTTPS with it (e.g. a devstack/localca certificate).
	TLS *tls.Config
	// Addr is the front listener address, on loopback. Default 127.0.0.1:0 (a free port).
	Addr string
	// Listener, when set, is the front listener (loopback), used instead of listening on Addr:
	// a caller that must know the port before Start (to name it in a named value or an allow
	// list) keeps it bound from then on, so no other process can take it (internal/freeport).
	// Start takes ownership: Close, or a failed Start, closes it.
	Listener net.Listener
	// AllowExternal lets outbound requests reach hosts that are neither loopback nor in HostMap.
	// Default false: such a request fails (reaching forward-request/send-request's error path), so
	// a local run never talks to a real service by accident.
	AllowExternal bool
	// Stdout and Stderr receive the emulator's own output. Default: os.Stderr for both.
	Stdout, Stderr io.Writer
	// Tools locates mcs/mono/monodis; zero value: PATH.
	Tools toolchain.Tools
	// ServiceName is context.Deployment.ServiceName. Default "apim-emulator".
	ServiceName string
	// OmitRetryAfterHeader makes rate-limit-by-key answer its 429 without the Retry-After header
	// (a retry-after-variable-name variable is still set). APIM's documentation does not say
	// whether that header is on context.Response when on-error runs; tests use this to show the
	// policies produce Retry-After from the variable themselves.
	OmitRetryAfterHeader bool
}

// Gateway is a running emulator.
type Gateway struct {
	url       string
	server    *http.Server
	cmd       *exec.Cmd
	stdin     io.WriteCloser
	dir       string
	traceFile string
	done      chan struct{}
	closeOnce sync.Once
}

// URL is the front listener's base URL (http:// or https://127.0.0.1:port).
func (g *Gateway) URL() string { return g.url }

// TraceFile is the JSON-lines file the emulator appends trace/metric/event-hub records to.
func (g *Gateway) TraceFile() string { return g.traceFile }

// Event is one record written by trace, emit-metric, log-to-eventhub or context.Trace.
type Event struct {
	Type      string            `json:"type"` // trace | metric | eventhub
	Time      string            `json:"time"`
	RequestID string            `json:"requestId"`
	API       string            `json:"api"`
	Operation string            `json:"operation"`
	Source    string            `json:"source"`   // trace source, metric name, logger id
	Severity  string            `json:"severity"` // trace severity, metric namespace
	Message   string            `json:"message"`  // trace message, metric value, event-hub payload
	Fields    map[string]string `json:"fields"`   // trace metadata, metric dimensions
}

// Events returns every record written so far, in order. Records are written before the response
// they belong to is sent, so a test can read them right after its request returns.
func (g *Gateway) Events() ([]Event, error) {
	b, err := os.ReadFile(g.traceFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// Only complete lines: a record being appended right now is read next time.
	if i := strings.LastIndexByte(string(b), '\n'); i >= 0 {
		b = b[:i+1]
	} else {
		b = nil
	}
	var out []Event
	for _, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var e Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			return out, fmt.Errorf("apimemu: bad trace line: %w", err)
		}
		out = append(out, e)
	}
	return out, nil
}

// Close stops the front listener and the emulator process.
func (g *Gateway) Close() error {
	g.closeOnce.Do(func() {
		if g.server != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = g.server.Shutdown(ctx)
			cancel()
		}
		g.stop()
		os.RemoveAll(g.dir)
	})
	return nil
}

func (g *Gateway) stop() {
	if g.cmd == nil || g.cmd.Process == nil {
		return
	}
	_ = g.stdin.Close() // the emulator exits when its stdin closes
	select {
	case <-g.done:
	case <-time.After(5 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.done
	}
}

// Start compiles the policies' expressions with the named values, starts the emulator and its
// front listener, and returns once both accept requests.
func Start(ctx context.Context, opts *Options) (*Gateway, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Manifest == "" {
		o.Manifest = filepath.Join(toolchain.PoliciesDir(), "gateway.json")
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Stdout == nil {
		o.Stdout = os.Stderr
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Listener != nil {
		o.Addr = o.Listener.Addr().String()
		if tcp, ok := o.Listener.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
			o.Listener.Close()
			return nil, fmt.Errorf("apimemu: Options.Listener is on %s; give it a loopback listener (freeport.Listen)", o.Addr)
		}
	}
	if host, _, err := net.SplitHostPort(o.Addr); err != nil || !isLoopback(host) {
		return nil, fmt.Errorf("apimemu: Options.Addr %q must be a loopback host:port such as 127.0.0.1:0", o.Addr)
	}
	ownListener := o.Listener
	defer func() {
		if ownListener != nil { // not handed to the front server: Start failed
			ownListener.Close()
		}
	}()
	gw, ds := toolchain.Load(o.Manifest)
	if len(ds) > 0 {
		return nil, fmt.Errorf("apimemu: the policies do not pass the checker:\n%v", ds.Error())
	}
	var missing []string
	for _, nv := range gw.Manifest.NamedValues {
		if _, ok := o.NamedValues[nv.Name]; !ok {
			missing = append(missing, nv.Name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("apimemu: named values without a value: %s (set Options.NamedValues)", strings.Join(missing, ", "))
	}
	exe, err := o.Tools.BuildEmulator(ctx)
	if err != nil {
		return nil, err
	}
	exprDLL := ""
	if len(gw.Expressions) > 0 {
		dll, cds, err := o.Tools.CompileExpressions(ctx, toolchain.GenerateCSharp(gw.Expressions, o.NamedValues))
		if err != nil {
			return nil, err
		}
		if len(cds) > 0 {
			// Messages may quote code with substituted named values; print positions and codes only.
			var lines []string
			for _, d := range cds {
				code, _, _ := strings.Cut(d.Msg, ":")
				lines = append(lines, fmt.Sprintf("%s:%d: %s", d.File, d.Line, code))
			}
			return nil, fmt.Errorf("apimemu: expressions do not compile with these named values (run the checker for details):\n%s", strings.Join(lines, "\n"))
		}
		exprDLL = dll
	}
	dir, err := os.MkdirTemp("", "apimemu-")
	if err != nil {
		return nil, err
	}
	g := &Gateway{dir: dir, traceFile: filepath.Join(dir, "events.jsonl")}
	manifestAbs, _ := filepath.Abs(o.Manifest)
	// Mono's HttpListener binds the port itself: a lost race is retried on a new port.
	port, err := freeport.Retry(func(port int) error {
		cfg := map[string]any{
			"listen": fmt.Sprintf("http://127.0.0.1:%d/", port), "manifest": manifestAbs, "expressions": exprDLL,
			"namedValues": nonNil(o.NamedValues), "backends": nonNil(o.Backends), "hostMap": nonNil(o.HostMap),
			"msiEndpoint": o.MSIEndpoint, "msiHeader": o.MSIHeader, "traceFile": g.traceFile, "serviceName": o.ServiceName,
			"allowExternal": o.AllowExternal, "omitRetryAfterHeader": o.OmitRetryAfterHeader,
		}
		b, _ := json.Marshal(cfg)
		cfgPath := filepath.Join(dir, "config.json")
		if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
			return err
		}
		return g.launch(ctx, o, exe, cfgPath)
	})
	if err != nil {
		g.Close()
		return nil, err
	}
	backend, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", port))
	if err := g.serve(o, backend); err != nil {
		g.Close()
		return nil, err
	}
	ownListener = nil // the front server owns it now
	return g, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// launch starts mono and waits for the ready line (or the process's exit).
func (g *Gateway) launch(ctx context.Context, o Options, exe, cfgPath string) error {
	mono := o.Tools.Mono
	if mono == "" {
		var err error
		if mono, err = exec.LookPath("mono"); err != nil {
			return fmt.Errorf("apimemu: mono not found: install mono-runtime (or run .ci/run)")
		}
	}
	cmd := exec.Command(mono, "--debug", exe, cfgPath)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr strings.Builder
	var mu sync.Mutex
	cmd.Stderr = writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		if stderr.Len() < 16384 {
			stderr.Write(p)
		}
		mu.Unlock()
		return o.Stderr.Write(p)
	})
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("apimemu: starting mono: %w", err)
	}
	g.cmd, g.stdin, g.done = cmd, stdin, make(chan struct{})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			if !signalled && strings.HasPrefix(line, "apimemu: listening on ") {
				signalled = true
				close(ready)
				continue
			}
			fmt.Fprintln(o.Stdout, line)
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); close(g.done) }()
	select {
	case <-ready:
		return nil
	case err := <-exited:
		g.cmd = nil
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 3 { // the emulator's "cannot listen" exit
			return fmt.Errorf("%w: the emulator could not listen", freeport.ErrTaken)
		}
		mu.Lock()
		defer mu.Unlock()
		return fmt.Errorf("apimemu: the emulator exited before listening (%v):\n%s", err, stderr.String())
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-g.done
		g.cmd = nil
		return ctx.Err()
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

var hopByHop = map[string]bool{"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true}

// serve starts the front listener: it terminates TLS and relays each request with its exact
// header lines, scheme, host and client address, which HttpListener would otherwise lose.
func (g *Gateway) serve(o Options, backend *url.URL) error {
	ln := o.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", o.Addr); err != nil {
			return err
		}
	}
	scheme := "http"
	if o.TLS != nil {
		scheme = "https"
		ln = tls.NewListener(ln, o.TLS)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(backend)
			pr.Out.URL.RawQuery = pr.In.URL.RawQuery
			pr.Out.URL.Path, pr.Out.URL.RawPath = pr.In.URL.Path, pr.In.URL.RawPath
			relayed := map[string][]string{"Host": {pr.In.Host}}
			for k, v := range pr.In.Header {
				if hopByHop[k] || strings.HasPrefix(strings.ToLower(k), "x-apimemu-") {
					continue
				}
				relayed[k] = v
			}
			for k := range pr.Out.Header {
				if strings.HasPrefix(strings.ToLower(k), "x-apimemu-") {
					pr.Out.Header.Del(k)
				}
			}
			b, _ := json.Marshal(relayed)
			pr.Out.Header.Set("X-Apimemu-Headers", base64.StdEncoding.EncodeToString(b))
			pr.Out.Header.Set("X-Apimemu-Scheme", scheme)
			pr.Out.Header.Set("X-Apimemu-Host", pr.In.Host)
			ip, _, _ := net.SplitHostPort(pr.In.RemoteAddr)
			pr.Out.Header.Set("X-Apimemu-Client-Ip", ip)
		},
		FlushInterval: -1,
		ModifyResponse: func(r *http.Response) error {
			// HttpListener stamps its own Server header; APIM does not add one.
			if strings.HasPrefix(r.Header.Get("Server"), "Mono-HTTPAPI") {
				r.Header.Del("Server")
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "apimemu: emulator unreachable", http.StatusBadGateway)
		},
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true},
	}
	g.server = &http.Server{Handler: proxy, ReadHeaderTimeout: 30 * time.Second}
	g.url = fmt.Sprintf("%s://%s", scheme, ln.Addr().String())
	go g.server.Serve(ln)
	return nil
}
