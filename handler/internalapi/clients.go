package internalapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"example.com/graphmcp/handler/cimd"
	"example.com/graphmcp/handler/redirecturi"
	"example.com/graphmcp/handler/store"
	"example.com/graphmcp/handler/store/clientmeta"
)

// registrationResponse is the RFC 7591 §3.2.1 answer, relayed by the policy as it is: the
// assigned id and time, then the registered metadata.
type registrationResponse struct {
	ClientID         string `json:"client_id"`
	ClientIDIssuedAt int64  `json:"client_id_issued_at"`
	store.Metadata
}

// registerClient: POST /internal/v1/clients/register with the client's RFC 7591 request body.
func (a *api) registerClient(ctx context.Context, body []byte) (int, any, *apiError) {
	c, err := clientmeta.ParseRegistration(body)
	if err != nil {
		var me *clientmeta.Error
		if errors.As(err, &me) {
			return 0, nil, &apiError{status: http.StatusBadRequest, Code: me.Code, Description: me.Description}
		}
		return 0, nil, badRequest("%v", err)
	}
	now := a.o.Now()
	c.IssuedAt = store.Unix(now)
	c.ExpiresAt = a.clientExpiry(now)
	for attempt := 0; ; attempt++ {
		c.ClientID = store.NewID()
		err = a.st.CreateClient(ctx, c)
		if !errors.Is(err, store.ErrConflict) || attempt == 2 {
			break // a conflict on a 128-bit random id is a fluke; retry, but not forever
		}
	}
	if err != nil {
		return 0, nil, a.storeError(err)
	}
	return http.StatusCreated, registrationResponse{ClientID: c.ClientID, ClientIDIssuedAt: c.IssuedAt, Metadata: c.Metadata}, nil
}

// clientExpiry is now + ClientTTL rounded up to a whole day, so that sliding the expiry on
// every authorization writes at most once a day per client.
func (a *api) clientExpiry(now time.Time) store.Time {
	day := int64(24 * 60 * 60)
	t := store.Unix(now.Add(a.o.ClientTTL))
	return (t + day - 1) / day * day
}

// lookupClient resolves a client id: a stored registration, or a metadata document URL.
func (a *api) lookupClient(ctx context.Context, clientID string) (*store.Client, *apiError) {
	if e := field("client_id", clientID, true, maxIDBytes); e != nil {
		return nil, e
	}
	invalid := func(reason, desc string) *apiError {
		return &apiError{status: http.StatusBadRequest, Code: "invalid_client", Reason: reason, Description: desc}
	}
	if cimd.IsClientIDURL(clientID) {
		if a.cimd == nil {
			return nil, invalid("cimd_disabled", "client metadata documents are not enabled on this server")
		}
		c, err := a.cimd.Client(ctx, clientID)
		switch {
		case err == nil:
			return c, nil
		case errors.Is(err, cimd.ErrInvalidURL):
			return nil, invalid("metadata_url_invalid", err.Error())
		case errors.Is(err, cimd.ErrInvalidDocument):
			return nil, invalid("metadata_invalid", err.Error())
		default:
			return nil, invalid("metadata_fetch_failed", err.Error())
		}
	}
	c, err := a.st.GetClient(ctx, clientID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, invalid("unknown_client", "no client is registered with this client_id (it may have expired unused); register again")
	case err != nil:
		return nil, a.storeError(err)
	}
	return c, nil
}

// clientResponse is the flat view of a client the policies read.
type clientResponse struct {
	ClientID                string   `json:"client_id"`
	ClientKind              string   `json:"client_kind"`
	ClientName              string   `json:"client_name"`
	ClientURI               string   `json:"client_uri"`
	DisplayName             string   `json:"display_name"`
	RedirectURIs            []string `json:"redirect_uris"`
	GrantTypes              []string `json:"grant_types"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	Scope                   string   `json:"scope"`
	ApplicationType         string   `json:"application_type"`
	LoopbackOnly            bool     `json:"loopback_only"`
	ExpiresAt               int64    `json:"expires_at"`
	// DocumentHost (metadata documents only) is the host, with a non-default port, of the
	// client_id URL: who published the metadata, which the consent page shows next to the name.
	DocumentHost string `json:"document_host,omitempty"`
}

func viewClient(c *store.Client) clientResponse {
	display := c.ClientName
	if display == "" {
		display = "Unnamed client " + c.ClientID
	}
	loopbackOnly := true
	for _, u := range c.RedirectURIs {
		if k, _ := redirecturi.Validate(u); k != redirecturi.Loopback {
			loopbackOnly = false
		}
	}
	documentHost := ""
	if u, err := url.Parse(c.ClientID); err == nil && c.Kind == store.KindCIMD {
		documentHost = strings.TrimSuffix(u.Host, ":443")
	}
	return clientResponse{
		ClientID: c.ClientID, ClientKind: c.Kind, ClientName: c.ClientName, ClientURI: c.ClientURI, DisplayName: display,
		RedirectURIs: c.RedirectURIs, GrantTypes: c.GrantTypes, TokenEndpointAuthMethod: c.TokenEndpointAuthMethod,
		Scope: c.Scope, ApplicationType: c.ApplicationType, LoopbackOnly: loopbackOnly, ExpiresAt: c.ExpiresAt,
		DocumentHost: documentHost,
	}
}

// getClient: POST /internal/v1/clients/get {"client_id"}.
func (a *api) getClient(ctx context.Context, body []byte) (int, any, *apiError) {
	var req struct {
		ClientID string `json:"client_id"`
	}
	if e := decode(body, &req); e != nil {
		return 0, nil, e
	}
	c, e := a.lookupClient(ctx, req.ClientID)
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, viewClient(c), nil
}

type checkRedirectResponse struct {
	clientResponse
	RedirectURI  string `json:"redirect_uri"`
	RedirectHost string `json:"redirect_host"`
	RedirectKind string `json:"redirect_kind"`
}

// checkRedirect: POST /internal/v1/clients/check-redirect {"client_id","redirect_uri"} — the
// redirect-matching function (exact, or loopback with any port) the policies call at
// /authorize, consent and callback before redirecting anywhere.
func (a *api) checkRedirect(ctx context.Context, body []byte) (int, any, *apiError) {
	var req struct {
		ClientID    string `json:"client_id"`
		RedirectURI string `json:"redirect_uri"`
	}
	if e := decode(body, &req); e != nil {
		return 0, nil, e
	}
	if e := field("redirect_uri", req.RedirectURI, true, redirecturi.MaxLength); e != nil {
		return 0, nil, e
	}
	c, e := a.lookupClient(ctx, req.ClientID)
	if e != nil {
		return 0, nil, e
	}
	if !redirecturi.Match(c.RedirectURIs, req.RedirectURI) {
		return 0, nil, &apiError{status: http.StatusBadRequest, Code: "invalid_redirect_uri", Reason: "not_registered",
			Description: "redirect_uri is not registered for this client (exact match required; loopback http matches any port)"}
	}
	kind, _ := redirecturi.Validate(req.RedirectURI)
	return http.StatusOK, checkRedirectResponse{
		clientResponse: viewClient(c), RedirectURI: req.RedirectURI,
		RedirectHost: redirecturi.Host(req.RedirectURI), RedirectKind: kind.String(),
	}, nil
}
