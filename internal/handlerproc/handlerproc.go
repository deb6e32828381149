// Package handlerproc runs the real handler binary as a subprocess for tests, the way the
// Functions host does: it builds ./handler once per test process, starts it with an explicit
// environment and FUNCTIONS_CUSTOMHANDLER_PORT, waits for the host's readiness ping (GET /
// answered with any status) and keeps every stdout line so tests can assert on the JSON logs.
//
//	func TestMain(m *testing.M) { code := m.Run(); handlerproc.RemoveBuild(); os.Exit(code) }
//
//	func TestSomething(t *testing.T) {
//		p := handlerproc.Start(t, &handlerproc.Options{Env: map[string]string{
//			"AZURE_TENANT_ID": tid, /* … the handler's env contract … */
//		}})
//		resp, _ := http.Get(p.URL() + "/")
//		for _, rec := range p.Records(t) { … } // stdout JSON lines
//	}
//
// The child does not inherit the test's environment (only PATH, HOME and TMPDIR), so a stray
// IDENTITY_ENDPOINT or MSI_ENDPOINT on a developer machine cannot change what is tested.
// The process is stopped (SIGTERM, then SIGKILL) by t.Cleanup.
package handlerproc

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"example.com/graphmcp/internal/freeport"
)

// Timeouts are upper bounds for failure reporting, never expectations about speed.
const (
	// readyTimeout mirrors the host's InitializationTimeout (30 s).
	readyTimeout = 30 * time.Second
	// pollInterval is the host's readiness ping interval.
	pollInterval = 25 * time.Millisecond
	stopTimeout  = 10 * time.Second
)

var build struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// Binary builds the handler (go build ./handler) once per test process and returns the path
// of the executable, failing the test when the build fails. Later calls reuse it; Go's build
// cache makes the first call cheap when nothing changed.
func Binary(tb testing.TB) string {
	tb.Helper()
	p, err := BuildBinary()
	if err != nil {
		tb.Fatalf("handlerproc: %v", err)
	}
	return p
}

// BuildBinary is Binary for callers without a testing.TB (TestMain, shared fixtures).
func BuildBinary() (string, error) {
	build.once.Do(func() {
		root := repoRoot()
		if _, err := os.Stat(filepath.Join(root, "handler", "main.go")); err != nil {
			build.err = fmt.Errorf("handler/main.go not found under %s: the handler package must exist to run it", root)
			return
		}
		dir, err := os.MkdirTemp("", "handlerproc-")
		if err != nil {
			build.err = err
			return
		}
		build.dir = dir
		out := filepath.Join(dir, "handler")
		cmd := exec.Command(goTool(), "build", "-o", out, "./handler")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build ./handler: %v\n%s", err, b)
			return
		}
		build.path = out
	})
	return build.path, build.err
}

// RemoveBuild deletes the binary built by Binary. Call it from TestMain after m.Run.
func RemoveBuild() {
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
}

// repoRoot locates the repository from this source file.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}

// Options configure a handler process.
type Options struct {
	// Env is the handler's environment on top of PATH, HOME and TMPDIR. Start sets
	// FUNCTIONS_CUSTOMHANDLER_PORT to a free loopback port unless Env has it (then a port
	// taken by another process is reported as freeport.ErrTaken instead of retried).
	Env map[string]string
	// Binary overrides the executable (default: Binary(tb)).
	Binary string
}

// Process is a running handler.
type Process struct {
	cmd     *exec.Cmd
	port    int
	stdout  *lineBuffer
	stderr  *lineBuffer
	exited  chan struct{}
	waitErr error

	stopOnce sync.Once
}

// Start launches the handler and returns once it answers GET /. It fails the test, with the
// process's stderr, when the process exits first or is not ready within 30 s.
func Start(tb testing.TB, opts *Options) *Process {
	tb.Helper()
	p, err := StartProcess(opts)
	if p != nil {
		tb.Cleanup(func() { p.Stop() })
	}
	if err != nil {
		tb.Fatalf("handlerproc: %v", err)
	}
	return p
}

// StartProcess is Start for callers without a testing.TB (a fixture shared by a test binary,
// stopped from TestMain). The caller must Stop the process. The error includes the process's
// stderr when it exited before becoming ready; a non-nil Process is returned with it so the
// caller can still Stop it.
//
// The handler binds FUNCTIONS_CUSTOMHANDLER_PORT itself, so a port picked for it can be taken
// by another process first. When Start picks the port, it starts again on a new one when that
// happens (freeport.Retry); when Env fixes the port, the error wraps freeport.ErrTaken so the
// caller can choose another port and retry (see freeport.Retry).
func StartProcess(opts *Options) (*Process, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if v, fixed := o.Env[portVar]; fixed {
		port, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("Options.Env[%s] = %q is not a port number", portVar, v)
		}
		return startReady(o, port)
	}
	var p *Process
	_, err := freeport.Retry(func(port int) error {
		var err error
		p, err = startReady(o, port)
		return err
	})
	return p, err
}

const portVar = "FUNCTIONS_CUSTOMHANDLER_PORT"

// startReady starts the handler on port and waits for GET /.
func startReady(o Options, port int) (*Process, error) {
	p, err := start(o, port)
	if err != nil {
		return nil, err
	}
	if err := p.waitReady(); err != nil {
		p.Stop()
		err = fmt.Errorf("%v\nstderr:\n%s", err, p.Stderr())
		if p.lostPort() {
			err = fmt.Errorf("%w (%s=%d): %w", freeport.ErrTaken, portVar, port, err)
		}
		return p, err
	}
	return p, nil
}

// start launches the binary. Unless Env fixes FUNCTIONS_CUSTOMHANDLER_PORT (passed verbatim,
// so configuration tests can give a bad one), it is set to port, or to a picked one when 0.
func start(o Options, port int) (*Process, error) {
	bin := o.Binary
	if bin == "" {
		var err error
		if bin, err = BuildBinary(); err != nil {
			return nil, err
		}
	}
	_, fixed := o.Env[portVar]
	if port == 0 && !fixed {
		var err error
		if port, err = freeport.Pick(); err != nil {
			return nil, err
		}
	}
	env := map[string]string{}
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	for k, v := range o.Env {
		env[k] = v
	}
	if !fixed {
		env[portVar] = strconv.Itoa(port)
	}
	p := &Process{port: port, stdout: newLineBuffer(), stderr: newLineBuffer(), exited: make(chan struct{})}
	p.cmd = exec.Command(bin)
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout = p.stdout
	p.cmd.Stderr = p.stderr
	p.cmd.WaitDelay = stopTimeout // do not hang on pipes a grandchild might hold
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// lostPort reports whether the process exited because its port was in use: the handler logs
// the listen error (JSON on stdout), other binaries may print it to stderr. Both streams are
// complete once the process has exited (Wait copies them to the end).
func (p *Process) lostPort() bool {
	select {
	case <-p.exited:
	default:
		return false
	}
	inUse := syscall.EADDRINUSE.Error() // "address already in use"
	return strings.Contains(p.Stderr(), inUse) || strings.Contains(strings.Join(p.Stdout(), "\n"), inUse)
}

// waitReady polls GET / like the Functions host: any HTTP response means ready.
func (p *Process) waitReady() error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		resp, err := client.Get(p.URL() + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("handler exited before answering GET / (%v)", p.waitErr)
		case <-deadline.C:
			return fmt.Errorf("handler did not answer GET / within %s", readyTimeout)
		case <-tick.C:
		}
	}
}

// URL is the handler's base URL, http://127.0.0.1:<port>.
func (p *Process) URL() string { return "http://127.0.0.1:" + strconv.Itoa(p.port) }

// Port is the handler's FUNCTIONS_CUSTOMHANDLER_PORT.
func (p *Process) Port() int { return p.port }

// Stdout returns the complete stdout lines written so far.
func (p *Process) Stdout() []string { return p.stdout.Lines() }

// Stderr returns everything written to stderr so far.
func (p *Process) Stderr() string { return p.stderr.String() }

// Stop terminates the process (SIGTERM, SIGKILL after 10 s) and returns its exit error (nil
// for a clean exit). Safe to call more than once; t.Cleanup calls it too.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() {
		select {
		case <-p.exited:
			return
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		t := time.NewTimer(stopTimeout)
		defer t.Stop()
		select {
		case <-p.exited:
		case <-t.C:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	<-p.exited
	return p.waitErr
}

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// ExitCode returns the exit code after the process has exited (-1 when killed by a signal).
func (p *Process) ExitCode() int {
	<-p.exited
	var ee *exec.ExitError
	if errors.As(p.waitErr, &ee) {
		return ee.ExitCode()
	}
	if p.waitErr != nil {
		return -1
	}
	return 0
}

// Run starts the binary with the environment and waits for it to exit on its own (for
// configuration tests: a bad environment must stop it with exit code 1 and a message on
// stderr). It fails the test if the process is still running after 30 s.
func Run(tb testing.TB, opts *Options) (exitCode int, stdout []string, stderr string) {
	tb.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	port := 0
	if v, fixed := o.Env[portVar]; fixed {
		port, _ = strconv.Atoi(v)
	}
	p, err := start(o, port)
	if err != nil {
		tb.Fatalf("handlerproc: %v", err)
	}
	tb.Cleanup(func() { p.Stop() })
	t := time.NewTimer(readyTimeout)
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
		p.Stop()
		tb.Fatalf("handlerproc: handler still running after %s; expected it to exit", readyTimeout)
	}
	return p.ExitCode(), p.Stdout(), p.Stderr()
}

// Pid is the process id (to sample its memory in /proc, for example).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Kill ends the process at once with SIGKILL, as a crash would (no shutdown, no flush), and
// waits until it has exited. Safe to call on an exited process.
func (p *Process) Kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
}
