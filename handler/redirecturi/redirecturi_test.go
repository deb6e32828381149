package redirecturi

import (
	"errors"
	"testing"
)

func TestValidate(t *testing.T) {
	good := map[string]Kind{
		"https://app.example.com/cb":                             HTTPS,
		"https://app.example.com:8443/cb?x=1":                    HTTPS,
		"https://claude.ai/api/mcp/auth_callback":                HTTPS,
		"http://127.0.0.1:6276/oauth/callback":                   Loopback,
		"http://127.0.0.1/cb":                                    Loopback,
		"http://[::1]:33418/":                                    Loopback,
		"http://localhost:6274/oauth/callback":                   Loopback,
		"com.example.app:/oauth2redirect":                        PrivateUse,
		"cursor://anysphere.cursor-retrieval/oauth/callback":     PrivateUse,
		"vscode://vscode.github-authentication/did-authenticate": PrivateUse,
		"http://127.0.0.1:65535/cb":                              Loopback,
		"http://[::1]:1/cb":                                      Loopback,
		"https://[2001:db8::1]:8443/cb":                          HTTPS,
		"https://xn--bcher-kva.example/cb":                       HTTPS,
		"https://203.0.113.7/cb":                                 HTTPS,
		"https://App.Example.com/cb":                             HTTPS,
	}
	for uri, want := range good {
		got, err := Validate(uri)
		if err != nil || got != want {
			t.Errorf("Validate(%q) = %v, %v; want %v", uri, got, err, want)
		}
	}
	bad := []string{
		"", "/relative/path", "app.example.com/cb",
		"http://app.example.com/cb",          // http off loopback
		"http://127.0.0.2/cb",                // only the canonical loopback literals
		"http://localhost.evil.com/cb",       // looks like localhost
		"http://127.0.0.1.nip.io/cb",         // looks like loopback
		"https://app.example.com/cb#frag",    // fragment
		"https://app.example.com/cb#",        // empty fragment
		"https://*.example.com/cb",           // wildcard
		"https://app.example.com/*",          // wildcard
		"https://user:pw@app.example.com/cb", // userinfo
		"https://user@app.example.com/cb",    // userinfo
		"https:///cb",                        // no host
		"https://app.example.com/c b",        // whitespace
		"https://app.example.com/c\x00b",     // control
		"https://app.example.com/\u00e9",     // non-ASCII
		"HTTPS://app.example.com/cb",         // upper-case scheme
		"javascript:alert(1)", "data:text/html,hi", "file:///etc/passwd", "ws://127.0.0.1/",
		"https://app.example.com\\@evil.com/", // backslash
		"1app:/cb",                            // scheme must start with a letter
		// hosts and ports that parsers disagree on (System.Uri throws or reads another host)
		"http://127.0.0.1:65536/cb", "http://127.0.0.1:99999/cb", "http://[::1]:0/cb", "https://a.example:00443/cb",
		"https://a;b.example/cb", "https://a,b.example/cb", `https://a"b.example/cb`, "https://a'b.example/cb",
		"https://a<b>.example/cb", "https://a%20b.example/cb", "https://a%3Bb.example/cb", "https://a%22b.example/cb",
		"https://a_b.example/cb", "https://a..example/cb", "https://example.com./cb", "https://-a.example/cb",
		"https://a{b}.example/cb", "https://a|b.example/cb", "https://a$b.example/cb", "https://a!b.example/cb",
		"cursor://a;b/cb", "cursor://a:70000/cb",
		"http://[::1%25en0]/cb", "https://[fe80::1%25eth0]/cb", "https://[::ffff:127.0.0.1]/cb", "https://[1:2]/cb",
		"https://[zz::1]/cb", "https://[127.0.0.1]/cb",
	}
	for _, uri := range bad {
		if k, err := Validate(uri); err == nil || !errors.Is(err, ErrInvalid) {
			t.Errorf("Validate(%q) = %v, %v; want ErrInvalid", uri, k, err)
		}
	}
	long := "https://app.example.com/" + string(make([]byte, MaxLength))
	if _, err := Validate(long); err == nil {
		t.Error("Validate accepted an over-long URI")
	}
}

func TestMatch(t *testing.T) {
	reg := []string{
		"https://app.example.com/cb",
		"http://127.0.0.1:6276/oauth/callback",
		"http://localhost/cb",
		"http://[::1]/native?x=1",
		"cursor://anysphere.cursor-retrieval/oauth/callback",
	}
	cases := map[string]bool{
		"https://app.example.com/cb":                         true,
		"https://app.example.com/cb/":                        false, // exact only
		"https://app.example.com/CB":                         false,
		"https://app.example.com:443/cb":                     false, // no normalisation for https
		"https://app.example.com/cb?x=1":                     false,
		"http://127.0.0.1:6276/oauth/callback":               true,
		"http://127.0.0.1:51000/oauth/callback":              true, // RFC 8252 §7.3: any port
		"http://127.0.0.1/oauth/callback":                    true,
		"http://127.0.0.1:6276/oauth/callback/x":             false,
		"http://127.0.0.1:6276/oauth/callback?x=1":           false,
		"http://localhost:6274/oauth/callback":               false, // host differs
		"http://localhost:9999/cb":                           true,
		"http://[::1]:1234/native?x=1":                       true,
		"http://[::1]:1234/native":                           false,
		"http://127.0.0.1:1234/native?x=1":                   false, // host must be the registered one
		"cursor://anysphere.cursor-retrieval/oauth/callback": true,
		"cursor://anysphere.cursor-retrieval/oauth/callbacK": false,
		"https://app.example.com/cb#x":                       false,
		"":                                                   false,
	}
	for uri, want := range cases {
		if got := Match(reg, uri); got != want {
			t.Errorf("Match(%q) = %v, want %v", uri, got, want)
		}
	}
	// A registered value that is itself invalid never admits anything beyond an exact,
	// valid request (and registration refuses it in the first place).
	if Match([]string{"http://evil.example/cb"}, "http://evil.example:81/cb") {
		t.Error("port-agnostic match applied to a non-loopback http URI")
	}
}

func TestHost(t *testing.T) {
	for in, want := range map[string]string{
		"https://app.example.com:8443/cb": "app.example.com",
		"http://[::1]:80/":                "::1",
		"com.example.app:/cb":             "com.example.app:",
	} {
		if got := Host(in); got != want {
			t.Errorf("Host(%q) = %q, want %q", in, got, want)
		}
	}
}
