package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

var osStderr io.Writer = os.Stderr

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func pct(lats []time.Duration, p float64) time.Duration {
	if len(lats) == 0 {
		return 0
	}
	return lats[min(len(lats)-1, int(p*float64(len(lats))))]
}

// print writes the one table `make bench` shows, with the conditions a rerun needs.
func (r *results) print(w io.Writer) {
	o := r.o
	gogc := o.gogc
	if gogc == "" {
		gogc = "the binary's own"
	}
	pin := "not pinned"
	if o.cpus != "" {
		pin = "pinned to CPU " + o.cpus
	}
	self := "on loopback"
	if cpus := os.Getenv(selfCPUsEnv); cpus != "" {
		self = "on loopback, pinned to CPU " + cpus
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(w, "\nhandler: %s\nconditions: %d CPUs, handler GOMAXPROCS = its CPU count (%s), GOGC=%s; stand-ins (HTTPS) and load generator in one process %s; load average at end: %s\n\n",
		o.handler, machineCPUs(), pin, gogc, self, strings.TrimSpace(string(load)))

	ran := func(phase string) bool { return slices.Contains(r.ran, phase) }
	var rows [][4]string
	if ran("cold") {
		ready, ping, jwks := sorted(r.ready), sorted(r.pingAt), sorted(r.jwksAt)
		rows = append(rows, [4]string{"start → ready (GET / 200 + JWKS fetched)", fmt.Sprintf("median %s, max %s", ms(ready[len(ready)/2]), ms(ready[len(ready)-1])), "≤ 20 ms",
			fmt.Sprintf("%d starts, no added latency; medians: GET / 200 at %s, JWKS requested at %s", len(ready), ms(ping[len(ping)/2]), ms(jwks[len(jwks)/2]))})
	}
	if ran("first") {
		ideal := o.entraLatency + o.graphLatency // one OBO request + one Graph request
		rows = append(rows,
			[4]string{"first tools/call after ready", ms(r.firstCall), fmt.Sprintf("≤ %s (OBO + Graph + 15 ms)", ms(ideal+15*time.Millisecond)),
				fmt.Sprintf("Entra %v, MI %v, Graph %v added; start → first result %s", o.entraLatency, o.miLatency, o.graphLatency, ms(r.startToFirstResult))},
			[4]string{"OBO / managed-identity requests, cold", fmt.Sprintf("%d / %d", r.oboRequests, r.miReqs), fmt.Sprintf("%d / 1", r.burstUsers),
				fmt.Sprintf("first call, then %d more users × 3 concurrent calls", r.burstUsers-1)})
	}
	if ran("throughput") {
		rows = append(rows,
			[4]string{"max throughput (closed loop)", fmt.Sprintf("%.0f calls/s", r.maxRate), "", fmt.Sprintf("%d callers, %d users, %v, warm caches", o.workers, o.users, o.duration)},
			[4]string{"handler CPU per tools/call", ms(r.cpuPerCall), "≤ 0.35 ms", "same run; the handler process only"},
			[4]string{"handler allocation per tools/call", kb(r.allocPerCall), "≤ 64 KB", "same run; runtime/metrics /gc/heap/allocs:bytes"})
	}
	if ran("open") && len(r.openLat) > 0 {
		rows = append(rows, [4]string{"open loop p50 / p99 / p99.9 / max", fmt.Sprintf("%s / %s / %s / %s", ms(pct(r.openLat, .50)), ms(pct(r.openLat, .99)), ms(pct(r.openLat, .999)), ms(pct(r.openLat, 1))), "p99 ≤ 2 ms",
			fmt.Sprintf("%.0f calls/s offered (%.0f %% of max), %.0f achieved, %d users, %v, %d errors; from send to reply; sends late against the schedule by p50 %s, p99 %s (generator timer)",
				r.openRate, 100*o.openLoad, r.openDone, o.users, o.duration, r.openErrors, ms(pct(r.openLate, .50)), ms(pct(r.openLate, .99)))})
	}
	if ran("open") && len(r.openInside) > 0 {
		rows = append(rows, [4]string{"the same calls inside the handler: p50 / p99 / p99.9 / max", fmt.Sprintf("%s / %s / %s / %s", ms(pct(r.openInside, .50)), ms(pct(r.openInside, .99)), ms(pct(r.openInside, .999)), ms(pct(r.openInside, 1))), "",
			fmt.Sprintf("the handler log's duration_ms of %d POST /mcp lines: from its middleware to the written reply, Graph round trip included; not the socket queue before it", len(r.openInside))})
	}
	if ran("soak") && len(r.soakRSS) > 0 {
		rows = append(rows,
			[4]string{"RSS during soak (first / max / last)", fmt.Sprintf("%s / %s / %s", mb(r.soakRSS[0]), mb(slices.Max(r.soakRSS)), mb(r.soakRSS[len(r.soakRSS)-1])), "≤ 40 MB, no growth",
				fmt.Sprintf("64 callers, %d users, %v, sampled every %v, %d calls, %d errors", soakUsers, o.soak, soakEvery, r.soakCalls, r.soakErrors)},
			[4]string{"goroutines during soak (first / max / last)", goroutines(r.soakGoroutines), "no growth", "same run"})
	}
	fmt.Fprintln(w, "| figure | measured | target | conditions |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, row := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", row[0], row[1], row[2], row[3])
	}
}

func sorted(d []time.Duration) []time.Duration {
	d = slices.Clone(d)
	slices.Sort(d)
	return d
}

func kb(b float64) string {
	if b < 0 {
		return "n/a (no diagnostics listener)"
	}
	return fmt.Sprintf("%.1f KB", b/1024)
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

func goroutines(g []int) string {
	if len(g) == 0 {
		return "n/a (no diagnostics listener)"
	}
	return fmt.Sprintf("%d / %d / %d", g[0], slices.Max(g), g[len(g)-1])
}

// machineCPUs counts the online CPUs (runtime.NumCPU counts only those this process may use).
func machineCPUs() int { return len(onlineCPUs()) }

// onlineCPUs is the machine's online CPU set.
func onlineCPUs() map[int]bool {
	if online, err := os.ReadFile("/sys/devices/system/cpu/online"); err == nil {
		if set, err := cpuList(strings.TrimSpace(string(online))); err == nil {
			return set
		}
	}
	set := map[int]bool{}
	for c := range runtime.NumCPU() {
		set[c] = true
	}
	return set
}
