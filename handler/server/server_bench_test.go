package server

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var (
	benchOnce           sync.Once
	benchH              *handler
	benchTokens         [burstUsers]string
	benchOBO0, benchMI0 int64
)

// BenchmarkToolCallUserDetails drives tools/call get_graph_user_details through the real HTTP
// handler on loopback with warm caches (verified tokens, MSAL OBO cache, managed-identity token),
// 20 users, 32 or 2 concurrent clients. The Graph stand-in runs in the same process and its work
// (including an RS256 verification per call) is part of the numbers.
//
// Reported: calls/s, p50/p99 latency in µs, and the OBO and managed-identity requests the
// whole run caused (warm-up included): the goal is one OBO per user and one MI request.
func BenchmarkToolCallUserDetails(b *testing.B) {
	// clients=32 saturates the handler (throughput); clients=2 shows latency at light load.
	for _, par := range []int{16, 1} {
		b.Run(fmt.Sprintf("clients=%d", par*runtime.GOMAXPROCS(0)), func(b *testing.B) { benchToolCall(b, par) })
	}
}

func benchToolCall(b *testing.B, parallelism int) {
	// The testing package calls this function several times (growing b.N); one handler, warmed
	// once, serves all runs so the counts cover the handler's whole life.
	benchOnce.Do(func() {
		benchH, _ = startHandler(b, map[string]string{"AZURE_CLIENT_ID": miBench.ClientID, "LOG_LEVEL": "info"}, &Options{HTTPClient: st.ca.HTTPClient()}) // lives until the process ends
		benchOBO0, benchMI0 = st.entra.Counts().OBO, st.msi.Count()
		for i := range burstUsers {
			benchTokens[i] = userToken(b, burstUser(i), nil)
			if tr := benchH.callTool(b, benchTokens[i], "get_graph_user_details", nil); tr.IsError {
				b.Fatal(tr.text())
			}
		}
	})
	h, tokens, obo0, mi0 := benchH, benchTokens, benchOBO0, benchMI0
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_graph_user_details","arguments":{}}}`)
	transport := &http.Transport{MaxIdleConnsPerHost: 64}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}

	var (
		mu   sync.Mutex
		lats []time.Duration
		next atomic.Int64
	)
	b.SetParallelism(parallelism)
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, 1024)
		for pb.Next() {
			i := int(next.Add(1)) % burstUsers
			req, _ := http.NewRequest(http.MethodPost, h.URL+"/mcp", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("MCP-Protocol-Version", "2025-06-18")
			req.Header.Set("Authorization", "Bearer "+tokens[i])
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			local = append(local, time.Since(t0))
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
		mu.Lock()
		lats = append(lats, local...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	if len(lats) == 0 {
		return
	}
	slices.Sort(lats)
	pct := func(p float64) float64 { return float64(lats[int(p*float64(len(lats)-1))].Microseconds()) }
	b.ReportMetric(float64(len(lats))/elapsed.Seconds(), "calls/s")
	// Process CPU per call: handler, Graph stand-in and load generator together (all in this
	// process), so an upper bound for the handler's own cost; steadier than calls/s on a busy host.
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(lats)), "cpu-µs/call")
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(float64(st.entra.Counts().OBO-obo0), "obo-requests")
	b.ReportMetric(float64(st.msi.Count()-mi0), "mi-requests")
	b.ReportMetric(0, "ns/op") // wall time per op is meaningless with concurrent clients
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
