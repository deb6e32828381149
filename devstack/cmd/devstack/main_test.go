package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"example.com/graphmcp/devstack/entra"
	"example.com/graphmcp/internal/freeport"
	"example.com/graphmcp/internal/localstack"
	"example.com/graphmcp/internal/syncbuf"
	"example.com/graphmcp/internal/testdeps"
)

// Bounds for the waits below: generous, because the first start in a fresh checkout builds
// the handler and compiles the policies with Mono. They bound hangs; nothing asserts timing.
const (
	startTimeout = 4 * time.Minute
	stopTimeout  = time.Minute
)

// TestDevSurvivesRestart runs the `make dev` program as a person does: it waits for the
// "MCP endpoint:" line, checks the endpoint's 401 challenge and protected-resource metadata
// over TLS from the printed CA, registers a client, checks the Entra stand-in shows its real
// sign-in form, interrupts the program and checks that every process it started has exited.
// Then it starts the program again on the same directory: the CA is the same (clients keep
// trusting it) and the gateway still knows the client registered before the restart.
func TestDevSurvivesRestart(t *testing.T) {
	testdeps.Tool(t, "mono")
	testdeps.Tool(t, "mcs")
	bin := buildDev(t)
	dir := t.TempDir()
	gwPort, entraPort := freePort(t), freePort(t)
	args := []string{"-dir", dir, "-port", strconv.Itoa(gwPort), "-entra-port", strconv.Itoa(entraPort)}
	base := fmt.Sprintf("https://127.0.0.1:%d", gwPort)
	redirect := "http://127.0.0.1:9/devstack-test/callback"

	// First run.
	dev := startDev(t, bin, args)
	banner := dev.banner
	if got := banner["MCP endpoint"]; got != base+"/mcp" {
		t.Fatalf("MCP endpoint line = %q, want %q", got, base+"/mcp")
	}
	caFile := filepath.Join(dir, "ca.pem")
	for _, want := range []string{"NODE_EXTRA_CA_CERTS=" + caFile, "SSL_CERT_FILE=" + caFile, "adele@contoso.test  password: adele-dev-password  (Adele Vance; app role Tools.Mail)",
		"alex@contoso.test  password: alex-dev-password  (Alex Wilber; no app role)"} {
		if !strings.Contains(dev.text(), want) {
			t.Errorf("banner lacks %q:\n%s", want, dev.text())
		}
	}
	client := clientTrusting(t, caFile)
	checkChallenge(t, client, base)
	clientID := register(t, client, base, redirect)
	if got := authorizeStatus(t, client, base, clientID, redirect); got != http.StatusFound {
		t.Fatalf("authorize with the new client: status %d, want 302 to the consent page", got)
	}
	checkSignInForm(t, client, fmt.Sprintf("https://127.0.0.1:%d", entraPort), base)
	dev.stop(t, syscall.SIGINT)
	caBefore := readFile(t, caFile)

	// Second run on the same directory.
	dev = startDev(t, bin, args)
	if got := dev.banner["MCP endpoint"]; got != base+"/mcp" {
		t.Fatalf("after restart: MCP endpoint line = %q, want %q", got, base+"/mcp")
	}
	if !bytes.Equal(readFile(t, caFile), caBefore) {
		t.Fatal("the CA changed across the restart: clients would have to trust a new one")
	}
	checkChallenge(t, client, base) // the client built before the restart still trusts the gateway
	if got := authorizeStatus(t, client, base, clientID, redirect); got != http.StatusFound {
		t.Fatalf("authorize with the client registered before the restart: status %d, want 302 to the consent page", got)
	}
	if got := authorizeStatus(t, client, base, "never-registered", redirect); got == http.StatusFound {
		t.Fatal("authorize with an unknown client_id redirected; the check above would prove nothing")
	}
	dev.stop(t, syscall.SIGTERM)
}

// buildDev compiles this program once for the test.
func buildDev(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "devstack")
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// devProcess is one run of the program.
type devProcess struct {
	cmd      *exec.Cmd
	banner   map[string]string // "MCP endpoint" → URL, from "Key: value" lines
	lines    []string
	stderr   *syncbuf.Buffer
	exited   chan struct{}
	children []procID
}

func (d *devProcess) text() string { return strings.Join(d.lines, "\n") }

func startDev(t *testing.T, bin string, args []string) *devProcess {
	t.Helper()
	d := &devProcess{cmd: exec.Command(bin, args...), banner: map[string]string{}, stderr: &syncbuf.Buffer{}, exited: make(chan struct{})}
	d.cmd.Stderr = d.stderr
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-d.exited:
		default:
			d.cmd.Process.Signal(syscall.SIGTERM)
			<-d.exited
		}
	})
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { d.cmd.Wait(); close(d.exited) }()
	deadline := time.After(startTimeout)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				<-d.exited
				t.Fatalf("devstack exited before it was ready (%v); stderr:\n%s", d.cmd.ProcessState, d.stderr.String())
			}
			d.lines = append(d.lines, line)
			if k, v, ok := strings.Cut(line, ": "); ok {
				d.banner[k] = v
			}
			if strings.HasPrefix(line, "Ready.") {
				go func() {
					for range lines {
					}
				}()
				d.children = descendants(t, d.cmd.Process.Pid)
				return d
			}
		case <-deadline:
			t.Fatalf("devstack printed no Ready line within %s; stdout so far:\n%s\nstderr:\n%s", startTimeout, d.text(), d.stderr.String())
		}
	}
}

// stop sends sig and checks that the program exits cleanly and that every process it had
// started (the handler, the Mono emulator) is gone.
func (d *devProcess) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if len(d.children) < 2 {
		t.Fatalf("expected the handler and the emulator among the program's child processes, found %v", d.children)
	}
	if err := d.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.exited:
	case <-time.After(stopTimeout):
		t.Fatalf("devstack did not exit within %s after %v; stderr:\n%s", stopTimeout, sig, d.stderr.String())
	}
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("devstack exit code %d after %v; stderr:\n%s", code, sig, d.stderr.String())
	}
	for _, c := range d.children {
		if c.alive() {
			t.Errorf("process %d (%s) outlived devstack", c.pid, c.name)
			syscall.Kill(c.pid, syscall.SIGKILL)
		}
	}
	if !strings.Contains(d.stderr.String(), "devstack: stopped") {
		t.Errorf("no shutdown message on stderr:\n%s", d.stderr.String())
	}
}

// procID names a process by pid and start time, so a recycled pid is not mistaken for it.
type procID struct {
	pid   int
	start string
	name  string
}

func (p procID) alive() bool {
	_, start, name, err := procStat(p.pid)
	return err == nil && start == p.start && name == p.name
}

// procStat reads the parent pid, start time and command name from /proc/<pid>/stat.
func procStat(pid int) (ppid int, start, name string, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", "", err
	}
	s := string(b)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return 0, "", "", fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	name = s[open+1 : closing]
	f := strings.Fields(s[closing+1:]) // f[0] state, f[1] ppid, ..., f[19] starttime
	if len(f) < 20 {
		return 0, "", "", fmt.Errorf("short /proc/%d/stat", pid)
	}
	if f[0] == "Z" {
		return 0, "", "", fmt.Errorf("process %d is a zombie", pid)
	}
	ppid, _ = strconv.Atoi(f[1])
	return ppid, f[19], name, nil
}

// descendants lists every living process below root.
func descendants(t *testing.T, root int) []procID {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("read /proc: %v", err)
	}
	parent := map[int]int{}
	info := map[int]procID{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, start, name, err := procStat(pid)
		if err != nil {
			continue
		}
		parent[pid] = ppid
		info[pid] = procID{pid, start, name}
	}
	var out []procID
	for pid := range info {
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == root {
				out = append(out, info[pid])
				break
			}
		}
	}
	return out
}

func clientTrusting(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(readFile(t, caFile)) {
		t.Fatalf("%s holds no certificate", caFile)
	}
	return &http.Client{
		Timeout:       30 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// checkChallenge: /mcp without a token → 401 naming the metadata, which names /mcp.
func checkChallenge(t *testing.T, c *http.Client, base string) {
	t.Helper()
	resp, err := c.Post(base+"/mcp", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	prmURL := base + "/.well-known/oauth-protected-resource/mcp"
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `resource_metadata="`+prmURL+`"`) {
		t.Fatalf("POST /mcp without a token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if err := localstack.CheckMetadata(c, base); err != nil {
		t.Fatal(err)
	}
}

func register(t *testing.T, c *http.Client, base, redirect string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"client_name": "devstack test client", "redirect_uris": []string{redirect},
		"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
		"token_endpoint_auth_method": "none",
	})
	resp, err := c.Post(base+"/register", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reg struct {
		ClientID string `json:"client_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&reg); err != nil || resp.StatusCode != http.StatusCreated || reg.ClientID == "" {
		t.Fatalf("register: status %d, %v", resp.StatusCode, err)
	}
	return reg.ClientID
}

// authorizeStatus starts an authorization request; 302 to /consent means the gateway knows
// the client and its redirect URI (an unknown client gets an error page).
func authorizeStatus(t *testing.T, c *http.Client, base, clientID, redirect string) int {
	t.Helper()
	q := url.Values{
		"client_id": {clientID}, "redirect_uri": {redirect}, "response_type": {"code"}, "state": {"devstack-test"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGKSsbeV3Q"}, "code_challenge_method": {"S256"},
		"resource": {base + "/mcp"},
	}
	resp, err := c.Get(base + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusFound && !strings.HasPrefix(resp.Header.Get("Location"), base+"/consent?") {
		t.Fatalf("authorize redirected to %q, want the consent page", resp.Header.Get("Location"))
	}
	return resp.StatusCode
}

// checkSignInForm: in dev the Entra stand-in shows its username/password form (no auto-approve).
func checkSignInForm(t *testing.T, c *http.Client, entraURL, base string) {
	t.Helper()
	q := url.Values{
		"client_id": {entra.DefaultAPIClientID}, "redirect_uri": {base + "/oauth-callback"}, "response_type": {"code"},
		"scope": {"api://" + entra.DefaultAPIClientID + "/access_as_user"}, "state": {"s"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGKSsbeV3Q"}, "code_challenge_method": {"S256"},
	}
	resp, err := c.Get(entraURL + "/" + entra.DefaultTenantID + "/oauth2/v2.0/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `type="password"`) {
		t.Fatalf("Entra stand-in /authorize: status %d, no password form (auto-approve must be off in dev)", resp.StatusCode)
	}
}

// freePort picks a port for the program's flags. The program binds it itself, so another
// process could take it first; the test then fails with the program's "port in use" message.
func freePort(t *testing.T) int {
	t.Helper()
	p, err := freeport.Pick()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFlags(t *testing.T) {
	env := map[string]string{"DEVSTACK_PORT": "9443", "DEVSTACK_DIR": "/tmp/x"}
	getenv := func(k string) string { return env[k] }
	var errs strings.Builder
	c, err := parseFlags(nil, getenv, &errs)
	if err != nil || c.gatewayPort != 9443 || c.entraPort != defaultEntraPort || c.dir != "/tmp/x" || c.verbose {
		t.Fatalf("env defaults: %+v %v", c, err)
	}
	c, err = parseFlags([]string{"-port", "7443", "-v"}, getenv, &errs)
	if err != nil || c.gatewayPort != 7443 || !c.verbose {
		t.Fatalf("flags over env: %+v %v", c, err)
	}
	for _, bad := range [][]string{{"-port", "0"}, {"-entra-port", "70000"}, {"-port", "8444"}, {"extra"}} {
		errs.Reset()
		if _, err := parseFlags(bad, func(string) string { return "" }, &errs); err == nil || errs.Len() == 0 {
			t.Errorf("%v accepted (stderr %q)", bad, errs.String())
		}
	}
}
