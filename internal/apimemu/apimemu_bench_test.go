package apimemu

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkChoose measures one request through the Go front end and the emulator, evaluating
// compiled expressions and answering with return-response (no backend call).
func BenchmarkChoose(b *testing.B) {
	f := startFixture(b)
	url := f.gw.URL() + "/fx/choose?x=a"
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := http.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

// BenchmarkForward measures a request composed over three scopes and forwarded to a backend.
func BenchmarkForward(b *testing.B) {
	f := startFixture(b)
	url := f.gw.URL() + "/fx/base"
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := http.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
