package soak

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"example.com/graphmcp/handler/cimd"
	"example.com/graphmcp/handler/internalapi"
	"example.com/graphmcp/internal/freeport"
	"example.com/graphmcp/internal/localstack"
)

// Clients with a Client ID Metadata Document. The handler binary fetches documents only from
// public addresses, and the switch that lets a fetcher reach loopback is a Go field no setting
// reaches (cimd.Options.AllowLoopbackForTesting). So, as in e2e/gateway_cimd_test.go, the
// gateway's function-base-url is a router here: the two client lookups for an https client_id
// go to a state service built in this process with that fetcher; every other request (the
// rest of the internal API, /mcp) goes on to the stack's Functions host and the real handler,
// so the faults hit CIMD clients as they hit the others. A URL lookup reads no store record.

// usesDocument reports whether client i names a metadata document instead of registering.
func (r *runner) usesDocument(i int) bool { return !r.cfg.NoCIMD && i%8 == 6 }

// cimdRouter is the function app URL the gateway calls.
type cimdRouter struct {
	ln      net.Listener
	key     atomic.Pointer[string]
	lookups atomic.Pointer[http.Handler] // the in-process state service for URL client ids
	next    atomic.Pointer[httputil.ReverseProxy]
	served  atomic.Int64 // lookups the in-process service answered
	docs    *docHost
}

func startCIMDRouter() (*cimdRouter, error) {
	ln, err := freeport.Listen()
	if err != nil {
		return nil, err
	}
	rt := &cimdRouter{ln: ln}
	go (&http.Server{Handler: rt, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}).Serve(ln)
	return rt, nil
}

func (rt *cimdRouter) URL() string { return "http://" + rt.ln.Addr().String() }

// Close stops the router and the document host.
func (rt *cimdRouter) Close() {
	rt.ln.Close()
	if rt.docs != nil {
		rt.docs.srv.Close()
	}
}

// connect points the router at the running stack and starts the document host.
func (rt *cimdRouter) connect(st *localstack.Stack) error {
	host, err := url.Parse(st.Host.URL())
	if err != nil {
		return err
	}
	next := httputil.NewSingleHostReverseProxy(host)
	next.ErrorLog = log.New(io.Discard, "", 0) // a handler-down window answers 502; no noise
	if rt.docs, err = startDocHost(st); err != nil {
		return err
	}
	fetcher := cimd.New(&cimd.Options{AllowLoopbackForTesting: true, RootCAs: st.CA.Pool()})
	var api http.Handler = internalapi.New(nil, fetcher, &internalapi.Options{Logger: slog.New(slog.DiscardHandler)})
	rt.key.Store(&st.FunctionKey)
	rt.lookups.Store(&api)
	rt.next.Store(next)
	return nil
}

func (rt *cimdRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	next := rt.next.Load()
	if next == nil {
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	if r.URL.Path == "/internal/v1/clients/get" || r.URL.Path == "/internal/v1/clients/check-redirect" {
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var req struct {
			ClientID string `json:"client_id"`
		}
		_ = json.Unmarshal(body, &req)
		if cimd.IsClientIDURL(req.ClientID) && r.Header.Get("x-functions-key") == *rt.key.Load() {
			rt.served.Add(1)
			(*rt.lookups.Load()).ServeHTTP(w, r)
			return
		}
	}
	next.ServeHTTP(w, r)
}

// docHost publishes the metadata documents over HTTPS (the local CA) on loopback.
type docHost struct {
	base    string
	srv     *http.Server
	fetches atomic.Int64
	mu      sync.Mutex
	docs    map[string][]byte // path → document
}

func startDocHost(st *localstack.Stack) (*docHost, error) {
	cfg, err := st.CA.ServerTLSConfig("127.0.0.1")
	if err != nil {
		return nil, err
	}
	ln, err := freeport.Listen()
	if err != nil {
		return nil, err
	}
	d := &docHost{base: "https://" + ln.Addr().String(), docs: map[string][]byte{}}
	d.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d.fetches.Add(1)
			d.mu.Lock()
			doc, ok := d.docs[r.URL.Path]
			d.mu.Unlock()
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "max-age=300")
			w.Write(doc)
		})}
	go d.srv.Serve(tls.NewListener(ln, cfg))
	return d, nil
}

// publish makes a document for client i with its redirect URI and returns its URL, the
// client_id.
func (d *docHost) publish(i int, redirect string) string {
	path := fmt.Sprintf("/clients/%d/client-metadata.json", i)
	id := d.base + path
	doc, _ := json.Marshal(map[string]any{"client_id": id, "client_name": fmt.Sprintf("soak document client %d", i),
		"redirect_uris": []string{redirect}, "grant_types": []string{"authorization_code", "refresh_token"},
		"response_types": []string{"code"}, "token_endpoint_auth_method": "none"})
	d.mu.Lock()
	d.docs[path] = doc
	d.mu.Unlock()
	return id
}
