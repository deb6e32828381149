package clientmeta

import (
	"errors"
	"strings"
	"testing"
)

func code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}

func TestParseRegistrationAccepts(t *testing.T) {
	// What MCP Inspector's CLI sends.
	c, err := ParseRegistration([]byte(`{"client_name":"MCP Inspector","redirect_uris":["http://127.0.0.1:6276/oauth/callback"],
		"grant_types":["authorization_code","refresh_token"],"response_types":["code"],
		"token_endpoint_auth_method":"none","application_type":"native","scope":"api://x/mcp.access openid","unknown":{"x":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.ClientName != "MCP Inspector" || c.TokenEndpointAuthMethod != "none" || len(c.GrantTypes) != 2 || c.Kind != "dcr" {
		t.Fatalf("parsed %+v", c)
	}
	// Minimal: defaults filled in.
	c, err = ParseRegistration([]byte(`{"redirect_uris":["https://app.example.com/cb","https://app.example.com/cb"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.TokenEndpointAuthMethod != "none" || c.GrantTypes[0] != "authorization_code" || c.ResponseTypes[0] != "code" || len(c.RedirectURIs) != 1 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestParseRegistrationRefuses(t *testing.T) {
	cases := map[string]string{
		`{}`:                   CodeInvalidRedirectURI,
		`{"redirect_uris":[]}`: CodeInvalidRedirectURI,
		`{"redirect_uris":["http://evil.example/cb"]}`:                                                  CodeInvalidRedirectURI,
		`{"redirect_uris":["https://a.example/cb#x"]}`:                                                  CodeInvalidRedirectURI,
		`{"redirect_uris":["https://*.example/cb"]}`:                                                    CodeInvalidRedirectURI,
		`{"redirect_uris":"https://a.example/cb"}`:                                                      CodeInvalidClientMetadata,
		`{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"client_secret_basic"}`: CodeInvalidClientMetadata,
		`{"redirect_uris":["https://a.example/cb"],"grant_types":["client_credentials"]}`:               CodeInvalidClientMetadata,
		`{"redirect_uris":["https://a.example/cb"],"grant_types":["refresh_token"]}`:                    CodeInvalidClientMetadata,
		`{"redirect_uris":["https://a.example/cb"],"response_types":["token"]}`:                         CodeInvalidClientMetadata,
		`{"redirect_uris":["https://a.example/cb"],"client_uri":"javascript:alert(1)"}`:                 CodeInvalidClientMetadata,
		`{"redirect_uris":["https://a.example/cb"],"client_uri":"http://a.example/"}`:                   CodeInvalidClientMetadata,
		`{"redirect_uris":["https://a.example/cb"],"client_name":7}`:                                    CodeInvalidClientMetadata,
		`{"redirect_uris":["https://a.example/cb"],"client_id":"chosen"}`:                               CodeInvalidClientMetadata,
		`{"redirect_uris":["https://a.example/cb"],"scope":"a\"b"}`:                                     CodeInvalidClientMetadata,
		`{"redirect_uris":["https://a.example/cb"],"application_type":"desktop"}`:                       CodeInvalidClientMetadata,
		`["https://a.example/cb"]`:                                                                      CodeInvalidClientMetadata,
		`not json`:                                                                                      CodeInvalidClientMetadata,
		`{"redirect_uris":["https://a.example/cb"]`:                                                     CodeInvalidClientMetadata,
	}
	for doc, want := range cases {
		if _, err := ParseRegistration([]byte(doc)); code(err) != want {
			t.Errorf("ParseRegistration(%s) = %v, want %s", doc, err, want)
		}
	}
	many := `{"redirect_uris":[` + strings.Repeat(`"https://a.example/cb",`, MaxRedirectURIs) + `"https://a.example/cb"]}`
	if _, err := ParseRegistration([]byte(many)); code(err) != CodeInvalidRedirectURI {
		t.Errorf("too many redirect URIs: %v", err)
	}
	big := `{"redirect_uris":["https://a.example/cb"],"x":"` + strings.Repeat("a", MaxDocumentBytes) + `"}`
	if _, err := ParseRegistration([]byte(big)); code(err) != CodeInvalidClientMetadata {
		t.Errorf("oversized document: %v", err)
	}
	long := `{"redirect_uris":["https://a.example/cb"],"client_name":"` + strings.Repeat("n", MaxClientNameRunes+1) + `"}`
	if _, err := ParseRegistration([]byte(long)); code(err) != CodeInvalidClientMetadata {
		t.Errorf("long client_name: %v", err)
	}
}

// A member of the wrong JSON type is named by its JSON name, as the client sent it (the Go
// struct that holds it is not the client's business).
func TestWrongTypeNamesTheMember(t *testing.T) {
	for doc, want := range map[string]string{
		`{"redirect_uris":"https://a.example/cb"}`:                   "redirect_uris has the wrong JSON type",
		`{"redirect_uris":["https://a.example/cb"],"client_name":7}`: "client_name has the wrong JSON type",
		`{"redirect_uris":["https://a.example/cb"],"client_id":7}`:   "client_id has the wrong JSON type",
	} {
		_, err := ParseRegistration([]byte(doc))
		var me *Error
		if !errors.As(err, &me) || !strings.HasPrefix(me.Description, want) {
			t.Errorf("ParseRegistration(%s) = %v, want a description starting %q", doc, err, want)
		}
	}
}

func TestSanitizeName(t *testing.T) {
	for in, want := range map[string]string{
		"  My\tApp \n\n v2 ":        "My App v2",
		"Good\u202eeliF":            "GoodeliF", // right-to-left override removed
		"Zero\u200bWidth\ufeff":     "ZeroWidth",
		"Bell\x07 and \x1b[31mred":  "Bell and [31mred",
		"<script>alert(1)</script>": "<script>alert(1)</script>", // escaping is the page's job
		"Ünïcödé 名前":                "Ünïcödé 名前",
	} {
		if got := SanitizeName(in); got != want {
			t.Errorf("SanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseDocument(t *testing.T) {
	const u = "https://client.example.com/oauth/metadata.json"
	good := `{"client_id":"` + u + `","client_name":"Example","redirect_uris":["http://127.0.0.1/cb"]}`
	c, err := ParseDocument([]byte(good), u)
	if err != nil || c.ClientID != u || c.Kind != "cimd" {
		t.Fatalf("good document: %+v, %v", c, err)
	}
	for _, doc := range []string{
		`{"client_id":"https://client.example.com/other","client_name":"E","redirect_uris":["http://127.0.0.1/cb"]}`,
		`{"client_id":"` + u + `/","client_name":"E","redirect_uris":["http://127.0.0.1/cb"]}`,
		`{"client_name":"E","redirect_uris":["http://127.0.0.1/cb"]}`,
		`{"client_id":"` + u + `","redirect_uris":["http://127.0.0.1/cb"]}`,
		`{"client_id":"` + u + `","client_name":"E"}`,
		`{"client_id":"` + u + `","client_name":"E","redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"private_key_jwt"}`,
	} {
		if _, err := ParseDocument([]byte(doc), u); err == nil {
			t.Errorf("ParseDocument accepted %s", doc)
		}
	}
}
