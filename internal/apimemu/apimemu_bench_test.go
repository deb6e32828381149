package apimemu

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkChoose measures one request through the Go front end and the emulator, evaluating
// compiled expressions and answering with return-response (no backend call).
func BenchmarkChoose(b *testing.B) { benchGet(b, "/fx/choose?x=a") }

// BenchmarkForward measures a request composed over three scopes and forwarded to a backend.
func BenchmarkForward(b *testing.B) { benchGet(b, "/fx/base") }

// benchGet sends GET path to the fixture gateway from parallel goroutines.
func benchGet(b *testing.B, path string) {
	f := startFixture(b)
	url := f.gw.URL() + path
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := http.Get(url)
			if err != nil {
				b.Error(err) // not Fatal: this is not the benchmark's own goroutine
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
