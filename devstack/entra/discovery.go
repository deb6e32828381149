package entra

import "net/http"

// handleDiscovery serves the v2.0 OIDC metadata. MSAL requires issuer's
// scheme+host to equal the authority's, which holds because both are s.url.
func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	s.counts.discovery.Add(1)
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.IssuerV2(),
		"authorization_endpoint":                s.AuthorizeURL(),
		"token_endpoint":                        s.TokenURL(),
		"jwks_uri":                              s.JWKSURL(),
		"end_session_endpoint":                  s.Authority() + "/oauth2/v2.0/logout",
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"subject_types_supported":               []string{"pairwise"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
		"code_challenge_methods_supported":      []string{"S256"},
		"grant_types_supported": []string{"authorization_code", "refresh_token",
			"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"claims_supported": []string{"sub", "iss", "aud", "exp", "iat", "nbf", "oid", "tid", "name",
			"preferred_username", "scp", "roles"},
		"tenant_region_scope": "WW",
		"cloud_instance_name": "devstack.local",
	})
}

func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	s.counts.jwks.Add(1)
	writeJSON(w, http.StatusOK, s.jwks())
}
