package cimd

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"example.com/graphmcp/handler/redirecturi"
	"example.com/graphmcp/handler/store"
	"example.com/graphmcp/handler/store/clientmeta"
)

// FuzzDocument: for any client_id URL and document, ValidateURL and then the document parser
// (what Fetcher.Client runs on a fetched body) either refuse with ErrInvalidURL or an RFC 7591
// error code, or yield a metadata-document client whose id is exactly the validated URL, which
// names itself, and whose redirect URIs all pass the redirect rules. Seeds: documents shaped
// like those real clients publish, and URLs the draft forbids.
func FuzzDocument(f *testing.F) {
	const id = "https://app.example.com/oauth/client-metadata.json"
	for _, u := range []string{id, "https://vscode.dev/oauth/client-metadata.json", "https://a.example/", "http://a.example/x",
		"https://u:p@a.example/x", "https://a.example/x#f", "https://a.example/.%2e/x", "https://a.example:8443/c?v=1"} {
		f.Add(u, []byte(`{"client_id":"`+u+`","client_name":"Example","redirect_uris":["https://app.example.com/cb"]}`))
	}
	for _, doc := range []string{
		`{"client_id":"` + id + `","client_name":"Visual Studio Code","client_uri":"https://code.visualstudio.com/",` +
			`"redirect_uris":["http://127.0.0.1:33418/","https://vscode.dev/redirect"],"grant_types":["authorization_code","refresh_token"],` +
			`"response_types":["code"],"token_endpoint_auth_method":"none","application_type":"native"}`,
		`{"client_id":"` + id + `","client_name":"Claude","redirect_uris":["https://claude.ai/api/mcp/auth_callback"],"scope":"mcp:tools"}`,
		`{"client_id":"` + id + `","client_name":"A\u202eB","redirect_uris":["cursor://anysphere.cursor-mcp/oauth/callback"]}`,
		`{"client_id":"` + id + `","redirect_uris":["https://app.example.com/cb"]}`,
		`{"client_id":"` + id + `/","client_name":"x","redirect_uris":["https://app.example.com/cb"]}`,
		`{"client_id":"` + id + `","client_name":"x","redirect_uris":["https://app.example.com/cb"],"token_endpoint_auth_method":"private_key_jwt"}`,
		`{"client_id":"` + id + `","client_name":"x","redirect_uris":["https://*.example.com/cb"]}`,
		`{"client_id":"` + id + `","client_name":"x","client_name":"y","redirect_uris":[]}`,
		`[]`, `null`, ``,
	} {
		f.Add(id, []byte(doc))
	}
	f.Fuzz(func(t *testing.T, clientID string, doc []byte) {
		if err := ValidateURL(clientID); err != nil {
			if !errors.Is(err, ErrInvalidURL) {
				t.Fatalf("URL refused without ErrInvalidURL: %v", err)
			}
			return
		}
		u, err := url.Parse(clientID)
		if err != nil || u.Scheme != "https" || u.Hostname() == "" || u.User != nil || strings.Contains(clientID, "#") || !IsClientIDURL(clientID) {
			t.Fatalf("ValidateURL accepted %q", clientID)
		}
		c, err := clientmeta.ParseDocument(doc, clientID)
		if err != nil {
			var me *clientmeta.Error
			if !errors.As(err, &me) || (me.Code != clientmeta.CodeInvalidClientMetadata && me.Code != clientmeta.CodeInvalidRedirectURI) {
				t.Fatalf("document refused without an RFC 7591 code: %v", err)
			}
			return
		}
		if c.ClientID != clientID || c.Kind != store.KindCIMD || strings.TrimSpace(c.ClientName) == "" {
			t.Fatalf("accepted document gives client %q kind %q name %q", c.ClientID, c.Kind, c.ClientName)
		}
		if len(c.RedirectURIs) == 0 {
			t.Fatal("accepted a document without redirect URIs")
		}
		for _, r := range c.RedirectURIs {
			if _, err := redirecturi.Validate(r); err != nil {
				t.Fatalf("accepted redirect URI %q: %v", r, err)
			}
		}
		if c.TokenEndpointAuthMethod != "none" {
			t.Fatal("accepted a confidential client")
		}
	})
}
