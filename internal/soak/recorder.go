package soak

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Kinds of outcome, from the client's side.
const (
	KindSuccess    = "success"    // the operation's success answer
	KindDocumented = "documented" // a documented OAuth/MCP error (Catalogue), or a tool error result
	KindExplained  = "explained"  // a bare 5xx while a fault that produces one was active
	KindBare       = "bare"       // a 5xx (or other answer) no documentation and no fault explains
	KindTransport  = "transport"  // no HTTP answer at all
)

// Exchange is one request a simulated client made and what came back.
type Exchange struct {
	Client     int
	Op         string // gateway operation (gateway.json name), "entra-authorize", or "other"
	Label      string // finer step for the tables, e.g. "token/refresh"
	Start, End time.Time
	Answer     Answer
	Kind       string
	Tool       string // for tools/call: "ok" or an error category
}

// recorder keeps every exchange and every secret value clients saw (for the log scan).
type recorder struct {
	gatewayHost, entraHost string
	cat                    Catalogue

	mu        sync.Mutex
	exchanges []Exchange
	secrets   map[string]string // value → kind
}

func newRecorder(gatewayURL, entraURL string, cat Catalogue) *recorder {
	host := func(s string) string { u, _ := url.Parse(s); return u.Host }
	return &recorder{gatewayHost: host(gatewayURL), entraHost: host(entraURL), cat: cat, secrets: map[string]string{}}
}

// secret records a value that must never appear in a log (short values would match by chance).
func (r *recorder) secret(kind, v string) {
	if len(v) < 12 {
		return
	}
	r.mu.Lock()
	r.secrets[v] = kind
	r.mu.Unlock()
}

func (r *recorder) add(e Exchange) {
	r.mu.Lock()
	r.exchanges = append(r.exchanges, e)
	r.mu.Unlock()
}

// Exchanges returns a copy of what was recorded so far.
func (r *recorder) Exchanges() []Exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Exchange(nil), r.exchanges...)
}

// Secrets returns the secret values seen, by value.
func (r *recorder) Secrets() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]string, len(r.secrets))
	for k, v := range r.secrets {
		out[k] = v
	}
	return out
}

// op names the gateway operation of a request as gateway.json does.
func (r *recorder) op(req *http.Request) string {
	switch req.URL.Host {
	case r.entraHost:
		return "entra-authorize"
	case r.gatewayHost:
	default:
		return "other"
	}
	switch p := req.URL.Path; {
	case p == "/register":
		return "register"
	case p == "/authorize":
		return "authorize"
	case p == "/consent" && req.Method == http.MethodPost:
		return "consent-post"
	case p == "/consent":
		return "consent-get"
	case p == "/oauth-callback":
		return "oauth-callback"
	case p == "/token":
		return "token"
	case p == "/revoke":
		return "revoke"
	case p == "/mcp" || strings.HasPrefix(p, "/mcp/"):
		return "mcp-" + strings.ToLower(req.Method)
	case strings.HasPrefix(p, "/.well-known/"):
		return "metadata"
	}
	return "other"
}

type labelKey struct{}

// withLabel names the step a request belongs to (for the tables).
func withLabel(ctx context.Context, label string) context.Context {
	return context.WithValue(ctx, labelKey{}, label)
}

func labelOf(ctx context.Context, op string) string {
	if l, ok := ctx.Value(labelKey{}).(string); ok {
		return l
	}
	return op
}

// transport records every exchange of one client and hands the (re-readable) response on.
type transport struct {
	base   http.RoundTripper
	rec    *recorder
	client int

	mu            sync.Mutex
	last, lastMCP *Exchange // the latest OAuth and MCP POST exchanges, which the client acts on
}

func (t *transport) latest(mcp bool) *Exchange {
	t.mu.Lock()
	defer t.mu.Unlock()
	if mcp {
		return t.lastMCP
	}
	return t.last
}

func (t *transport) done(e Exchange) {
	t.rec.add(e)
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case e.Op == "mcp-post":
		t.lastMCP = &e
	case !strings.HasPrefix(e.Op, "mcp-"):
		t.last = &e
	}
}

var (
	pageCodeRE       = regexp.MustCompile(`<code id="code">([a-z_]+)</code>`)
	challengeErrorRE = regexp.MustCompile(`error="([a-z_]+)"`)
)

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	e := Exchange{Client: t.client, Op: t.rec.op(req), Start: time.Now()}
	e.Label = labelOf(req.Context(), e.Op)
	resp, err := t.base.RoundTrip(req)
	e.End = time.Now()
	if err != nil {
		e.Kind = KindTransport
		t.done(e)
		return nil, err
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		e.Kind = KindTransport
		t.done(e)
		return resp, nil
	}
	t.rec.collect(resp, body)
	e.Answer, e.Tool = answerOf(resp, body)
	e.Kind = t.rec.classify(e)
	t.done(e)
	return resp, nil
}

// answerOf reads the status and error code of any answer: a JSON error body, an error page, an
// error redirect, a bearer challenge, or a JSON-RPC reply (tool error results are categorised).
func answerOf(resp *http.Response, body []byte) (Answer, string) {
	a := Answer{Status: resp.StatusCode}
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		if loc, err := url.Parse(resp.Header.Get("Location")); err == nil {
			a.Error = loc.Query().Get("error")
		}
		return a, ""
	case resp.StatusCode == http.StatusUnauthorized && strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer"):
		if m := challengeErrorRE.FindStringSubmatch(resp.Header.Get("WWW-Authenticate")); m != nil {
			a.Error = m[1]
		}
		return a, ""
	}
	ct := resp.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "text/html"):
		if m := pageCodeRE.FindSubmatch(body); m != nil && resp.StatusCode >= 400 {
			a.Error = string(m[1])
		}
	case strings.Contains(ct, "json") && resp.StatusCode >= 400:
		var e struct {
			Error any `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil {
			if s, ok := e.Error.(string); ok {
				a.Error = s
			}
		}
	case strings.Contains(ct, "json") && resp.StatusCode == http.StatusOK:
		return a, toolOutcome(body)
	}
	return a, ""
}

// toolOutcome categorises a tools/call reply: "ok", a coarse error category, or "" when the
// body is not a tools/call result. Categories never carry the message itself.
func toolOutcome(body []byte) string {
	var rpc struct {
		Result *struct {
			IsError bool `json:"isError"`
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
			StructuredContent json.RawMessage `json:"structuredContent"`
		} `json:"result"`
		Error *struct {
			Code int `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &rpc) != nil {
		return ""
	}
	switch {
	case rpc.Error != nil:
		return "jsonrpc_error"
	case rpc.Result == nil || (rpc.Result.Content == nil && !rpc.Result.IsError):
		return "" // initialize and other replies
	case !rpc.Result.IsError:
		return "ok"
	}
	text := ""
	if len(rpc.Result.Content) > 0 {
		text = strings.ToLower(rpc.Result.Content[0].Text)
	}
	// The handler's messages (handler/graphtools/errors.go), most specific first.
	for _, c := range []struct{ needle, cat string }{
		{"could not obtain a microsoft graph token", "obo_failed"},
		{"is throttling", "graph_throttled"},
		{"temporarily unavailable", "graph_unavailable"},
		{"refused the request", "graph_refused"},
		{"did not finish in time", "timeout"},
		{"consent required", "consent"}, {"sign in again", "consent"},
	} {
		if strings.Contains(text, c.needle) {
			return "tool_error:" + c.cat
		}
	}
	return "tool_error:other"
}

// classify decides the kind of an exchange's answer.
func (r *recorder) classify(e Exchange) string {
	a := e.Answer
	switch e.Op {
	case "entra-authorize", "metadata", "other":
		if a.Status < 400 {
			return KindSuccess
		}
		return KindBare
	}
	if r.cat.Documented(e.Op, a) {
		return KindDocumented
	}
	if a.Error == "" && successStatus(e.Op, a.Status) {
		if strings.HasPrefix(e.Tool, "tool_error") {
			return KindDocumented
		}
		return KindSuccess
	}
	if a.Status == http.StatusFound && a.Error != "" && r.cat.Documented(e.Op, Answer{http.StatusFound, a.Error}) {
		return KindDocumented
	}
	return KindBare // possibly explained later by a fault window
}

// successStatus is the operation's documented success answer.
func successStatus(op string, status int) bool {
	switch op {
	case "register":
		return status == http.StatusCreated
	case "authorize", "consent-post", "oauth-callback":
		return status == http.StatusFound
	case "consent-get", "token", "revoke":
		return status == http.StatusOK
	case "mcp-post":
		return status == http.StatusOK || status == http.StatusAccepted
	case "mcp-get":
		// a stateless server offers no server-to-client stream (MCP: 405 Method Not Allowed)
		return status == http.StatusMethodNotAllowed || status == http.StatusOK
	case "mcp-delete":
		return status < 300 || status == http.StatusMethodNotAllowed
	}
	return false
}

// collect records the secrets of an answer: cookies, codes and states in redirects, tokens in
// token responses, form tokens on pages.
func (r *recorder) collect(resp *http.Response, body []byte) {
	for _, c := range resp.Cookies() {
		r.secret("cookie "+c.Name, c.Value)
	}
	if loc, err := url.Parse(resp.Header.Get("Location")); err == nil {
		q := loc.Query()
		for _, k := range []string{"code", "state"} {
			r.secret("redirect "+k, q.Get(k))
		}
	}
	if strings.Contains(resp.Header.Get("Content-Type"), "json") {
		var tok struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		if json.Unmarshal(body, &tok) == nil {
			r.secret("access token", tok.AccessToken)
			r.secret("refresh token", tok.RefreshToken)
		}
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		if f, err := parseForm(body); err == nil {
			for k, v := range f.Fields {
				if k == "csrf" || k == "state" {
					r.secret("form "+k, v[0])
				}
			}
		}
	}
}
