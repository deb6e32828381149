// Command handlerbench measures a handler binary from the outside, the way the Functions host
// runs it: a separate process on loopback, configured by environment, talking HTTPS to the
// devstack stand-ins for Entra ID, the managed-identity endpoint and Graph (which run in this
// process, together with the load generator). `make bench` runs it and prints one table:
//
//   - cold path: process start → ready (GET / answers 200 and the JWKS was fetched), and the first
//     tools/call after ready with Entra, managed identity and Graph slowed to realistic round
//     trips, plus the OBO and managed-identity requests a concurrent cold burst costs;
//   - closed-loop maximum throughput, with the handler process's CPU and heap allocation per call;
//   - open-loop latency (constant arrival rate at half the maximum, p50/p99/p99.9, measured from
//     each request's scheduled time so a stall is not hidden);
//   - a soak (64 callers, 100 users) sampling RSS and goroutines.
//
// Any handler binary can be measured, e.g. one built from an older commit:
//
//	BENCH_HANDLER=/tmp/handler-base make bench
//	go run ./cmd/handlerbench -handler dist/handler -soak 60s -gogc 100
//
// Allocation and goroutine figures need the binary's diagnostics listener
// (HANDLER_DIAGNOSTICS_ADDR, package handler/diagnostics); binaries without one show "n/a".
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

func main() {
	o := options{}
	flag.StringVar(&o.handler, "handler", os.Getenv("BENCH_HANDLER"), "handler binary to measure (env BENCH_HANDLER); default: build ./handler")
	flag.StringVar(&o.gogc, "gogc", "100", `GOGC for the handler process ("" = the binary's own choice)`)
	flag.StringVar(&o.cpus, "cpus", "", `pin the handler process to these CPUs with taskset, e.g. "0" (default: not pinned)`)
	flag.IntVar(&o.users, "users", 64, "distinct users in the throughput and open-loop runs")
	flag.IntVar(&o.workers, "workers", 16, "concurrent callers in the closed-loop throughput run")
	flag.DurationVar(&o.duration, "duration", 8*time.Second, "length of the throughput and of the open-loop run")
	flag.DurationVar(&o.soak, "soak", 60*time.Second, "length of the soak run (64 callers, 100 users); 0 skips it")
	flag.IntVar(&o.coldRuns, "cold-runs", 5, "process starts measured for start → ready")
	flag.DurationVar(&o.entraLatency, "entra-latency", 80*time.Millisecond, "Entra round trip in the first-call run")
	flag.DurationVar(&o.miLatency, "mi-latency", 20*time.Millisecond, "managed-identity round trip in the first-call run")
	flag.DurationVar(&o.graphLatency, "graph-latency", 30*time.Millisecond, "Graph round trip in the first-call run")
	flag.StringVar(&o.profileDir, "profile", "", "write the handler's CPU profile (throughput run) and allocation profile to this directory (needs the diagnostics listener)")
	flag.Float64Var(&o.openLoad, "open-load", 0.5, "open-loop arrival rate as a fraction of the measured maximum (the target is stated at 0.5)")
	flag.StringVar(&o.phases, "phases", "cold,first,throughput,open,soak", "phases to run, comma-separated (open needs throughput)")
	flag.Parse()
	if o.openLoad <= 0 || o.openLoad > 1 {
		fmt.Fprintln(os.Stderr, "handlerbench: -open-load must be in (0, 1], e.g. 0.5 for half the maximum")
		os.Exit(2)
	}
	if ran, err := pinSelfAway(o.cpus); ran || err != nil {
		if err != nil {
			fmt.Fprintln(os.Stderr, "handlerbench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "handlerbench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	tmp, err := os.MkdirTemp("", "handlerbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if o.handler == "" {
		o.handler = filepath.Join(tmp, "handler")
		fmt.Fprintln(os.Stderr, "building ./handler (set BENCH_HANDLER or -handler to measure another binary)")
		build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", o.handler, "./handler")
		build.Env = append(os.Environ(), "CGO_ENABLED=0") // as `make build`: static, no dynamic loader at start
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building ./handler (run from the repository root): %w", err)
		}
	}
	if _, err := os.Stat(o.handler); err != nil {
		return fmt.Errorf("handler binary: %w", err)
	}
	b, err := newBench(o, tmp)
	if err != nil {
		return err
	}
	defer b.close()
	r, err := b.all()
	if err != nil {
		return err
	}
	r.print(os.Stdout)
	return nil
}
