package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"example.com/graphmcp/handler/cimd"
	"example.com/graphmcp/handler/internalapi"
	"example.com/graphmcp/handler/store/bolt"
	"example.com/graphmcp/internal/apimemu"
	"example.com/graphmcp/internal/freeport"
	"example.com/graphmcp/internal/funchost"
	"example.com/graphmcp/internal/localstack"
)

// Client ID Metadata Documents, end to end: a client whose client_id is the https URL of its
// metadata document signs in through the real policies. The document is served over HTTPS from
// a loopback test host, which only the fetcher's test switch (cimd.Options.AllowLoopbackForTesting,
// a Go field no configuration reaches) lets the state service fetch. So this gateway's function
// is a host stand-in in front of a router: /internal/ goes to a state service built here with
// that fetcher (and its own store); everything else (/mcp) to the stack's real handler process.

// cimdGateway is the gateway over that state service, with the document host and the
// fetcher's clock (moved forward to make cached documents stale).
type cimdGateway struct {
	*apimemu.Gateway
	docs  *docHost
	clock atomic.Int64 // seconds added to time.Now for the fetcher
}

const cimdFetchTimeout = 2 * time.Second

var (
	cimdOnce sync.Once
	cimdGW   *cimdGateway
	cimdErr  error
)

func getCIMDGateway(t *testing.T, g *gatewayStack) *cimdGateway {
	t.Helper()
	cimdOnce.Do(func() { cimdGW, cimdErr = startCIMDGateway(g) })
	if cimdErr != nil {
		t.Fatalf("CIMD gateway: %v", cimdErr)
	}
	return cimdGW
}

func startCIMDGateway(g *gatewayStack) (*cimdGateway, error) {
	c := &cimdGateway{}
	var err error
	if c.docs, err = startDocHost(g); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "graphmcp-cimd-")
	if err != nil {
		return nil, err
	}
	atExit(func() { os.RemoveAll(dir) })
	st, err := bolt.Open(filepath.Join(dir, "state.db"), nil)
	if err != nil {
		return nil, err
	}
	atExit(func() { st.Close() })
	fetcher := cimd.New(&cimd.Options{AllowLoopbackForTesting: true, RootCAs: g.CA.Pool(), Timeout: cimdFetchTimeout,
		Now: func() time.Time { return time.Now().Add(time.Duration(c.clock.Load()) * time.Second) }})
	api := internalapi.New(st, fetcher, &internalapi.Options{RequireFunctionsHost: true, Logger: slog.New(slog.DiscardHandler)})
	handler, err := url.Parse(g.Handler.URL())
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/internal/", api)
	mux.Handle("/", httputil.NewSingleHostReverseProxy(handler))
	ln, err := freeport.Listen()
	if err != nil {
		return nil, err
	}
	router := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go router.Serve(ln)
	atExit(func() { router.Close() })
	host, err := funchost.Start(&funchost.Options{Backend: "http://" + ln.Addr().String(), FunctionKeys: []string{g.FunctionKey}})
	if err != nil {
		return nil, err
	}
	atExit(host.Close)
	if c.Gateway, err = g.StartGateway(context.Background(), localstack.GatewayOptions{FunctionBaseURL: host.URL()}); err != nil {
		return nil, err
	}
	return c, nil
}

// advance moves the fetcher's clock forward.
func (c *cimdGateway) advance(d time.Duration) { c.clock.Add(int64(d / time.Second)) }

// docHost serves metadata documents over HTTPS (local CA) on loopback; tests set a handler per
// path and read what each path was asked.
type docHost struct {
	url      string
	mu       sync.Mutex
	handlers map[string]http.HandlerFunc
	requests map[string][]http.Header // request headers per path
}

func startDocHost(g *gatewayStack) (*docHost, error) {
	tlsCfg, err := g.CA.ServerTLSConfig("127.0.0.1")
	if err != nil {
		return nil, err
	}
	ln, err := freeport.Listen()
	if err != nil {
		return nil, err
	}
	d := &docHost{url: "https://" + ln.Addr().String(), handlers: map[string]http.HandlerFunc{}, requests: map[string][]http.Header{}}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		h := d.handlers[r.URL.Path]
		d.requests[r.URL.Path] = append(d.requests[r.URL.Path], r.Header.Clone())
		d.mu.Unlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	})}
	go srv.Serve(tls.NewListener(ln, tlsCfg))
	atExit(func() { srv.Close() })
	return d, nil
}

func (d *docHost) handle(path string, h http.HandlerFunc) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.handlers[path] = h
	return d.url + path
}

func (d *docHost) asked(path string) []http.Header {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]http.Header(nil), d.requests[path]...)
}

// host is the document host's host:port, what the consent page names.
func (d *docHost) host() string { return strings.TrimPrefix(d.url, "https://") }

// metadataDoc is a client metadata document for a public client.
func metadataDoc(clientID, name string, redirects ...string) []byte {
	b, _ := json.Marshal(map[string]any{"client_id": clientID, "client_name": name, "redirect_uris": redirects,
		"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"}, "token_endpoint_auth_method": "none"})
	return b
}

// document is a switchable document with an ETag and a max-age; a matching If-None-Match gets 304.
type document struct {
	mu     sync.Mutex
	body   []byte
	etag   string
	maxAge string
}

func (doc *document) set(body []byte, etag string) {
	doc.mu.Lock()
	doc.body, doc.etag = body, etag
	doc.mu.Unlock()
}

func (doc *document) serve(w http.ResponseWriter, r *http.Request) {
	doc.mu.Lock()
	body, etag, maxAge := doc.body, doc.etag, doc.maxAge
	doc.mu.Unlock()
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "public, max-age="+maxAge)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

const cimdRedirect = "https://cimd-app.example/oauth/callback"

// documentClient publishes a switchable document (max-age 600 s) naming a client at path with
// one redirect URI, returning its client_id and the document.
func documentClient(c *cimdGateway, path, name, etag, redirect string) (string, *document) {
	doc := &document{maxAge: "600"}
	clientID := c.docs.handle(path, doc.serve)
	doc.set(metadataDoc(clientID, name, redirect), etag)
	return clientID, doc
}

// redeem exchanges the code of an approved authorization f (cimdSignIn) at the CIMD gateway,
// after checking the authorization response as every sign-in helper does (state echoed, iss).
func redeem(t *testing.T, g *gatewayStack, c *cimdGateway, clientID string, f flow, state string, p pkce) map[string]any {
	t.Helper()
	if f.Redirect == nil || f.Redirect.Scheme+"://"+f.Redirect.Host+f.Redirect.Path != cimdRedirect {
		t.Fatalf("authorization did not return to the document's redirect URI: %v", f)
	}
	code := codeFrom(t, f, state, c.URL())
	st, tok := g.postForm(t, c.URL()+"/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cimdRedirect},
		"client_id": {clientID}, "code_verifier": {p.verifier}, "resource": {c.URL() + "/mcp"}})
	if st != http.StatusOK {
		t.Fatalf("token: %d %v", st, tok["error"])
	}
	remember(tok["access_token"].(string), tok["refresh_token"].(string))
	return tok
}

// cimdSignIn runs an authorization for the document client to its redirect URI and approves the
// consent page; it returns the flow and the state it sent, for redeem.
func cimdSignIn(t *testing.T, g *gatewayStack, c *cimdGateway, clientID string, p pkce) (flow, string) {
	t.Helper()
	state := "st-" + randomString(8)
	return newUserAgent(g, c.URL()).run(t, authorizeURL(c.URL(), clientID, cimdRedirect, state, p, nil), "approve", nil), state
}

// cimdAuthorize runs an authorization for the document client at the CIMD gateway, approving
// the consent page unless decision is "".
func cimdAuthorize(t *testing.T, g *gatewayStack, c *cimdGateway, clientID, redirect, decision string, p pkce) flow {
	t.Helper()
	return newUserAgent(g, c.URL()).run(t, authorizeURL(c.URL(), clientID, redirect, "st-"+randomString(8), p, nil), decision, nil)
}

// wantAuthorizePage checks that /authorize refused with an error page (never a redirect).
func wantAuthorizePage(t *testing.T, f flow, code, detail string) {
	t.Helper()
	if f.Redirect != nil || f.Status != http.StatusBadRequest || !strings.Contains(f.Body, `<code id="code">`+code+`</code>`) || !strings.Contains(f.Body, detail) {
		t.Fatalf("want an error page %s (%s), got %v", code, detail, f)
	}
}

// TestGatewayCIMDSignIn: the full sign-in with a URL as client_id — authorize, the consent page
// naming the document's client_name and the host that published it, Entra sign-in, the token
// exchange, refresh, and tools.
func TestGatewayCIMDSignIn(t *testing.T) {
	g := getGatewayStack(t)
	c := getCIMDGateway(t, g)
	clientID, _ := documentClient(c, "/signin/client.json", "CIMD Test App", `"signin-1"`, cimdRedirect)

	page := cimdAuthorize(t, g, c, clientID, cimdRedirect, "", newPKCE())
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `<span id="client-name">CIMD Test App</span>`) ||
		!strings.Contains(page.Body, `<strong id="client-id-host">`+c.docs.host()+`</strong>`) {
		t.Fatalf("consent page does not name the document client and its host: %v", page)
	}

	p := newPKCE()
	f, state := cimdSignIn(t, g, c, clientID, p)
	tok := redeem(t, g, c, clientID, f, state, p)
	access, refresh := tok["access_token"].(string), tok["refresh_token"].(string)

	cs, err := g.connectGateway(t, c.URL()+"/mcp", access)
	if err != nil {
		t.Fatalf("connect with the document client's token: %v", err)
	}
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "get_graph_user_details", Arguments: map[string]any{}})
	if err != nil || res.IsError || !strings.Contains(resultText(res), "Adele") {
		t.Fatalf("tools/call: %v %.300s", err, resultText(res))
	}

	st, tok := g.postForm(t, c.URL()+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {clientID}})
	if st != http.StatusOK {
		t.Fatalf("refresh: %d %v", st, tok["error"])
	}
	remember(tok["access_token"].(string), tok["refresh_token"].(string))
	if n := len(c.docs.asked("/signin/client.json")); n != 1 {
		t.Errorf("the document was fetched %d times for one sign-in within its max-age, want 1", n)
	}
}

// TestGatewayCIMDDocumentChanges: what authorize bound (client_id, redirect_uri, PKCE) is what
// the token exchange checks, so a document edited in between neither breaks nor widens a code
// in flight; later authorizations see the edit once the cached copy is stale (revalidated with
// its ETag), and then a redirect URI the document dropped is refused.
func TestGatewayCIMDDocumentChanges(t *testing.T) {
	g := getGatewayStack(t)
	c := getCIMDGateway(t, g)
	clientID, doc := documentClient(c, "/changing/client.json", "Before", `"v1"`, cimdRedirect)

	p := newPKCE()
	f, state := cimdSignIn(t, g, c, clientID, p)
	doc.set(metadataDoc(clientID, "After", "https://elsewhere.example/cb"), `"v2"`)
	redeem(t, g, c, clientID, f, state, p) // the code keeps what authorize bound

	// Within max-age the cached document still applies.
	if page := cimdAuthorize(t, g, c, clientID, cimdRedirect, "", newPKCE()); !strings.Contains(page.Body, `<span id="client-name">Before</span>`) {
		t.Fatalf("within max-age: %v", page)
	}
	// Stale: revalidated with the old ETag, which no longer matches; the new document applies.
	c.advance(601 * time.Second)
	wantAuthorizePage(t, cimdAuthorize(t, g, c, clientID, cimdRedirect, "", newPKCE()), "invalid_redirect_uri", "")
	asked := c.docs.asked("/changing/client.json")
	if len(asked) != 2 || asked[1].Get("If-None-Match") != `"v1"` {
		t.Fatalf("document requests: %d, last If-None-Match %q; want a revalidation with \"v1\"", len(asked), asked[len(asked)-1].Get("If-None-Match"))
	}
	if page := cimdAuthorize(t, g, c, clientID, "https://elsewhere.example/cb", "", newPKCE()); !strings.Contains(page.Body, `<span id="client-name">After</span>`) {
		t.Fatalf("after revalidation: %v", page)
	}
}

// TestGatewayCIMDCaching: a document is fetched once per max-age; when stale, an unchanged
// document costs a 304 (If-None-Match) and is kept for another max-age; a max-age beyond the
// 24 h bound is cut to it.
func TestGatewayCIMDCaching(t *testing.T) {
	g := getGatewayStack(t)
	c := getCIMDGateway(t, g)
	clientID, _ := documentClient(c, "/cached/client.json", "Cached", `"c1"`, cimdRedirect)
	consent := func() {
		t.Helper()
		if page := cimdAuthorize(t, g, c, clientID, cimdRedirect, "", newPKCE()); page.Status != http.StatusOK || !strings.Contains(page.Body, "Cached") {
			t.Fatalf("consent page: %v", page)
		}
	}
	consent()
	consent()
	if n := len(c.docs.asked("/cached/client.json")); n != 1 {
		t.Fatalf("%d fetches within max-age, want 1", n)
	}
	c.advance(601 * time.Second)
	consent()
	consent()
	asked := c.docs.asked("/cached/client.json")
	if len(asked) != 2 || asked[1].Get("If-None-Match") != `"c1"` {
		t.Fatalf("after max-age: %d requests, want one revalidation with If-None-Match", len(asked))
	}

	longID, long := documentClient(c, "/cached/long.json", "Long", `"l1"`, cimdRedirect)
	long.mu.Lock()
	long.maxAge = "31536000" // a year: cut to 24 h
	long.mu.Unlock()
	cimdAuthorize(t, g, c, longID, cimdRedirect, "", newPKCE())
	c.advance(23 * time.Hour)
	cimdAuthorize(t, g, c, longID, cimdRedirect, "", newPKCE())
	if n := len(c.docs.asked("/cached/long.json")); n != 1 {
		t.Fatalf("%d fetches within 23 h, want 1", n)
	}
	c.advance(time.Hour + time.Second)
	cimdAuthorize(t, g, c, longID, cimdRedirect, "", newPKCE())
	if n := len(c.docs.asked("/cached/long.json")); n != 2 {
		t.Fatalf("%d fetches after 24 h, want 2 (max-age is bounded)", n)
	}
}

// TestGatewayCIMDRefusals: a redirect URI the document does not list, a document over the size
// limit, and a document that does not arrive in time are refused with an error page at
// /authorize (never a redirect to an unverified client).
func TestGatewayCIMDRefusals(t *testing.T) {
	g := getGatewayStack(t)
	c := getCIMDGateway(t, g)

	clientID, _ := documentClient(c, "/refusals/client.json", "Refusals", `"r1"`, cimdRedirect)
	wantAuthorizePage(t, cimdAuthorize(t, g, c, clientID, "https://cimd-app.example/other", "", newPKCE()), "invalid_redirect_uri", "")

	bigID := c.docs.url + "/refusals/big.json"
	c.docs.handle("/refusals/big.json", func(w http.ResponseWriter, r *http.Request) {
		w.Write(metadataDoc(bigID, strings.Repeat("x", 6000), cimdRedirect))
	})
	wantAuthorizePage(t, cimdAuthorize(t, g, c, bigID, cimdRedirect, "", newPKCE()), "invalid_client", "metadata_fetch_failed")

	release := make(chan struct{})
	defer close(release)
	slowID := c.docs.handle("/refusals/slow.json", func(w http.ResponseWriter, r *http.Request) {
		select { // hold the answer past the fetcher's timeout
		case <-r.Context().Done():
		case <-release:
		}
	})
	wantAuthorizePage(t, cimdAuthorize(t, g, c, slowID, cimdRedirect, "", newPKCE()), "invalid_client", "metadata_fetch_failed")
}
