package obo

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strings"
)

// ConsentState is the state parameter of a [ConsentPage] link. The gateway's /oauth-callback
// (apim-policies/oauth-callback.xml) recognises it and, instead of completing a sign-in, tells
// the user that the permissions were recorded and the tool call can be retried.
const ConsentState = "graph-consent"

// ConsentPage builds the link where a user grants the app delegated permissions that an
// on-behalf-of exchange found missing (a [ConsentRequiredError]): Entra's authorization
// endpoint with prompt=consent for the app, its API scope and the missing Graph scopes. Entra
// records the consent before it redirects, so once the user has accepted, the same tool call
// succeeds. The authorization code that comes back is never redeemed: the link carries a PKCE
// challenge whose verifier is thrown away, so the code is worthless to whoever sees it.
//
// A tenant that does not let users consent needs an administrator instead, and so does
// AADSTS65005 ([ConsentRequiredError.Admin]), for which no link is built; README
// ("Troubleshooting") shows how an administrator grants consent.
type ConsentPage struct {
	// Authority is the tenant's authority URL, e.g. https://login.microsoftonline.com/<tenant id>.
	Authority string
	// ClientID is the API's app registration.
	ClientID string
	// RedirectURI is a redirect URI registered on the app: the gateway's /oauth-callback.
	RedirectURI string
	// APIScope is the API's own scope URI (api://<client id>/access_as_user). Entra's consent
	// prompt is for an app's resource; naming it keeps the request one that Entra (and the
	// devstack stand-in) accepts for a sign-in.
	APIScope string
}

// URL returns the consent link for scopes (full scope URIs such as
// https://graph.microsoft.com/Calendars.Read, as in [ConsentRequiredError.Scopes]).
func (p *ConsentPage) URL(scopes []string) string {
	verifier := make([]byte, 32)
	rand.Read(verifier)
	sum := sha256.Sum256([]byte(base64.RawURLEncoding.EncodeToString(verifier)))
	q := url.Values{
		"client_id":             {p.ClientID},
		"response_type":         {"code"},
		"redirect_uri":          {p.RedirectURI},
		"response_mode":         {"query"},
		"scope":                 {strings.Join(append([]string{p.APIScope}, scopes...), " ")},
		"prompt":                {"consent"},
		"state":                 {ConsentState},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	return strings.TrimSuffix(p.Authority, "/") + "/oauth2/v2.0/authorize?" + q.Encode()
}
