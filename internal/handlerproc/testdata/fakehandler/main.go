// Command fakehandler stands in for the handler binary in handlerproc's own tests: it honours
// FUNCTIONS_CUSTOMHANDLER_PORT, answers GET /, logs JSON to stdout and exits 1 on a bad env.
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if v := os.Getenv("FAKE_FAIL"); v != "" {
		fmt.Fprintf(os.Stderr, "configuration error: FAKE_FAIL is set (%d bytes)\n", len(v))
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.Encode(map[string]any{"level": "INFO", "msg": "starting", "inherited_home": os.Getenv("HOME") != "", "leak": os.Getenv("HANDLERPROC_TEST_SHOULD_NOT_LEAK")})
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		enc.Encode(map[string]any{"level": "INFO", "msg": "request", "path": r.URL.Path, "marker": os.Getenv("MARKER")})
		fmt.Fprint(w, "ok")
	})
	go func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM)
		<-ch
		enc.Encode(map[string]any{"level": "INFO", "msg": "stopping"})
		os.Exit(0)
	}()
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT"), nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
