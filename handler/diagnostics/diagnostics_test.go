package diagnostics

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"testing"
)

func TestServesRuntimeFiguresOnLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "example.com:80", "6060", ""} {
		if _, _, err := Start(addr, slog.New(slog.DiscardHandler)); err == nil {
			t.Errorf("Start(%q) accepted a non-loopback address", addr)
		}
	}
	addr, stop, err := Start("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	resp, err := http.Get("http://" + addr + "/debug/runtime")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rt Runtime
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &rt); err != nil || rt.Goroutines == 0 || rt.AllocBytes == 0 {
		t.Fatalf("runtime document %s: %v", body, err)
	}
}
