package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fakeGateway behaves like a conforming gateway; each fault makes it break one rule.
type fakeGateway struct {
	srv     *httptest.Server
	faults  map[string]bool
	mu      sync.Mutex
	clients map[string][]string // client_id → redirect URIs
}

func newFakeGateway(t *testing.T, faults ...string) *fakeGateway {
	t.Helper()
	g := &fakeGateway{faults: map[string]bool{}, clients: map[string][]string{}}
	for _, f := range faults {
		g.faults[f] = true
	}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (g *fakeGateway) serve(w http.ResponseWriter, r *http.Request) {
	base := g.srv.URL
	if strings.HasPrefix(r.URL.Path, "/.well-known/") && !g.faults["no-cors"] {
		w.Header().Set("Access-Control-Allow-Origin", "*")
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/.well-known/") && r.Method == http.MethodOptions:
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/.well-known/oauth-protected-resource/mcp" || r.URL.Path == "/.well-known/oauth-protected-resource":
		resource := base + "/mcp"
		if g.faults["prm-resource"] {
			resource = base + "/"
		}
		writeJSON(w, 200, map[string]any{"resource": resource, "authorization_servers": []string{base}})
	case r.URL.Path == "/.well-known/oauth-authorization-server" || r.URL.Path == "/.well-known/openid-configuration":
		methods := []string{"S256"}
		if g.faults["plain-pkce"] {
			methods = append(methods, "plain")
		}
		writeJSON(w, 200, map[string]any{
			"issuer": base, "authorization_endpoint": base + "/authorize", "token_endpoint": base + "/token",
			"registration_endpoint": base + "/register", "revocation_endpoint": base + "/revoke",
			"code_challenge_methods_supported": methods, "response_types_supported": []string{"code"},
			"grant_types_supported": []string{"authorization_code", "refresh_token"}, "token_endpoint_auth_methods_supported": []string{"none"},
		})
	case r.URL.Path == "/mcp":
		challenge := fmt.Sprintf(`Bearer resource_metadata="%s/.well-known/oauth-protected-resource/mcp", scope="api://x/access_as_user"`, base)
		if g.faults["challenge-without-metadata"] {
			challenge = `Bearer realm="mcp"`
		}
		if r.Header.Get("Authorization") != "" {
			challenge = strings.Replace(challenge, "Bearer ", `Bearer error="invalid_token", error_description="the token is not valid", `, 1)
		}
		w.Header().Set("WWW-Authenticate", challenge)
		writeJSON(w, 401, map[string]string{"error": "invalid_token"})
	case r.URL.Path == "/register" && r.Method == http.MethodPost:
		g.register(w, r)
	case r.URL.Path == "/authorize":
		g.authorize(w, r)
	case r.URL.Path == "/token" && r.Method == http.MethodPost:
		r.ParseForm()
		if !g.faults["token-cacheable"] {
			w.Header().Set("Cache-Control", "no-store")
		}
		switch r.PostForm.Get("grant_type") {
		case "":
			writeJSON(w, 400, map[string]string{"error": "invalid_request"})
		case "authorization_code", "refresh_token":
			writeJSON(w, 400, map[string]string{"error": "invalid_grant"})
		default:
			writeJSON(w, 400, map[string]string{"error": "unsupported_grant_type"})
		}
	default:
		http.NotFound(w, r)
	}
}

func (g *fakeGateway) register(w http.ResponseWriter, r *http.Request) {
	if g.faults["register-down"] {
		writeJSON(w, 503, map[string]string{"error": "temporarily_unavailable"})
		return
	}
	var md struct {
		RedirectURIs []string `json:"redirect_uris"`
	}
	if err := json.NewDecoder(r.Body).Decode(&md); err != nil {
		writeJSON(w, 400, map[string]string{"error": "invalid_client_metadata"})
		return
	}
	for _, ru := range md.RedirectURIs {
		u, err := url.Parse(ru)
		ok := err == nil && (u.Scheme == "https" || (u.Scheme == "http" && u.Hostname() == "127.0.0.1")) && u.Fragment == ""
		if !ok && !g.faults["register-accepts-anything"] {
			writeJSON(w, 400, map[string]string{"error": "invalid_redirect_uri"})
			return
		}
	}
	g.mu.Lock()
	id := fmt.Sprintf("client-%d", len(g.clients)+1)
	g.clients[id] = md.RedirectURIs
	g.mu.Unlock()
	writeJSON(w, 201, map[string]any{"client_id": id, "redirect_uris": md.RedirectURIs, "token_endpoint_auth_method": "none"})
}

func (g *fakeGateway) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	g.mu.Lock()
	uris, known := g.clients[q.Get("client_id")]
	g.mu.Unlock()
	redirect := q.Get("redirect_uri")
	if g.faults["open-redirect"] {
		http.Redirect(w, r, redirect+"?error=invalid_request", http.StatusFound)
		return
	}
	if !known || !slices.Contains(uris, redirect) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, "<p>Unknown client or redirect URI.</p>")
		return
	}
	back := func(params url.Values) {
		params.Set("state", q.Get("state"))
		http.Redirect(w, r, redirect+"?"+params.Encode(), http.StatusFound)
	}
	switch {
	case q.Get("response_type") != "code":
		back(url.Values{"error": {"unsupported_response_type"}})
	case q.Get("code_challenge_method") == "plain" && g.faults["accepts-plain"]:
		back(url.Values{"code": {"issued"}})
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		back(url.Values{"error": {"invalid_request"}})
	case q.Get("resource") != "" && q.Get("resource") != g.srv.URL+"/mcp":
		back(url.Values{"error": {"invalid_target"}})
	default:
		fmt.Fprint(w, "<p>consent page</p>")
	}
}
