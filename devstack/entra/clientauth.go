package entra

import (
	"errors"
	"net/url"

	"github.com/golang-jwt/jwt/v5"
)

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// authenticateClient accepts only what our design uses: a client assertion that
// is a managed-identity token matching a federated identity credential. The
// checks run in Entra's order so each failure gets the AADSTS code Entra uses.
func (s *Server) authenticateClient(form url.Values) *aadError {
	clientID := form.Get("client_id")
	if clientID == "" {
		return badRequest("invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
	}
	if clientID != s.opts.APIClientID {
		return badRequest("unauthorized_client", 700016,
			"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.",
			clientID, s.opts.TenantID)
	}
	if form.Get("client_secret") != "" {
		return invalidClient(7000215,
			"Invalid client secret provided. This app registration ('%s') accepts no secrets: authenticate with a managed identity token as client_assertion (federated identity credential).", clientID)
	}
	raw := form.Get("client_assertion")
	if raw == "" {
		return invalidClient(7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	}
	if form.Get("client_assertion_type") != assertionType {
		return invalidClient(50027, "Invalid client_assertion_type; expected '%s'.", assertionType)
	}
	claims, err := s.verify(raw)
	if err != nil {
		switch {
		case errors.Is(err, jwt.ErrTokenExpired), errors.Is(err, jwt.ErrTokenNotValidYet):
			return invalidClient(700024, "Client assertion is not within its valid time range.")
		default:
			return invalidClient(700027, "Client assertion failed signature validation or is malformed.")
		}
	}
	iss, _ := claims["iss"].(string)
	sub, _ := claims["sub"].(string)
	auds, _ := claims.GetAudience()

	s.mu.Lock()
	fics := append([]FederatedCredential(nil), s.fics...)
	s.mu.Unlock()
	var issOK, subOK bool
	for _, fc := range fics {
		if fc.Issuer != iss {
			continue
		}
		issOK = true
		if fc.Subject != sub { // case-sensitive, as in Entra
			continue
		}
		subOK = true
		for _, a := range auds {
			if a == fc.Audience {
				return nil
			}
		}
	}
	switch {
	case !issOK:
		return invalidClient(700211, "No matching federated identity record found for presented assertion issuer '%s'. Please note that the matching is done using a case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.", iss)
	case !subOK:
		return invalidClient(700213, "No matching federated identity record found for presented assertion subject '%s'. Please note that the matching is done using a case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.", sub)
	default:
		return invalidClient(700212, "No matching federated identity record found for presented assertion audience '%v'. Please note that the matching is done using a case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.", auds)
	}
}
