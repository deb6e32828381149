package soak

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"example.com/graphmcp/devstack/entra"
	"example.com/graphmcp/internal/tokenformat"
)

// client is one simulated OAuth MCP client with its own browser (cookie jar): it registers
// once (or names its metadata document), signs its user in through consent and the Entra
// sign-in page, redeems the code, calls tools, rotates its refresh token, and now and then
// attacks its own grants the way a stolen-token replay would (code replay, concurrent code
// redemption, refresh-token reuse) so the invariants have something to hold against.
type client struct {
	r        *runner
	idx      int
	user     entra.User
	web      *http.Client // browser and OAuth requests: cookies, no redirects followed
	tr       *transport
	redirect string

	clientID      string
	registrations int
	access        string
	refresh       string
	needRefresh   bool // the access token was refused: rotate before anything else
	session       *mcp.ClientSession
	calls         int // tool calls made
	sinceRotate   int // tool calls since the last rotation
	failures      int // consecutive failed steps, for backoff

	replayed, reused bool // deliberate attacks already made
	toolOK           bool // a tool call succeeded (since the runner last cleared it)

	refreshRound int64 // the runner's refreshRound this client has rotated for
}

// attacks decides which clients try which replay (fixed by index, so a run is reproducible).
func (c *client) replaysCode() bool         { return c.idx%4 == 1 }
func (c *client) redeemsConcurrently() bool { return c.idx%8 == 3 }
func (c *client) reusesRefresh() bool       { return c.idx%8 == 5 }

// refreshEvery is how many tool calls a client makes per refresh-token rotation.
const refreshEvery = 4

var errStopped = errors.New("soak: stopped")

func newClient(r *runner, idx int, user entra.User) *client {
	jar, _ := cookiejar.New(nil)
	tr := &transport{base: r.base, rec: r.rec, client: idx}
	c := &client{r: r, idx: idx, user: user, tr: tr,
		web: &http.Client{Transport: tr, Jar: jar, Timeout: requestTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	// A mix of redirect URI kinds a real population has: loopback (any port), claimed https,
	// private-use scheme. None is ever contacted: the client reads the code from the redirect.
	switch idx % 3 {
	case 0:
		c.redirect = fmt.Sprintf("http://127.0.0.1:%d/callback", 20000+idx)
	case 1:
		c.redirect = fmt.Sprintf("https://soak-client-%d.example/oauth/callback", idx)
	default:
		c.redirect = fmt.Sprintf("com.example.soak%d:/oauth/callback", idx)
	}
	return c
}

// requestTimeout bounds one HTTP exchange (above the policies' own 30 s outbound timeouts).
const requestTimeout = 75 * time.Second

// step does the next thing the client needs; it returns an error when the step failed (the
// caller backs off) and errStopped when the run's request budget is spent.
func (c *client) step(ctx context.Context) error {
	if !c.r.spend() {
		return errStopped
	}
	switch {
	case c.clientID == "":
		return c.register(ctx)
	case c.needRefresh && c.refresh != "":
		return c.rotate(ctx)
	case c.refresh != "" && c.refreshRound != c.r.refreshRound.Load():
		c.refreshRound = c.r.refreshRound.Load()
		return c.rotate(ctx)
	case c.access == "" || c.needRefresh:
		return c.authorize(ctx)
	case c.session == nil:
		return c.connect(ctx)
	case c.sinceRotate >= refreshEvery && c.refresh != "":
		return c.rotate(ctx)
	default:
		return c.callTool(ctx)
	}
}

// retryable reports whether a failed request may be sent again as it was: no answer, a 5xx or
// a 429 (the answers that say "not now" rather than "no").
func retryable(err error) bool {
	var ae *answerError
	if !errors.As(err, &ae) {
		return err != nil
	}
	return ae.a.Status >= 500 || ae.a.Status == http.StatusTooManyRequests
}

func (c *client) backoff(ctx context.Context, retryAfter time.Duration) {
	c.failures++
	d := time.Duration(min(c.failures, 6)) * 80 * time.Millisecond
	if retryAfter > d {
		d = min(retryAfter, 2*time.Second)
	}
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func (c *client) ok() { c.failures = 0 }

// answerError is a step that ended in an answer other than success.
type answerError struct {
	step string
	a    Answer
}

func (e *answerError) Error() string { return e.step + ": " + e.a.String() }

// lastAnswer is the error for a step that ended with the client's latest OAuth (mcp false) or
// MCP POST (mcp true) exchange.
func (c *client) lastAnswer(step string, mcp bool) error {
	e := c.tr.latest(mcp)
	if e == nil || e.Kind == KindTransport {
		return fmt.Errorf("%s: no answer", step)
	}
	return &answerError{step, e.Answer}
}

func (c *client) post(ctx context.Context, label, u, contentType, body string, hdr http.Header) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(withLabel(ctx, label), http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", contentType)
	return c.do(req)
}

func (c *client) get(ctx context.Context, label, u string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(withLabel(ctx, label), http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	return c.do(req)
}

func (c *client) do(req *http.Request) (*http.Response, []byte, error) {
	resp, err := c.web.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b, nil
}

// register is RFC 7591 dynamic registration (or, with a metadata document, nothing to do).
func (c *client) register(ctx context.Context) error {
	if c.r.router != nil && c.r.usesDocument(c.idx) {
		c.clientID = c.r.router.docs.publish(c.idx, c.redirect)
		return nil
	}
	meta, _ := json.Marshal(map[string]any{
		"client_name": fmt.Sprintf("soak client %d", c.idx), "redirect_uris": []string{c.redirect},
		"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
		"token_endpoint_auth_method": "none",
	})
	resp, b, err := c.post(ctx, "register", c.r.gateway+"/register", "application/json", string(meta), nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated {
		return c.lastAnswer("register", false)
	}
	var reg struct {
		ClientID string `json:"client_id"`
	}
	if json.Unmarshal(b, &reg) != nil || reg.ClientID == "" {
		return errors.New("register: no client_id")
	}
	c.clientID = reg.ClientID
	c.registrations++
	c.r.led.registered(reg.ClientID, c.idx)
	return nil
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// authorize runs the authorization code flow through the browser: /authorize, the consent page
// (first time per client: the form with its CSRF token, posted same-origin), Entra's sign-in
// page (the user's password), the callback, and back to the client's redirect URI; then the
// code exchange.
func (c *client) authorize(ctx context.Context) error {
	verifier, state := random(32), random(16)
	sum := sha256.Sum256([]byte(verifier))
	c.r.rec.secret("pkce verifier", verifier)
	c.r.rec.secret("client state", state)
	q := url.Values{
		"response_type": {"code"}, "client_id": {c.clientID}, "redirect_uri": {c.redirect}, "state": {state},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"resource": {c.r.gateway + "/mcp"}, "scope": {"mcp:tools"},
	}
	resp, body, err := c.get(ctx, "authorize", c.r.gateway+"/authorize?"+q.Encode())
	for hop := 0; hop < 16; hop++ {
		if err != nil {
			return err
		}
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			loc, perr := resp.Request.URL.Parse(resp.Header.Get("Location"))
			if perr != nil {
				return fmt.Errorf("authorize: bad Location")
			}
			if loc.Host != c.r.gatewayHost && loc.Host != c.r.entraHost || loc.Scheme != "https" {
				return c.callback(ctx, loc, state, verifier)
			}
			resp, body, err = c.get(ctx, labelFor(loc), loc.String())
		case resp.StatusCode == http.StatusOK && resp.Request.URL.Host == c.r.gatewayHost && resp.Request.URL.Path == "/consent":
			f, ferr := parseForm(body)
			if ferr != nil {
				return fmt.Errorf("consent page: %w", ferr)
			}
			f.Fields.Set("action", "approve")
			hdr := http.Header{"Origin": {c.r.gateway}, "Sec-Fetch-Site": {"same-origin"}}
			resp, body, err = c.post(ctx, "consent-post", c.r.gateway+"/consent", "application/x-www-form-urlencoded", f.Fields.Encode(), hdr)
		case resp.StatusCode == http.StatusOK && resp.Request.URL.Host == c.r.entraHost:
			f, ferr := parseForm(body)
			if ferr != nil {
				return fmt.Errorf("sign-in page: %w", ferr)
			}
			action, aerr := resp.Request.URL.Parse(f.Action)
			if aerr != nil {
				return fmt.Errorf("sign-in page: bad form action")
			}
			f.Fields.Set("username", c.user.UserPrincipalName)
			f.Fields.Set("password", c.user.Password)
			resp, body, err = c.post(ctx, "entra-sign-in", action.String(), "application/x-www-form-urlencoded", f.Fields.Encode(), nil)
		default:
			return c.lastAnswer("authorize", false)
		}
	}
	return errors.New("authorize: too many redirects")
}

func labelFor(u *url.URL) string {
	if u.Path == "/oauth-callback" {
		return "oauth-callback"
	}
	if u.Path == "/consent" {
		return "consent-get"
	}
	if strings.HasSuffix(u.Path, "/oauth2/v2.0/authorize") {
		return "entra-authorize"
	}
	return strings.TrimPrefix(u.Path, "/")
}

// callback reads the authorization response at the client's redirect URI and redeems the code.
func (c *client) callback(ctx context.Context, loc *url.URL, state, verifier string) error {
	q := loc.Query()
	if e := q.Get("error"); e != "" {
		return &answerError{"authorization response", Answer{http.StatusFound, e}}
	}
	if q.Get("state") != state || q.Get("iss") != c.r.gateway || q.Get("code") == "" {
		c.r.led.violation("an authorization response without the client's state, the issuer or a code")
		return errors.New("authorization response malformed")
	}
	return c.exchange(ctx, q.Get("code"), verifier)
}

// exchange redeems a code; some clients send the same code twice at once, or replay it after
// success. At most one redemption of a code may ever succeed.
func (c *client) exchange(ctx context.Context, code, verifier string) error {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.redirect},
		"client_id": {c.clientID}, "code_verifier": {verifier}, "resource": {c.r.gateway + "/mcp"}}.Encode()
	redeem := func(label string) (*tokens, error) {
		resp, b, err := c.post(ctx, label, c.r.gateway+"/token", "application/x-www-form-urlencoded", form, nil)
		if err != nil {
			c.r.led.codeAnswer(code, false)
			return nil, err
		}
		c.r.led.codeAnswer(code, resp.StatusCode == http.StatusOK)
		return c.tokensFrom(resp, b)
	}
	var tok *tokens
	var err error
	if c.redeemsConcurrently() && !c.replayed {
		c.replayed = true
		c.r.led.count(&c.r.led.doubleRedeems)
		var wg sync.WaitGroup
		var mu sync.Mutex
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// a second transport: the concurrent request must not race the client's own
				t, e := c.clone().redeemWith(ctx, form, code)
				mu.Lock()
				defer mu.Unlock()
				if t != nil {
					tok = t
				} else if tok == nil {
					err = e
				}
			}()
		}
		wg.Wait()
	} else {
		tok, err = redeem("token/code")
		if retryable(err) {
			tok, err = redeem("token/code-retry") // the client cannot know whether the code was spent
		}
	}
	if tok == nil {
		return err
	}
	c.accept(tok)
	if c.replaysCode() && !c.replayed {
		c.replayed = true
		c.r.led.count(&c.r.led.replays)
		_, _ = redeem("token/code-replay")
	}
	return nil
}

// clone is a client sharing this one's identity but with its own transport record, for
// requests sent concurrently with the client's own.
func (c *client) clone() *client {
	tr := &transport{base: c.r.base, rec: c.r.rec, client: c.idx}
	d := *c
	d.tr = tr
	d.web = &http.Client{Transport: tr, Jar: c.web.Jar, Timeout: requestTimeout, CheckRedirect: c.web.CheckRedirect}
	return &d
}

func (c *client) redeemWith(ctx context.Context, form, code string) (*tokens, error) {
	resp, b, err := c.post(ctx, "token/code-concurrent", c.r.gateway+"/token", "application/x-www-form-urlencoded", form, nil)
	if err != nil {
		c.r.led.codeAnswer(code, false)
		return nil, err
	}
	c.r.led.codeAnswer(code, resp.StatusCode == http.StatusOK)
	return c.tokensFrom(resp, b)
}

type tokens struct{ access, refresh string }

func (c *client) tokensFrom(resp *http.Response, b []byte) (*tokens, error) {
	if resp.StatusCode != http.StatusOK {
		return nil, c.lastAnswer("token", false)
	}
	var t struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if json.Unmarshal(b, &t) != nil || t.AccessToken == "" {
		return nil, errors.New("token: no access_token")
	}
	// The Entra token sealed inside must not leak either.
	if at, err := tokenformat.OpenAccessToken(c.r.keys, t.AccessToken, c.r.gateway+"/mcp", time.Now()); err == nil {
		c.r.rec.secret("entra access token", at.Entra)
	}
	return &tokens{t.AccessToken, t.RefreshToken}, nil
}

func (c *client) accept(t *tokens) {
	c.access, c.refresh, c.needRefresh, c.sinceRotate = t.access, t.refresh, false, 0
	c.r.led.issued(t.refresh, c.idx)
	c.dropSession()
}

func (c *client) dropSession() {
	if c.session != nil {
		_ = c.session.Close()
		c.session = nil
	}
}

// forget drops the grant: the client must sign in again (never register again).
func (c *client) forget() {
	c.access, c.refresh, c.needRefresh = "", "", false
	c.dropSession()
}

// rotate redeems the refresh token; a client that gets 5xx or no answer tries the same token
// once more, as "temporarily_unavailable" invites. Some clients then replay the rotated token
// (a stolen copy): that must be refused and revoke the family, so the newest token fails too.
func (c *client) rotate(ctx context.Context) error {
	old := c.refresh
	err := c.redeemRefresh(ctx, old, "token/refresh")
	if retryable(err) {
		err = c.redeemRefresh(ctx, old, "token/refresh-retry")
	}
	if err != nil {
		if ae, ok := err.(*answerError); ok && ae.a.Error == "invalid_grant" {
			c.forget()
		}
		return err
	}
	if c.reusesRefresh() && !c.reused {
		c.reused = true
		c.reuseProbe(ctx, old)
	}
	return nil
}

func (c *client) redeemRefresh(ctx context.Context, h, label string) error {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {h}, "client_id": {c.clientID}}.Encode()
	start := time.Now()
	resp, b, err := c.post(ctx, label, c.r.gateway+"/token", "application/x-www-form-urlencoded", form, nil)
	if err != nil {
		c.r.led.refreshAnswer(h, start, false, false, "", c.idx)
		return err
	}
	t, terr := c.tokensFrom(resp, b)
	ae, _ := terr.(*answerError)
	refused := ae != nil && ae.a.Status == http.StatusBadRequest && ae.a.Error == "invalid_grant"
	if ae != nil && ae.a.Status == http.StatusServiceUnavailable && ae.a.Error == "temporarily_unavailable" {
		c.r.led.refreshUnavailable(h, start, time.Now())
	}
	next := ""
	if t != nil {
		next = t.refresh
	}
	c.r.led.refreshAnswer(h, start, t != nil, refused, next, c.idx)
	if terr != nil {
		return terr
	}
	c.accept(t)
	return nil
}

// reuseProbe replays a rotated refresh token: it must be refused, and then the family's newest
// token must be refused too (the family is revoked).
func (c *client) reuseProbe(ctx context.Context, rotated string) {
	at := time.Now()
	if err := c.redeemRefresh(ctx, rotated, "token/refresh-reuse"); err == nil {
		return // accepted: the ledger has recorded the violation
	} else if ae, ok := err.(*answerError); !ok || ae.a.Error != "invalid_grant" {
		return // a fault answered: nothing learnt
	}
	c.r.led.reuseDetected(rotated, at)
	newest := c.refresh
	_ = c.redeemRefresh(ctx, newest, "token/refresh-after-reuse")
	c.forget()
}

// bearerTransport adds the client's access token to MCP requests.
type bearerTransport struct {
	token string
	base  http.RoundTripper
}

func (b *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

// connect opens an MCP session with the go-sdk client (initialize, initialized).
func (c *client) connect(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	hc := &http.Client{Transport: &bearerTransport{c.access, c.tr}}
	cl := mcp.NewClient(&mcp.Implementation{Name: "graphmcp-soak", Version: strconv.Itoa(c.idx)}, nil)
	cs, err := cl.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: c.r.gateway + "/mcp", HTTPClient: hc, MaxRetries: -1}, nil)
	if err != nil {
		return c.mcpFailed("connect")
	}
	c.session = cs
	return nil
}

// mcpFailed reacts to a failed MCP request by its HTTP answer: a refused access token is
// refreshed (or the user signs in again), anything else is retried on a new session.
func (c *client) mcpFailed(step string) error {
	err := c.lastAnswer(step, true)
	c.dropSession()
	if ae, ok := err.(*answerError); ok && ae.a.Status == http.StatusUnauthorized {
		c.needRefresh = true
	}
	return err
}

// Tools the clients call, in turn.
var soakTools = []string{"get_graph_user_details", "list_upcoming_events", "list_recent_files"}

func (c *client) callTool(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	name := soakTools[(c.idx+c.calls)%len(soakTools)]
	if c.idx%5 == 0 && c.calls%3 == 0 && hasRole(c.user, "Tools.Mail") {
		name = "list_recent_mail"
	}
	c.calls++
	c.sinceRotate++
	res, err := c.session.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: map[string]any{}})
	if err != nil {
		return c.mcpFailed("tools/call")
	}
	if res.IsError {
		return errors.New("tool error")
	}
	c.toolOK = true
	return nil
}

func hasRole(u entra.User, role string) bool {
	for _, r := range u.Roles {
		if r == role {
			return true
		}
	}
	return false
}
