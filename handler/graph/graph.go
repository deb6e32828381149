// Package graph is a thin Microsoft Graph REST client on an azcore pipeline: no Graph SDK (it
// would add minutes of build time and tens of MB to the binary for a handful of GET calls).
//
// The pipeline retries 408/429/5xx, honouring Retry-After (also beyond azcore's default 60 s
// cap, up to [Options.MaxRetryWait]). When Graph asks for a longer wait than allowed, or
// retries run out, the call fails with an [*Error] whose RetryAfter says how long Graph wants
// us to wait, so the tool can tell the user.
//
//	c, _ := graph.New(&graph.Options{Endpoint: "https://graph.microsoft.com"})
//	var me struct{ DisplayName string `json:"displayName"` }
//	err := c.Get(ctx, graphToken, "/v1.0/me", url.Values{"$select": {"displayName"}}, &me)
package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// Options configures a [Client].
type Options struct {
	// Endpoint is Graph's base URL. Default "https://graph.microsoft.com".
	Endpoint string
	// HTTPClient is the shared keep-alive client. Default http.DefaultClient.
	HTTPClient *http.Client
	// MaxRetryWait is the longest single wait (Retry-After or backoff) accepted; a longer
	// Retry-After ends the call with a throttling error. Default 30 s.
	MaxRetryWait time.Duration
	// MaxRetries bounds the retries after the first attempt. Default 3; negative means none.
	MaxRetries int
	// RetryDelay is the base of the exponential backoff when Graph sends no Retry-After.
	// Default 800 ms.
	RetryDelay time.Duration
	// MaxResponseBytes bounds a response body. Default 8 MiB.
	MaxResponseBytes int64
}

// Client calls Graph with a caller-provided access token. Safe for concurrent use.
type Client struct {
	endpoint string
	pl       runtime.Pipeline
	maxBody  int64

	hc *http.Client // for Warm, outside the pipeline (no retries, no token)
}

// New returns a Client.
func New(opts *Options) (*Client, error) {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if o.Endpoint == "" {
		o.Endpoint = "https://graph.microsoft.com"
	}
	u, err := url.Parse(o.Endpoint)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("graph: invalid endpoint %q", o.Endpoint)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.MaxRetryWait <= 0 {
		o.MaxRetryWait = 30 * time.Second
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = 3
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = 800 * time.Millisecond
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = 8 << 20
	}
	co := &policy.ClientOptions{
		Transport: o.HTTPClient,
		Retry: policy.RetryOptions{
			MaxRetries:    int32(o.MaxRetries),
			RetryDelay:    o.RetryDelay,
			MaxRetryDelay: o.MaxRetryWait,
			StatusCodes:   []int{http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout},
		},
		Telemetry: policy.TelemetryOptions{ApplicationID: "graphmcp"},
	}
	return &Client{
		endpoint: strings.TrimSuffix(o.Endpoint, "/"),
		pl:       runtime.NewPipeline("graphmcp", "v1", runtime.PipelineOptions{}, co),
		maxBody:  o.MaxResponseBytes,
		hc:       o.HTTPClient,
	}, nil
}

// Warm opens the keep-alive connection (TCP and TLS, HTTP/2 where offered) that the first
// [Client.Get] would otherwise set up while a user waits: one unauthenticated HEAD of the
// endpoint's /v1.0/ root, whose answer (Graph says 4xx) is discarded. No token is sent.
func (c *Client) Warm(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, c.endpoint+"/v1.0/", nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("graph: warming the connection to %s: %w", c.endpoint, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	return resp.Body.Close()
}

// Get sends GET endpoint+path?query with the bearer token and decodes a 2xx JSON body into out.
func (c *Client) Get(ctx context.Context, token, path string, query url.Values, out any) error {
	if !strings.HasPrefix(path, "/") || strings.Contains(path, "..") {
		return fmt.Errorf("graph: path must be absolute without dot segments, got %q", path)
	}
	req, err := runtime.NewRequest(ctx, http.MethodGet, c.endpoint+path)
	if err != nil {
		return fmt.Errorf("graph: building request: %w", err)
	}
	if len(query) > 0 {
		req.Raw().URL.RawQuery = query.Encode()
	}
	req.Raw().Header.Set("Authorization", "Bearer "+token)
	req.Raw().Header.Set("Accept", "application/json")
	resp, err := c.pl.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("graph: GET %s: %w", path, ctx.Err())
		}
		return &Error{StatusCode: 0, Code: "transport", Message: "Microsoft Graph could not be reached: " + err.Error(), Path: path}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return &Error{Code: "transport", Message: "reading the Graph response failed: " + err.Error(), Path: path}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newError(resp, body, path)
	}
	if int64(len(body)) > c.maxBody {
		return &Error{StatusCode: resp.StatusCode, Code: "responseTooLarge", Message: fmt.Sprintf("the Graph response exceeds %d bytes; request fewer items", c.maxBody), Path: path}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return &Error{StatusCode: resp.StatusCode, Code: "invalidResponse", Message: "Graph returned a body that is not the expected JSON", Path: path}
	}
	return nil
}

// Error is a non-2xx answer (or a transport failure, StatusCode 0) from Graph. It carries
// Graph's own error code and message, never the token.
type Error struct {
	StatusCode int
	Code       string // Graph's error.code, e.g. "InvalidAuthenticationToken"
	Message    string
	RequestID  string
	RetryAfter time.Duration // from Retry-After on 429/503
	Path       string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("Microsoft Graph GET %s", e.Path)
	if e.StatusCode != 0 {
		s += fmt.Sprintf(" returned %d", e.StatusCode)
	}
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (request-id " + e.RequestID + ")"
	}
	return s
}

// Throttled reports whether Graph asked us to slow down (429) or was unavailable (503).
func (e *Error) Throttled() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode == http.StatusServiceUnavailable
}

// AsError returns err as *Error if it is one.
func AsError(err error) (*Error, bool) {
	var ge *Error
	ok := errors.As(err, &ge)
	return ge, ok
}

func newError(resp *http.Response, body []byte, path string) *Error {
	e := &Error{StatusCode: resp.StatusCode, Path: path, RetryAfter: retryAfter(resp.Header)}
	var wire struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				RequestID string `json:"request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &wire) == nil {
		e.Code, e.Message, e.RequestID = wire.Error.Code, wire.Error.Message, wire.Error.InnerError.RequestID
	}
	if e.RequestID == "" {
		e.RequestID = resp.Header.Get("request-id")
	}
	if len(e.Message) > 500 {
		e.Message = e.Message[:500] + "…"
	}
	if e.Code == "" {
		e.Code = http.StatusText(resp.StatusCode)
	}
	return e
}

// retryAfter parses Retry-After as seconds or an HTTP date.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
