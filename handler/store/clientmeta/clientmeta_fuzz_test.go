package clientmeta

import (
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"example.com/graphmcp/handler/redirecturi"
)

// FuzzParseRegistration: for any input, ParseRegistration either fails with an RFC 7591 error
// code, or returns a client whose every field obeys the limits and rules — so nothing that
// reaches the store or a consent page is unchecked.
func FuzzParseRegistration(f *testing.F) {
	for _, s := range []string{
		`{"redirect_uris":["http://127.0.0.1:6276/oauth/callback"],"client_name":"MCP Inspector","token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"]}`,
		`{"redirect_uris":["https://a.example/cb"],"client_uri":"https://a.example/","scope":"a b"}`,
		`{"redirect_uris":["cursor://x/cb"],"client_name":"A\u202eB\u0000"}`,
		`{"redirect_uris":["https://a.example/cb#f"]}`, `{"redirect_uris":[1]}`, `{}`, `[]`, `null`, ``,
		`{"redirect_uris":["http://[::1]/"],"application_type":"native","software_id":"x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		c, err := ParseRegistration(doc)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Code != CodeInvalidClientMetadata && e.Code != CodeInvalidRedirectURI) {
				t.Fatalf("error without an RFC 7591 code: %v", err)
			}
			return
		}
		if len(doc) > MaxDocumentBytes {
			t.Fatal("accepted an oversized document")
		}
		if len(c.RedirectURIs) == 0 || len(c.RedirectURIs) > MaxRedirectURIs {
			t.Fatalf("%d redirect URIs accepted", len(c.RedirectURIs))
		}
		for _, u := range c.RedirectURIs {
			if _, err := redirecturi.Validate(u); err != nil {
				t.Fatalf("accepted invalid redirect URI: %v", err)
			}
		}
		if c.TokenEndpointAuthMethod != "none" {
			t.Fatal("accepted a confidential client")
		}
		if !utf8.ValidString(c.ClientName) || utf8.RuneCountInString(c.ClientName) > MaxClientNameRunes || SanitizeName(c.ClientName) != c.ClientName {
			t.Fatal("client_name not sanitised or too long")
		}
		if c.ClientURI != "" && validateClientURI(c.ClientURI) != nil {
			t.Fatal("invalid client_uri accepted")
		}
		if _, err := json.Marshal(c); err != nil {
			t.Fatalf("accepted client does not serialise: %v", err)
		}
	})
}
