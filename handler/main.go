// Command handler is the Azure Functions custom handler: an MCP server whose tools call Microsoft
// Graph on behalf of the signed-in user. `handler stdio` is local mode instead (package stdio:
// the same tools over MCP stdio, signed in with MSAL's public client). It only wires: configuration → logger → server (package
// server assembles verifier, OBO, Graph, tools and the MCP endpoint) → listener. README.md
// ("Configuration") lists the environment it reads.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"example.com/graphmcp/handler/config"
	"example.com/graphmcp/handler/diagnostics"
	"example.com/graphmcp/handler/internalapi"
	"example.com/graphmcp/handler/logging"
	"example.com/graphmcp/handler/server"
	"example.com/graphmcp/handler/stdio"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "stdio" {
		os.Exit(runStdio(os.Args[2:]))
	}
	os.Exit(run())
}

// runStdio is local mode (package stdio): MCP over standard input/output on a developer's
// machine, signed in with MSAL's public client.
func runStdio(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return stdio.Main(ctx, args, stdio.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}, version)
}

func run() int {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "handler:", err)
		return 1
	}
	logger := logging.New(os.Stdout, cfg.LogLevel)
	slog.SetDefault(logger)
	if cfg.DiagnosticsAddr != "" {
		_, stopDiag, err := diagnostics.Start(cfg.DiagnosticsAddr, logger)
		if err != nil {
			logger.Error("startup failed", logging.Err(err))
			return 1
		}
		defer stopDiag()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The state service's /internal/ API over the configured store (closed at exit), opened in
	// the background once the server's JWKS request is out: the handler listens at once (the
	// host's readiness ping does not wait for the store's fsync or Cosmos), /internal/ requests
	// wait for it, and a store that cannot be opened stops the process below.
	internal := internalapi.NewOpening()
	srv, err := server.New(cfg, logger, &server.Options{Internal: internal, Version: version})
	if err != nil {
		logger.Error("startup failed", logging.Err(err))
		return 1
	}
	internal.Start(srv.JWKSRequested(), cfg.Store, os.Getenv, logger)
	defer internal.Close()
	ln, err := net.Listen("tcp", srv.Addr())
	if err != nil {
		logger.Error("startup failed: cannot listen (is FUNCTIONS_CUSTOMHANDLER_PORT free?)", logging.Err(err))
		return 1
	}
	logger.Info("handler listening",
		slog.String("addr", ln.Addr().String()), slog.String("version", version),
		slog.String("tenant_id", cfg.TenantID), slog.String("authority_host", cfg.AuthorityHost),
		slog.String("graph_endpoint", cfg.GraphEndpoint), slog.String("resource_metadata", cfg.ResourceMetadata),
		// Whether the platform's managed-identity endpoint is present; never the values.
		slog.Bool("identity_endpoint_set", os.Getenv("IDENTITY_ENDPOINT") != ""),
		slog.Bool("identity_header_set", os.Getenv("IDENTITY_HEADER") != ""))

	if cfg.RuntimeStatsInterval > 0 {
		go logging.LogRuntimeStats(ctx, logger, cfg.RuntimeStatsInterval)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-internal.Failed():
		logger.Error("startup failed: state store", logging.Err(err))
		return 1
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			logger.Error("serving failed", logging.Err(err))
			return 1
		}
	case <-ctx.Done():
		logger.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}
	return 0
}
