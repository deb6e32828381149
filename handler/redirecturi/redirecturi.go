// Package redirecturi decides which OAuth redirect URIs a client may register and whether a
// redirect URI presented at /authorize or /token matches a registered one.
//
// The rules (OAuth 2.1, RFC 8252, MCP authorization) in one place, used by dynamic client
// registration and by Client ID Metadata Documents alike:
//
//   - https://host/... — any host; matched exactly.
//   - http:// on loopback only (127.0.0.1, [::1], localhost) — native apps listen on an
//     ephemeral port, so the port is ignored when matching (RFC 8252 §7.3); scheme, host,
//     path and query must still be identical.
//   - a private-use scheme for native apps (RFC 8252 §7.1), e.g. com.example.app:/cb or
//     cursor://anysphere.cursor-retrieval/oauth/callback; matched exactly. Schemes with a
//     meaning of their own in a browser (javascript, data, file, ...) are refused.
//   - never a fragment, a wildcard, userinfo, whitespace or control characters.
//   - a host, when there is one, is a plain DNS name (letters, digits, '-', '.') or a
//     bracketed IPv6 literal without a zone, and a port is 1–65535: what every client and
//     .NET's System.Uri (the gateway's policies) parse the same way as Go does.
//
// Typical use:
//
//	if err := redirecturi.Validate(uri); err != nil { /* invalid_redirect_uri */ }
//	if !redirecturi.Match(client.RedirectURIs, requested) { /* refuse before any redirect */ }
package redirecturi

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// MaxLength bounds a redirect URI in bytes; longer values are refused at registration.
const MaxLength = 2000

// Kind says which rule admitted a redirect URI.
type Kind int

const (
	// HTTPS is an https URI, matched exactly.
	HTTPS Kind = iota + 1
	// Loopback is an http URI on 127.0.0.1, [::1] or localhost, matched ignoring the port.
	Loopback
	// PrivateUse is a native app's private-use scheme, matched exactly.
	PrivateUse
)

func (k Kind) String() string {
	switch k {
	case HTTPS:
		return "https"
	case Loopback:
		return "loopback"
	case PrivateUse:
		return "private-use"
	}
	return "invalid"
}

// ErrInvalid is wrapped by every validation error, so callers can map it to invalid_redirect_uri.
var ErrInvalid = errors.New("invalid redirect URI")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// refusedSchemes have a meaning of their own in browsers or operating systems; a client
// registering them is either broken or trying to run code in the authorization server's origin.
var refusedSchemes = map[string]bool{
	"javascript": true, "vbscript": true, "data": true, "file": true, "about": true, "blob": true,
	"filesystem": true, "view-source": true, "ftp": true, "ws": true, "wss": true, "mailto": true,
	"tel": true, "sms": true, "intent": true, "chrome": true, "jar": true, "content": true,
}

// Validate reports whether raw may be registered as a redirect URI and which rule admits it.
func Validate(raw string) (Kind, error) {
	u, err := parse(raw)
	if err != nil {
		return 0, err
	}
	return kindOf(u)
}

// parse applies the checks that do not depend on the scheme.
func parse(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, invalid("empty")
	}
	if len(raw) > MaxLength {
		return nil, invalid("longer than %d bytes", MaxLength)
	}
	for _, r := range raw {
		if r <= 0x20 || r == 0x7f || r > 0x7e {
			return nil, invalid("contains whitespace, control or non-ASCII characters; percent-encode them")
		}
	}
	if strings.Contains(raw, "#") {
		return nil, invalid("must not contain a fragment")
	}
	if strings.Contains(raw, "*") {
		return nil, invalid("must not contain wildcards")
	}
	if strings.Contains(raw, "\\") {
		return nil, invalid("must not contain backslashes")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, invalid("not a URI")
	}
	if u.Scheme == "" {
		return nil, invalid("must be absolute (https://..., http://127.0.0.1/... or a private-use scheme)")
	}
	if !strings.HasPrefix(raw, u.Scheme+":") {
		return nil, invalid("scheme must be lower case")
	}
	if u.User != nil {
		return nil, invalid("must not contain userinfo")
	}
	if u.Host != "" {
		if err := checkAuthority(u); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// checkAuthority refuses hosts and ports that parsers disagree on. Go's url.Parse accepts
// "https://a;b/", "https://a%22b/" or "http://127.0.0.1:99999/"; System.Uri (the policies)
// throws on some and other clients resolve them differently, so a registered URI could be
// checked against one host and redirected to another. Registration is where to refuse them.
func checkAuthority(u *url.URL) error {
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 || p[0] == '0' {
			return invalid("port %q is not a number from 1 to 65535 without leading zeros", p)
		}
	}
	host := u.Hostname()
	if strings.HasPrefix(u.Host, "[") {
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() || a.Zone() != "" || a.Is4In6() {
			return invalid("host %q is not a valid IPv6 literal (no zone)", host)
		}
		return nil
	}
	if !isHostName(host) {
		return invalid("host must be a DNS name (letters, digits, '-' and '.'), an IPv4 address or a bracketed IPv6 literal")
	}
	return nil
}

// isHostName accepts a DNS name or dotted IPv4 address: labels of 1–63 letters, digits or '-',
// not starting or ending with '-', at most 253 bytes, no empty label (so no trailing dot).
func isHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func kindOf(u *url.URL) (Kind, error) {
	// url.Parse lower-cases the scheme, so its case was checked on the raw string in parse.
	scheme := u.Scheme
	switch scheme {
	case "https":
		if u.Host == "" || u.Hostname() == "" {
			return 0, invalid("https URI needs a host")
		}
		if u.Opaque != "" {
			return 0, invalid("must be hierarchical")
		}
		return HTTPS, nil
	case "http":
		if u.Opaque != "" {
			return 0, invalid("must be hierarchical")
		}
		if !isLoopbackHost(u.Hostname()) {
			return 0, invalid("http is allowed only on loopback (127.0.0.1, [::1], localhost); use https")
		}
		return Loopback, nil
	}
	if !isPrivateUseScheme(scheme) {
		return 0, invalid("scheme %q is not allowed; use https, loopback http or a private-use scheme such as com.example.app", scheme)
	}
	return PrivateUse, nil
}

func isLoopbackHost(hostname string) bool {
	switch hostname {
	case "127.0.0.1", "::1", "localhost":
		return true
	}
	return false
}

// isPrivateUseScheme accepts an RFC 3986 scheme that is not one of the refused ones.
// RFC 8252 §7.1 asks for reverse-domain schemes (com.example.app); real MCP clients
// register dotless ones (cursor://, vscode://), so a dot is recommended, not required.
func isPrivateUseScheme(s string) bool {
	if s == "" || len(s) > 100 || refusedSchemes[s] || s == "http" || s == "https" {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
		case i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return true
}

// Match reports whether requested is one of registered: byte-for-byte, or — for loopback http
// URIs — equal in scheme, host, path and query with any port (RFC 8252 §7.3). A requested URI
// that would not itself pass Validate never matches.
func Match(registered []string, requested string) bool {
	u, err := parse(requested)
	if err != nil {
		return false
	}
	kind, err := kindOf(u)
	if err != nil {
		return false
	}
	for _, r := range registered {
		if r == requested {
			return true
		}
	}
	if kind != Loopback {
		return false
	}
	for _, r := range registered {
		ru, err := parse(r)
		if err != nil {
			continue
		}
		if k, err := kindOf(ru); err != nil || k != Loopback {
			continue
		}
		if ru.Hostname() == u.Hostname() && ru.EscapedPath() == u.EscapedPath() && ru.RawQuery == u.RawQuery &&
			ru.ForceQuery == u.ForceQuery {
			return true
		}
	}
	return false
}

// Host returns the host a consent page should show prominently for a redirect URI
// ("127.0.0.1", "app.example.com", or the private-use scheme for native apps).
func Host(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if u.Scheme == "http" || u.Scheme == "https" {
		return u.Hostname()
	}
	return u.Scheme + ":"
}
