package entra

import (
	"slices"
	"strings"
	"testing"
)

func scopeServer() *Server {
	return &Server{opts: Options{APIClientID: DefaultAPIClientID, APIScope: "access_as_user", GraphResource: "https://graph.microsoft.com", TenantID: DefaultTenantID}}
}

func TestParseScopes(t *testing.T) {
	s := scopeServer()
	sr, e := s.parseScopes("openid api://" + DefaultAPIClientID + "/access_as_user https://graph.microsoft.com/User.Read Mail.Read " + GraphAppID + "/Files.Read OFFLINE_ACCESS")
	if e != nil || !sr.api || !slices.Equal(sr.graph, []string{"User.Read", "Mail.Read", "Files.Read"}) || !slices.Equal(sr.oidc, []string{"openid", "offline_access"}) {
		t.Fatalf("got %+v, %v", sr, e)
	}
	for _, bad := range []string{
		"api://" + DefaultAPIClientID + "/admin",                                     // scope our app does not expose
		"https://vault.azure.net/.default",                                           // unknown resource
		"https://graph.microsoft.com/x://y",                                          // not a permission name
		"https://graph.microsoft.com/.default https://graph.microsoft.com/User.Read", // .default mixed
	} {
		if _, e := s.parseScopes(bad); e == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
}

// FuzzParseScopes: any input either fails with an Entra-shaped error or yields
// Graph scope names without a resource prefix.
func FuzzParseScopes(f *testing.F) {
	s := scopeServer()
	f.Add("openid api://" + DefaultAPIClientID + "/access_as_user https://graph.microsoft.com/User.Read")
	f.Add(DefaultAPIClientID + "/.default " + GraphAppID + "/.default")
	f.Add("https://graph.microsoft.com//x ://")
	f.Fuzz(func(t *testing.T, raw string) {
		sr, e := s.parseScopes(raw)
		if e != nil {
			if e.code == 0 || e.err == "" || e.status != 400 {
				t.Fatalf("malformed error %+v", e)
			}
			return
		}
		for _, g := range sr.graph {
			if strings.Contains(g, "://") || g == "" {
				t.Fatalf("graph scope %q keeps a resource prefix", g)
			}
		}
	})
}
