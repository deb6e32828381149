// Command devstack is `make dev`: the whole MCP gateway on loopback, with no Azure account.
//
// It starts what `azd up` deploys, with local stand-ins where Azure would be (all through
// internal/localstack): a local CA; the Entra ID, managed-identity and Microsoft Graph stand-ins
// (devstack/...); the real handler binary with its embedded state store, behind the
// Functions-host stand-in; and the APIM emulator (Mono) running the real policy files from
// apim-policies/. Then it prints the MCP endpoint, the sign-in users and how a client trusts the
// local CA, and runs until SIGINT or SIGTERM, when it stops everything it started.
//
//	make dev                        # = go build -o dist/devstack ./devstack/cmd/devstack && dist/devstack
//	dist/devstack -port 9443        # another gateway port (or DEVSTACK_PORT=9443)
//
// Everything that should outlive a restart lives in one directory (-dir, default .devstack/,
// git-ignored): the CA (ca.pem, ca-key.pem), the gateway's token and cookie keys
// (gateway-keys.json), the handler's state file (state.db: client registrations, refresh
// families) and the logs (logs/). The ports are fixed (8443 for the gateway, 8444 for the Entra
// sign-in page), so the MCP URL, a browser's trust in the CA and the clients' registrations stay
// valid across restarts. Delete the directory to start from scratch.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"example.com/graphmcp/internal/handlerproc"
	"example.com/graphmcp/internal/localstack"
)

// Default ports: stable, so that the MCP URL and the browser's certificate decisions survive a
// restart. 8443/8444 are conventional alternative HTTPS ports outside the privileged range.
const (
	defaultGatewayPort = 8443
	defaultEntraPort   = 8444
	defaultDir         = ".devstack"
)

// config is what the flags and DEVSTACK_* variables choose.
type config struct {
	dir                    string
	gatewayPort, entraPort int
	verbose                bool
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Getenv, os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C during shutdown ends the program at once
	}()
	if err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}

// parseFlags reads the flags; each defaults to its DEVSTACK_* variable, then to the constant.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	fs, c := newFlagSet(getenv)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return *c, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "devstack: unexpected argument %q\n", fs.Arg(0))
		return *c, errors.New("usage")
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"-port", c.gatewayPort}, {"-entra-port", c.entraPort}} {
		if p.v < 1 || p.v > 65535 {
			fmt.Fprintf(stderr, "devstack: %s %d is not a TCP port (1-65535)\n", p.name, p.v)
			return *c, errors.New("usage")
		}
	}
	if c.gatewayPort == c.entraPort {
		fmt.Fprintln(stderr, "devstack: -port and -entra-port must differ")
		return *c, errors.New("usage")
	}
	return *c, nil
}

// envPrefix starts the name of every variable that sets a flag's default.
const envPrefix = "DEVSTACK_"

// newFlagSet defines the flags; README's table of knobs is checked against it.
func newFlagSet(getenv func(string) string) (*flag.FlagSet, *config) {
	fs := flag.NewFlagSet("devstack", flag.ContinueOnError)
	envInt := func(name string, def int) int {
		if v, err := strconv.Atoi(getenv(envPrefix + name)); err == nil {
			return v
		}
		return def
	}
	envStr := func(name, def string) string {
		if v := getenv(envPrefix + name); v != "" {
			return v
		}
		return def
	}
	c := &config{}
	fs.StringVar(&c.dir, "dir", envStr("DIR", defaultDir), "directory for the CA, keys, state and logs (env DEVSTACK_DIR)")
	fs.IntVar(&c.gatewayPort, "port", envInt("PORT", defaultGatewayPort), "gateway port on 127.0.0.1; the MCP URL is https://127.0.0.1:<port>/mcp (env DEVSTACK_PORT)")
	fs.IntVar(&c.entraPort, "entra-port", envInt("ENTRA_PORT", defaultEntraPort), "port of the Entra ID stand-in's sign-in page (env DEVSTACK_ENTRA_PORT)")
	verbose, _ := strconv.ParseBool(getenv(envPrefix + "VERBOSE"))
	fs.BoolVar(&c.verbose, "v", verbose, "also copy the handler's and the gateway's logs to stderr (env DEVSTACK_VERBOSE=1)")
	return fs, c
}

// run starts the stack, prints how to use it, and blocks until ctx ends or a part dies.
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	if err := checkPrerequisites(); err != nil {
		return err
	}
	for _, p := range []struct {
		flag string
		port int
	}{{"-port / DEVSTACK_PORT", cfg.gatewayPort}, {"-entra-port / DEVSTACK_ENTRA_PORT", cfg.entraPort}} {
		if err := portFree(p.port); err != nil {
			return fmt.Errorf("port %d on 127.0.0.1 is in use (%v): is another `make dev` running? Stop it, or choose another port with %s", p.port, err, p.flag)
		}
	}
	dir, err := filepath.Abs(cfg.dir)
	if err != nil {
		return err
	}
	logs, err := openLogs(filepath.Join(dir, "logs"), cfg.verbose, stderr)
	if err != nil {
		return err
	}
	defer logs.Close()

	fmt.Fprintf(stderr, "devstack: starting in %s (the first start builds the handler and compiles the policies: up to a minute)\n", dir)
	st, err := localstack.Start(ctx, &localstack.Options{
		Dir:         dir,
		Persist:     true,
		GatewayPort: cfg.gatewayPort,
		EntraPort:   cfg.entraPort,
		Stdout:      logs.gateway,
		Stderr:      logs.gateway,
	})
	// handlerproc builds the handler into a temporary directory once per process.
	defer handlerproc.RemoveBuild()
	if err != nil {
		if ctx.Err() != nil {
			return nil // interrupted while starting; Start stopped what it had started
		}
		return fmt.Errorf("%w\n(logs in %s)", err, logs.dir)
	}
	defer func() {
		fmt.Fprintln(stderr, "devstack: stopping")
		st.Close()
		logs.copyHandler(st.Handler) // the last lines written before the handler exited
		fmt.Fprintln(stderr, "devstack: stopped")
	}()
	printBanner(stdout, st, logs.dir)

	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-st.Handler.Exited():
			logs.copyHandler(st.Handler)
			// Ctrl-C in a terminal signals the whole process group, so the handler may exit
			// before our own signal is delivered: give that signal a moment to arrive.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(2 * time.Second):
			}
			return fmt.Errorf("the handler exited unexpectedly (exit code %d); see %s", st.Handler.ExitCode(), filepath.Join(logs.dir, "handler.log"))
		case <-tick.C:
			logs.copyHandler(st.Handler)
		}
	}
}
