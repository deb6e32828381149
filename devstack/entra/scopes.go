package entra

import (
	"slices"
	"strings"
)

// scopeRequest is a scope parameter split by resource, the way Entra reads it:
// OIDC scopes, scopes of our API, and Graph scopes (a bare name like "User.Read"
// means Graph, as in Entra).
type scopeRequest struct {
	oidc  []string
	api   bool     // any scope of our API (named or .default)
	graph []string // Graph scope names without the resource prefix; may hold ".default"
}

var oidcScopes = []string{"openid", "profile", "email", "offline_access"}

// parseScopes returns the split request, or an *aadError for a scope of an
// unknown resource or an unknown scope of our API.
func (s *Server) parseScopes(raw string) (scopeRequest, *aadError) {
	var sr scopeRequest
	apiPrefixes := []string{"api://" + s.opts.APIClientID + "/", s.opts.APIClientID + "/"}
	graphPrefixes := []string{strings.TrimSuffix(s.opts.GraphResource, "/") + "/", GraphAppID + "/"}
	for _, sc := range strings.Fields(raw) {
		if slices.Contains(oidcScopes, strings.ToLower(sc)) {
			sr.oidc = append(sr.oidc, strings.ToLower(sc))
			continue
		}
		if name, ok := cutAnyPrefix(sc, apiPrefixes); ok {
			if name != ".default" && name != s.opts.APIScope {
				return sr, badRequest("invalid_scope", 70011,
					"The provided value for the input parameter 'scope' is not valid. The scope '%s' does not exist on application '%s' (it exposes '%s').",
					sc, s.opts.APIClientID, s.opts.APIScope)
			}
			sr.api = true
			continue
		}
		if name, ok := cutAnyPrefix(sc, graphPrefixes); ok {
			if strings.ContainsAny(name, "/:") {
				return sr, badRequest("invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. The scope '%s' is not a Microsoft Graph permission.", sc)
			}
			sr.graph = appendUnique(sr.graph, name)
			continue
		}
		if !strings.Contains(sc, "/") && !strings.Contains(sc, ":") {
			sr.graph = appendUnique(sr.graph, sc)
			continue
		}
		return sr, badRequest("invalid_resource", 500011,
			"The resource principal named '%s' was not found in the tenant named '%s'. This stand-in knows only our API (api://%s) and Microsoft Graph (%s).",
			sc, s.opts.TenantID, s.opts.APIClientID, s.opts.GraphResource)
	}
	if slices.Contains(sr.graph, ".default") && len(sr.graph) > 1 {
		return sr, badRequest("invalid_scope", 70011,
			"The provided value for the input parameter 'scope' is not valid. The scope %s is not valid: .default scope can't be combined with resource-specific scopes.", raw)
	}
	return sr, nil
}

// graphScopeNames returns the Graph scopes that are real consentable names.
func (sr scopeRequest) graphScopeNames() []string {
	return slices.DeleteFunc(slices.Clone(sr.graph), func(s string) bool { return s == ".default" })
}

func cutAnyPrefix(s string, prefixes []string) (string, bool) {
	for _, p := range prefixes {
		if len(s) > len(p) && strings.EqualFold(s[:len(p)], p) {
			return s[len(p):], true
		}
	}
	return "", false
}

func appendUnique(list []string, s string) []string {
	if containsFold(list, s) {
		return list
	}
	return append(list, s)
}
