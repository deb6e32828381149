package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"example.com/graphmcp/devstack"
	"example.com/graphmcp/devstack/entra"
	"example.com/graphmcp/internal/freeport"
)

// options are the command's flags.
type options struct {
	handler, gogc, cpus, profileDir, phases string
	users, workers, coldRuns                int
	duration, soak                          time.Duration
	entraLatency, miLatency, graphLatency   time.Duration
	openLoad                                float64 // open-loop rate as a fraction of the maximum
}

// bench holds the stand-ins and the users' tokens; it starts handler processes against them.
type bench struct {
	o      options
	dir    string
	st     *devstack.Stack
	tokens []string // one Entra access token per user, for /mcp
	client *http.Client
	runs   int
}

// soakUsers is the user count of the soak run (the "100 users").
const soakUsers = 100

func newBench(o options, dir string) (*bench, error) {
	users := make([]entra.User, 0, max(o.users, soakUsers))
	for i := range max(o.users, soakUsers) {
		upn := fmt.Sprintf("bench%03d@contoso.test", i)
		users = append(users, entra.User{ObjectID: fmt.Sprintf("b0000000-0000-4000-8000-%012d", i), UserPrincipalName: upn,
			DisplayName: fmt.Sprintf("Bench User %03d", i), Mail: upn, GraphConsent: []string{"User.Read"}})
	}
	st, err := devstack.Start(&devstack.Options{Dir: dir, Entra: entra.Options{Users: users}})
	if err != nil {
		return nil, err
	}
	b := &bench{o: o, dir: dir, st: st}
	for _, u := range users {
		tok, err := st.Entra.UserToken(u.UserPrincipalName, nil)
		if err != nil {
			st.Close()
			return nil, err
		}
		b.tokens = append(b.tokens, tok)
	}
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}
	b.client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	return b, nil
}

func (b *bench) close() { b.st.Close() }

// setLatency slows every stand-in (0 = none).
func (b *bench) setLatency(entraD, miD, graphD time.Duration) {
	b.st.Entra.SetLatency(entraD)
	b.st.MSI.SetLatency(miD)
	b.st.Graph.SetLatency(graphD)
}

// proc is one running handler process.
type proc struct {
	cmd     *exec.Cmd
	log     *handlerLog // the handler's stdout
	url     string
	diag    string // diagnostics base URL
	started time.Time
	exited  chan struct{} // closed once the process has exited (cmd.Wait returned)
}

// start execs the handler with a fresh state file and returns at once; see waitReady.
func (b *bench) start() (*proc, error) {
	b.runs++
	port, err := freeport.Pick()
	if err != nil {
		return nil, err
	}
	diagPort, err := freeport.Pick()
	if err != nil {
		return nil, err
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + b.dir,
		"FUNCTIONS_CUSTOMHANDLER_PORT=" + strconv.Itoa(port),
		"MCP_RESOURCE_METADATA_URL=https://gateway.example/.well-known/oauth-protected-resource/mcp",
		"STATE_FILE=" + filepath.Join(b.dir, fmt.Sprintf("state-%d.db", b.runs)),
		"HANDLER_DIAGNOSTICS_ADDR=127.0.0.1:" + strconv.Itoa(diagPort)}
	for k, v := range b.st.Env() {
		env = append(env, k+"="+v)
	}
	if b.o.gogc != "" {
		env = append(env, "GOGC="+b.o.gogc)
	}
	name, args := b.o.handler, []string(nil)
	if b.o.cpus != "" {
		name, args = "taskset", []string{"-c", b.o.cpus, b.o.handler}
	}
	cmd := exec.Command(name, args...)
	cmd.Env = env
	cmd.Stderr = os.Stderr // configuration errors; the JSON log on stdout is read by handlerLog
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, log: &handlerLog{}, url: "http://127.0.0.1:" + strconv.Itoa(port), diag: "http://127.0.0.1:" + strconv.Itoa(diagPort), exited: make(chan struct{})}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", b.o.handler, err)
	}
	go p.log.drain(stdout)
	go func() { _ = cmd.Wait(); close(p.exited) }()
	return p, nil
}

// stop ends the process (SIGTERM, then kill after 5 s).
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// waitReady polls GET / every 250 µs until it answers 200 and the Entra stand-in has served a
// JWKS request since jwks0, and returns the time since start (and when each happened).
func (b *bench) waitReady(p *proc, jwks0 int64) (time.Duration, error) {
	d, _, _, err := b.waitReadyParts(p, jwks0)
	return d, err
}

func (b *bench) waitReadyParts(p *proc, jwks0 int64) (ready, pingAt, jwksAt time.Duration, err error) {
	dialer := &net.Dialer{Timeout: time.Second}
	poll := &http.Client{Timeout: time.Second, Transport: &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true}}
	deadline := p.started.Add(20 * time.Second)
	ping, jwks := false, false
	for time.Now().Before(deadline) {
		if !ping {
			if resp, err := poll.Get(p.url + "/"); err == nil {
				resp.Body.Close()
				if ping = resp.StatusCode == http.StatusOK; ping {
					pingAt = time.Since(p.started)
				}
			}
		}
		if !jwks && b.st.Entra.Counts().JWKS > jwks0 {
			jwks, jwksAt = true, time.Since(p.started)
		}
		if ping && jwks {
			return time.Since(p.started), pingAt, jwksAt, nil
		}
		select {
		case <-p.exited:
			return 0, 0, 0, fmt.Errorf("the handler exited during start")
		default:
		}
		time.Sleep(250 * time.Microsecond)
	}
	return 0, 0, 0, fmt.Errorf("the handler was not ready within 20 s (GET / 200: %v, JWKS fetched: %v)", ping, jwks)
}

var callBody = []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_graph_user_details","arguments":{}}}`)

// call sends one tools/call get_graph_user_details as user i and checks the answer.
func (b *bench) call(ctx context.Context, p *proc, i int) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.url+"/mcp", bytes.NewReader(callBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-06-18")
	req.Header.Set("Authorization", "Bearer "+b.tokens[i])
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var msg struct {
		Result *struct {
			IsError bool `json:"isError"`
		} `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&msg); err != nil || resp.StatusCode != http.StatusOK || msg.Result == nil || msg.Result.IsError {
		return fmt.Errorf("tools/call as user %d: status %d, decode %v", i, resp.StatusCode, err)
	}
	return nil
}

// cpu is the process's user+system CPU time so far (from /proc, 10 ms ticks).
func (p *proc) cpu() time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start at state; utime and stime
	// are fields 14 and 15.
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// rss is the process's resident set in bytes.
func (p *proc) rss() int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// profile saves /debug/pprof/<name> of the process to dir/<file> (CPU: blocks for the duration).
func (b *bench) profile(p *proc, name, file string) error {
	c := &http.Client{Timeout: b.o.duration + time.Minute}
	resp, err := c.Get(p.diag + "/debug/pprof/" + name)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile %s: status %d", name, resp.StatusCode)
	}
	f, err := os.Create(filepath.Join(b.o.profileDir, file))
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

// runtimeFigures reads the diagnostics listener; ok is false for binaries without one.
func (b *bench) runtimeFigures(p *proc) (rt struct {
	Goroutines int    `json:"goroutines"`
	AllocBytes uint64 `json:"alloc_bytes"`
}, ok bool) {
	resp, err := b.client.Get(p.diag + "/debug/runtime")
	if err != nil {
		return rt, false
	}
	defer resp.Body.Close()
	return rt, resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&rt) == nil
}
