package redirecturi

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// FuzzValidateMatch checks the invariants the authorization server relies on, for any input:
// an accepted URI has no fragment, wildcard or userinfo and is https, loopback http or a
// private-use scheme; Match never admits a URI that Validate refuses; an accepted URI matches
// itself; and a port-agnostic match happens only between loopback URIs with equal host and path.
func FuzzValidateMatch(f *testing.F) {
	for _, s := range []string{
		"https://app.example.com/cb", "http://127.0.0.1:6276/oauth/callback", "http://[::1]/x?y=1",
		"http://localhost:1/cb", "com.example.app:/cb", "cursor://a.b/c", "javascript:alert(1)",
		"https://a/#", "https://u@a/", "http://evil.com/", "https://*.a/", "http://127.0.0.1:0/",
		"HTTP://127.0.0.1/", "http://127.0.0.1:65536/", "a:b", "https://a/%2e%2e/",
		"https://a;b/", `https://a"b/`, "https://a%3Cb/", "https://a b/", "https://[::1]:65535/",
		"https://[fe80::1%25en0]/", "http://[::1]:99999/", "https://[1:2]/", "cursor://a,b/c", "https://a.:1/",
	} {
		f.Add(s, "http://127.0.0.1:1234/oauth/callback")
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, registered, requested string) {
		kind, err := Validate(requested)
		if err == nil {
			if strings.ContainsAny(requested, "#* \t\r\n") {
				t.Fatalf("accepted %q with a fragment, wildcard or whitespace", requested)
			}
			u, perr := url.Parse(requested)
			if perr != nil || u.User != nil {
				t.Fatalf("accepted %q: unparsable or with userinfo", requested)
			}
			if strings.ContainsAny(u.Hostname(), ";,\"'<>%{}|^`!$&()+=~ ") {
				t.Fatalf("accepted %q with host %q", requested, u.Hostname())
			}
			if p := u.Port(); p != "" {
				if n, perr := strconv.Atoi(p); perr != nil || n < 1 || n > 65535 {
					t.Fatalf("accepted %q with port %q", requested, p)
				}
			}
			switch kind {
			case HTTPS:
				if u.Scheme != "https" || u.Hostname() == "" {
					t.Fatalf("%q classified https", requested)
				}
			case Loopback:
				if u.Scheme != "http" || !isLoopbackHost(u.Hostname()) {
					t.Fatalf("%q classified loopback", requested)
				}
			case PrivateUse:
				if u.Scheme == "http" || u.Scheme == "https" || refusedSchemes[u.Scheme] {
					t.Fatalf("%q classified private-use", requested)
				}
			default:
				t.Fatalf("%q: no kind", requested)
			}
			if !Match([]string{requested}, requested) {
				t.Fatalf("%q does not match itself", requested)
			}
		}
		if Match([]string{registered}, requested) {
			if err != nil {
				t.Fatalf("Match admitted %q which Validate refuses: %v", requested, err)
			}
			if registered != requested {
				ru, _ := url.Parse(registered)
				qu, _ := url.Parse(requested)
				if kind != Loopback || ru == nil || ru.Hostname() != qu.Hostname() || ru.EscapedPath() != qu.EscapedPath() {
					t.Fatalf("non-exact match %q ~ %q", registered, requested)
				}
			}
		}
	})
}
