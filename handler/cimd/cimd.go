// Package cimd resolves OAuth Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document,
// the registration method MCP 2025-11-25 prefers): a client_id that is an https URL with a path
// names a JSON document, published by the client, that holds its metadata.
//
// Fetching a URL chosen by an anonymous caller from inside the cloud network is a server-side
// request forgery risk, so the Fetcher:
//
//   - accepts https URLs only (for the document and for every redirect), at most MaxRedirects hops;
//   - checks the address it actually connects to, after DNS resolution (in the dialer, so DNS
//     rebinding cannot swap it): loopback, private (RFC 1918, ULA), link-local (including the
//     169.254.169.254 metadata service), CGNAT, unspecified, multicast, reserved ranges and
//     Azure's 168.63.129.16 are refused;
//   - ignores HTTP(S)_PROXY (a proxy would hide the destination address);
//   - bounds the whole fetch in time (Timeout) and the body in size (MaxBytes);
//   - validates the document (package clientmeta): client_id equal to the URL exactly, a
//     client_name, valid redirect_uris, a public client;
//   - caches the result per Cache-Control max-age, clamped to [MinCache, MaxCache], and
//     collapses concurrent fetches of one URL into one; once a cached document is stale, a
//     document that came with an ETag is revalidated with If-None-Match, and a 304 keeps it for
//     another (clamped) max-age without transferring it again.
//
// The loopback exception exists for tests only, as a Go field (Options.AllowLoopbackForTesting)
// that no configuration variable reaches.
//
//	f := cimd.New(nil)
//	if cimd.IsClientIDURL(clientID) {
//		client, err := f.Client(ctx, clientID) // *store.Client, Kind "cimd"
//	}
package cimd

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/singleflight"

	"example.com/graphmcp/handler/store"
	"example.com/graphmcp/handler/store/clientmeta"
)

// Options tune a Fetcher; nil means defaults.
type Options struct {
	// Timeout bounds one fetch: connect, TLS, redirects, headers and body. Default 5 s.
	Timeout time.Duration
	// MaxBytes bounds the document. Default 5 KiB (the draft's suggestion).
	MaxBytes int64
	// MaxRedirects bounds redirects (each must be https). Default 3.
	MaxRedirects int
	// MinCache and MaxCache clamp the Cache-Control max-age. Defaults 5 min and 24 h.
	MinCache, MaxCache time.Duration
	// FailureCache is how long a failed fetch is remembered, so that a client_id pointing at
	// a slow or broken URL cannot make every request wait for a new attempt. Default 1 min.
	FailureCache time.Duration
	// MaxEntries bounds the cache. Default 1000.
	MaxEntries int
	// Now is the clock for the cache. Default time.Now.
	Now func() time.Time
	// RootCAs replaces the system roots (tests trust their httptest certificate with it).
	RootCAs *x509.CertPool
	// AllowLoopbackForTesting lets the fetcher connect to 127.0.0.0/8 and ::1, so tests can
	// serve documents from httptest. Every other refused range stays refused. There is
	// deliberately no environment variable or configuration setting for it.
	AllowLoopbackForTesting bool
}

// Errors, wrapped with details; the internal API maps them to invalid_client.
var (
	// ErrInvalidURL: the client_id is not an acceptable metadata document URL.
	ErrInvalidURL = errors.New("cimd: invalid client metadata URL")
	// ErrFetch: the document could not be fetched (refused address, timeout, status, size).
	ErrFetch = errors.New("cimd: cannot fetch client metadata document")
	// ErrInvalidDocument: the document was fetched but is not acceptable metadata.
	ErrInvalidDocument = errors.New("cimd: invalid client metadata document")
)

// Fetcher resolves and caches client metadata documents. Safe for concurrent use.
type Fetcher struct {
	o      Options
	client *http.Client
	group  singleflight.Group

	mu    sync.Mutex
	cache map[string]entry
}

type entry struct {
	client  *store.Client // nil when err is set
	err     error
	etag    string // the document's ETag, for revalidation once stale; "" = none
	expires time.Time
}

// etagOK accepts an RFC 9110 §8.8.3 entity tag, bounded in length: anything else is not echoed
// back. It is ^(W/)?"[\x21\x23-\x7e]{0,250}"$ written out: as a regexp, the counted repetition
// compiles into hundreds of instructions at process start (~3 ms of the cold start).
func etagOK(s string) bool {
	s = strings.TrimPrefix(s, "W/")
	if len(s) < 2 || len(s) > 252 || s[0] != '"' || s[len(s)-1] != '"' {
		return false
	}
	for _, c := range []byte(s[1 : len(s)-1]) {
		if c != 0x21 && (c < 0x23 || c > 0x7e) {
			return false
		}
	}
	return true
}

// New returns a Fetcher.
func New(opts *Options) *Fetcher {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = 5 << 10
	}
	if o.MaxRedirects == 0 {
		o.MaxRedirects = 3
	}
	if o.MinCache == 0 {
		o.MinCache = 5 * time.Minute
	}
	if o.MaxCache == 0 {
		o.MaxCache = 24 * time.Hour
	}
	if o.FailureCache == 0 {
		o.FailureCache = time.Minute
	}
	if o.MaxEntries == 0 {
		o.MaxEntries = 1000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	f := &Fetcher{o: o, cache: map[string]entry{}}
	dialer := &net.Dialer{Timeout: o.Timeout, Control: f.checkAddress}
	transport := &http.Transport{
		Proxy:                  nil, // never through a proxy: the address check must see the real destination
		DialContext:            dialer.DialContext,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: o.RootCAs},
		TLSHandshakeTimeout:    o.Timeout,
		ResponseHeaderTimeout:  o.Timeout,
		MaxResponseHeaderBytes: 16 << 10,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           16,
		IdleConnTimeout:        30 * time.Second,
	}
	f.client = &http.Client{
		Transport: transport,
		Timeout:   o.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > o.MaxRedirects {
				return fmt.Errorf("more than %d redirects", o.MaxRedirects)
			}
			if req.URL.Scheme != "https" {
				return errors.New("redirect to a non-https URL")
			}
			return nil
		},
	}
	return f
}

// IsClientIDURL reports whether a client_id names a metadata document (an https URL) rather
// than a dynamic registration.
func IsClientIDURL(clientID string) bool { return strings.HasPrefix(clientID, "https://") }

// ValidateURL checks a client_id URL against the draft's rules: https, a host, a path other
// than "/", no dot segments, no fragment, no userinfo, printable ASCII, at most 2000 bytes.
func ValidateURL(raw string) error {
	bad := func(why string) error { return fmt.Errorf("%w: %s", ErrInvalidURL, why) }
	if len(raw) > 2000 {
		return bad("longer than 2000 bytes")
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] <= 0x20 || raw[i] >= 0x7f {
			return bad("contains whitespace, control or non-ASCII characters")
		}
	}
	if !strings.HasPrefix(raw, "https://") {
		return bad("must be an https URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("not a URL")
	}
	switch {
	case u.Hostname() == "":
		return bad("needs a host")
	case u.User != nil:
		return bad("must not contain userinfo")
	case strings.Contains(raw, "#"):
		return bad("must not contain a fragment")
	case u.Path == "" || u.Path == "/":
		return bad("must contain a path")
	}
	for _, seg := range strings.Split(u.EscapedPath(), "/") {
		// Decode each segment: ".%2e" and "%2e." are ".." to servers that normalise paths.
		if dec, err := url.PathUnescape(seg); err != nil || dec == "." || dec == ".." {
			return bad("must not contain . or .. path segments")
		}
	}
	return nil
}

// Client returns the client described by the document at clientID, from cache when fresh.
func (f *Fetcher) Client(ctx context.Context, clientID string) (*store.Client, error) {
	if err := ValidateURL(clientID); err != nil {
		return nil, err
	}
	now := f.o.Now()
	f.mu.Lock()
	e, ok := f.cache[clientID]
	f.mu.Unlock()
	if ok && now.Before(e.expires) {
		if e.err != nil {
			return nil, e.err
		}
		c := *e.client
		return &c, nil
	}
	var stale *entry // a stale document with an ETag: revalidate instead of refetching
	if ok && e.client != nil && e.etag != "" {
		stale = &e
	}
	v, err, _ := f.group.Do(clientID, func() (any, error) {
		// Detached from one caller's cancellation: the result serves every waiter.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.o.Timeout)
		defer cancel()
		c, err := f.fetch(ctx, clientID, stale)
		if err != nil {
			now := f.o.Now()
			f.put(clientID, entry{err: err, expires: now.Add(f.o.FailureCache)}, now)
			return nil, err
		}
		return c, nil
	})
	if err != nil {
		return nil, err
	}
	c := *v.(*store.Client)
	return &c, nil
}

func (f *Fetcher) fetch(ctx context.Context, clientID string, stale *entry) (*store.Client, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, clientID, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "graphmcp-cimd/1")
	if stale != nil {
		req.Header.Set("If-None-Match", stale.etag)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrFetch, describe(err))
	}
	defer resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if !etagOK(etag) {
		etag = ""
	}
	if resp.StatusCode == http.StatusNotModified && stale != nil {
		// Unchanged: the validated document is kept for another max-age. A 304 names no new
		// content, so its ETag (if it sends one) is kept only when well-formed.
		c := *stale.client
		now := f.o.Now()
		expires := now.Add(f.lifetime(resp.Header.Get("Cache-Control")))
		c.IssuedAt, c.ExpiresAt = store.Unix(now), store.Unix(expires)
		f.put(clientID, entry{client: &c, etag: cmp.Or(etag, stale.etag), expires: expires}, now)
		return &c, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: the document URL answered HTTP %d", ErrFetch, resp.StatusCode)
	}
	if resp.ContentLength > f.o.MaxBytes {
		return nil, fmt.Errorf("%w: document larger than %d bytes", ErrFetch, f.o.MaxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.o.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the document: %s", ErrFetch, describe(err))
	}
	if int64(len(body)) > f.o.MaxBytes {
		return nil, fmt.Errorf("%w: document larger than %d bytes", ErrFetch, f.o.MaxBytes)
	}
	c, err := clientmeta.ParseDocument(body, clientID)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidDocument, err)
	}
	now := f.o.Now()
	expires := now.Add(f.lifetime(resp.Header.Get("Cache-Control")))
	c.IssuedAt, c.ExpiresAt = store.Unix(now), store.Unix(expires)
	f.put(clientID, entry{client: c, etag: etag, expires: expires}, now)
	return c, nil
}

// lifetime reads max-age from Cache-Control, clamped to [MinCache, MaxCache]. no-store and
// no-cache get the minimum: refetching on every authorization would let anyone make this
// server hammer a third-party URL.
func (f *Fetcher) lifetime(cacheControl string) time.Duration {
	d := f.o.MinCache
	for _, part := range strings.Split(cacheControl, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		if strings.EqualFold(k, "max-age") {
			if n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64); err == nil && n >= 0 {
				d = time.Duration(min(n, int64(f.o.MaxCache/time.Second))) * time.Second
			}
		}
	}
	return min(max(d, f.o.MinCache), f.o.MaxCache)
}

func (f *Fetcher) put(key string, e entry, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.cache) >= f.o.MaxEntries {
		for k, e := range f.cache {
			if !now.Before(e.expires) {
				delete(f.cache, k)
			}
		}
		for k := range f.cache { // still full: drop arbitrary entries
			if len(f.cache) < f.o.MaxEntries {
				break
			}
			delete(f.cache, k)
		}
	}
	f.cache[key] = e
}

// errRefused marks a connection the address policy refused.
var errRefused = errors.New("address refused")

// checkAddress runs after DNS resolution, on the exact address being dialled.
func (f *Fetcher) checkAddress(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: unparsable address", errRefused)
	}
	ip := ap.Addr().Unmap()
	if f.o.AllowLoopbackForTesting && ip.IsLoopback() {
		return nil
	}
	if !PublicAddress(ip) {
		return fmt.Errorf("%w: %s is not a public address", errRefused, ip)
	}
	return nil
}

// refusedPrefixes are ranges netip's predicates do not cover.
var refusedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),         // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),     // CGNAT
	netip.MustParsePrefix("192.0.0.0/24"),      // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),      // documentation
	netip.MustParsePrefix("198.18.0.0/15"),     // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"),   // documentation
	netip.MustParsePrefix("203.0.113.0/24"),    // documentation
	netip.MustParsePrefix("240.0.0.0/4"),       // reserved, broadcast
	netip.MustParsePrefix("168.63.129.16/32"),  // Azure platform (wireserver)
	netip.MustParsePrefix("64:ff9b::/96"),      // NAT64: embeds IPv4, possibly private
	netip.MustParsePrefix("64:ff9b:1::/48"),    // local-use NAT64
	netip.MustParsePrefix("2001:db8::/32"),     // documentation
	netip.MustParsePrefix("2002::/16"),         // 6to4: embeds IPv4
	netip.MustParsePrefix("2001::/32"),         // Teredo: embeds IPv4
	netip.MustParsePrefix("fd00:ec2::254/128"), // AWS metadata over IPv6 (already ULA; explicit)
	netip.MustParsePrefix("::/96"),             // IPv4-compatible (deprecated): embeds IPv4
	netip.MustParsePrefix("::ffff:0:0:0/96"),   // SIIT IPv4-translated: embeds IPv4
	netip.MustParsePrefix("100::/64"),          // discard-only
}

// PublicAddress reports whether ip may be fetched from: not loopback, private, link-local
// (169.254.0.0/16 holds the instance metadata service), multicast, unspecified or reserved.
func PublicAddress(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range refusedPrefixes {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// describe turns a client error into a short reason without echoing response content.
func describe(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, errRefused):
		return "the document host resolves to a non-public address"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err.Error()
	}
	return err.Error()
}
