package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Options tune a Checker; nil means defaults.
type Options struct {
	// HTTPClient sends the requests. Default: a client that never follows redirects (the checks
	// inspect them) with a 20 s timeout per request.
	HTTPClient *http.Client
	// Attempts bounds the tries of one request that fails in transit (default 5); an answer, of
	// whatever status, is never retried: a wrong answer is a finding, not a transient.
	Attempts int
	// Wait sleeps before attempt n (n ≥ 2); default: 2 s doubling to at most 16 s, or until ctx
	// ends. Tests replace it, so no test waits on a clock.
	Wait func(ctx context.Context, attempt int) error
}

// Checker runs the self-check against one gateway.
type Checker struct {
	base     *url.URL
	client   *http.Client
	attempts int
	wait     func(context.Context, int) error
	// gaveUp: a request already failed every attempt; later ones try once, so an unreachable
	// gateway costs one backoff sequence, not one per check.
	gaveUp bool
	// clientID is the throwaway client registered by the DCR check, used by the refusal checks.
	clientID string
}

// Result is the outcome of one check.
type Result struct {
	Name   string
	Passed bool
	Detail string // what was verified, or what is wrong and what to do
	// Unreachable: the check failed because the gateway could not be reached even after the
	// retries, not because it answered wrongly; rerunning the self-check later may pass.
	Unreachable bool
}

// loopbackRedirect is the redirect URI of the throwaway client: loopback, so that nothing could
// ever receive a code sent to it from another machine.
const loopbackRedirect = "http://127.0.0.1:53682/selfcheck/callback"

// New validates the gateway URL: https, or http on a loopback host (the local stack).
func New(gateway string, o *Options) (*Checker, error) {
	if gateway == "" {
		return nil, errors.New("no gateway URL: pass -gateway https://<apim>.azure-api.net or set MCP_GATEWAY_URL (azd sets it after provisioning)")
	}
	u, err := url.Parse(strings.TrimSuffix(gateway, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("gateway %q is not an absolute http(s) URL", gateway)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("gateway %q uses http; only https is acceptable outside loopback", gateway)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("gateway %q must not carry a query or fragment", gateway)
	}
	c := &Checker{base: u, attempts: 5, wait: backoff}
	if o != nil && o.HTTPClient != nil {
		c.client = o.HTTPClient
	} else {
		c.client = &http.Client{Timeout: 20 * time.Second}
	}
	if o != nil && o.Attempts > 0 {
		c.attempts = o.Attempts
	}
	if o != nil && o.Wait != nil {
		c.wait = o.Wait
	}
	// The checks look at redirects themselves (an open redirect is a failure, not something to follow).
	cl := *c.client
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.client = &cl
	return c, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Gateway is the normalised gateway base URL (no trailing slash).
func (c *Checker) Gateway() string { return c.base.String() }

func (c *Checker) url(path string) string { return c.base.String() + path }

// Run executes every check in order; later checks use the client the registration check created.
func (c *Checker) Run(ctx context.Context) []Result {
	checks := []struct {
		name string
		fn   func(context.Context) (string, error)
	}{
		{"protected-resource metadata", c.checkPRM},
		{"authorization-server metadata", c.checkASMetadata},
		{"CORS on metadata", c.checkCORS},
		{"401 challenge on /mcp", c.checkChallenge},
		{"dynamic client registration", c.checkRegistration},
		{"registration refusals", c.checkRegistrationRefusals},
		{"/authorize refusals", c.checkAuthorizeRefusals},
		{"/token refusals", c.checkTokenRefusals},
	}
	var results []Result
	for _, ch := range checks {
		detail, err := ch.fn(ctx)
		if err != nil {
			var u *unreachableError
			results = append(results, Result{Name: ch.name, Detail: err.Error(), Unreachable: errors.As(err, &u)})
			continue
		}
		results = append(results, Result{Name: ch.name, Passed: true, Detail: detail})
	}
	return results
}

// maxBody bounds what is read from any response.
const maxBody = 256 << 10

// do sends a request and reads at most maxBody bytes of the response. A request that fails in
// transit (DNS not yet propagated for a new gateway, a refused or reset connection, a timeout) is
// retried with backoff up to c.attempts times; a certificate error or an answer is returned as is.
func (c *Checker) do(ctx context.Context, method, path string, header http.Header, body string) (*http.Response, []byte, error) {
	var (
		resp *http.Response
		last error
	)
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			if err := c.wait(ctx, attempt); err != nil {
				c.gaveUp = true
				return nil, nil, &unreachableError{fmt.Errorf("%s %s: %v after %d attempts (%v)", method, path, last, attempt-1, err)}
			}
		}
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, c.url(path), rd)
		if err != nil {
			return nil, nil, err
		}
		for k, vs := range header {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
		resp, err = c.client.Do(req)
		if err == nil {
			c.gaveUp = false
			break
		}
		last = err
		if !transient(ctx, err) {
			return nil, nil, fmt.Errorf("%s %s: %v (is the gateway deployed, and its certificate valid?)", method, path, err)
		}
		if attempt >= c.attempts || c.gaveUp {
			c.gaveUp = true
			return nil, nil, &unreachableError{fmt.Errorf("%s %s: %v, %d attempts", method, path, err, attempt)}
		}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return resp, nil, fmt.Errorf("%s %s: reading the response: %v", method, path, err)
	}
	return resp, b, nil
}

// getJSON GETs path and decodes a JSON object, requiring status 200 and a JSON content type.
func (c *Checker) getJSON(ctx context.Context, path string) (map[string]any, error) {
	resp, body, err := c.do(ctx, http.MethodGet, path, http.Header{"Accept": {"application/json"}}, "")
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s answered %d, want 200", path, resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return nil, fmt.Errorf("GET %s answered Content-Type %q, want application/json", path, ct)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("GET %s: body is not a JSON object: %v", path, err)
	}
	return doc, nil
}

func str(doc map[string]any, key string) string {
	s, _ := doc[key].(string)
	return s
}

func strs(doc map[string]any, key string) []string {
	arr, _ := doc[key].([]any)
	var out []string
	for _, v := range arr {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// unreachableError marks a request that never got an answer despite the retries.
type unreachableError struct{ err error }

func (e *unreachableError) Error() string { return e.err.Error() }
func (e *unreachableError) Unwrap() error { return e.err }

// transient: failures in transit that a new deployment shows for a while (DNS of a new gateway,
// refused or reset connections, timeouts). Certificate errors are findings, and a request whose
// context ended is over.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var (
		unknownCA   x509.UnknownAuthorityError
		hostname    x509.HostnameError
		invalid     x509.CertificateInvalidError
		verifyError *tls.CertificateVerificationError
	)
	if errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &invalid) || errors.As(err, &verifyError) {
		return false
	}
	return true
}

// backoff waits 2, 4, 8, 16, 16 … seconds before attempts 2, 3, 4, 5, …: about 30 s for the
// default five attempts, inside the hook's overall -timeout.
func backoff(ctx context.Context, attempt int) error {
	d := time.Second << min(attempt-1, 4)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
