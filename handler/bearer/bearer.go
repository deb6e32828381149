// Package bearer is the HTTP middleware that admits only requests carrying a valid Entra access
// token for this API, and answers the others with the challenges MCP clients act on
// (RFC 6750 §3, RFC 9728, MCP authorization spec):
//
//	no token          401  WWW-Authenticate: Bearer resource_metadata="<prm>", scope="<api scope>"
//	invalid token     401  WWW-Authenticate: Bearer error="invalid_token", error_description="…", resource_metadata="…", scope="…"
//	missing scope     403  WWW-Authenticate: Bearer error="insufficient_scope", scope="…", resource_metadata="…"
//
// (go-sdk's auth.RequireBearerToken omits error=, and clients only step up on
// error="insufficient_scope", hence this package.) Bodies are JSON {"error","error_description"}.
// On success the [tokenverify.Identity] and the raw token (needed for OBO) are in the request
// context: see [FromContext].
//
//	h := bearer.Middleware(verifier, &bearer.Options{ResourceMetadataURL: prm, Scope: "api://<app>/access_as_user"})(next)
package bearer

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"example.com/graphmcp/handler/logging"
	"example.com/graphmcp/handler/tokenverify"
)

// Verifier is what the middleware needs from tokenverify.
type Verifier interface {
	Verify(ctx context.Context, raw string) (*tokenverify.Identity, error)
}

// Options configures the challenges.
type Options struct {
	// ResourceMetadataURL is the protected-resource metadata URL sent in every challenge.
	ResourceMetadataURL string
	// Scope is the scope value of challenges (e.g. "api://<client id>/access_as_user").
	Scope string
}

type ctxKey struct{}

// Caller is the authenticated caller of a request.
type Caller struct {
	Identity  *tokenverify.Identity
	Token     string // the raw access token: OBO input, never to be logged or forwarded
	RequestID string // for log lines of work done outside the request's context (tool calls)
}

// FromContext returns the caller that the middleware authenticated, or nil.
func FromContext(ctx context.Context) *Caller {
	c, _ := ctx.Value(ctxKey{}).(*Caller)
	return c
}

// NewContext returns ctx carrying c (for tests and for code that authenticates differently).
func NewContext(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// Middleware returns the authentication middleware.
func Middleware(v Verifier, opts *Options) func(http.Handler) http.Handler {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// RFC 6750 §2.3 allows tokens in the query; MCP forbids it. Refuse loudly so the
			// client fixes it rather than leaking tokens into logs along the way.
			if r.URL.Query().Has("access_token") {
				WriteError(w, http.StatusBadRequest, "invalid_request", "send the access token in the Authorization header, never in the URL")
				return
			}
			raw, present, ok := extract(r)
			if !present {
				Challenge(w, http.StatusUnauthorized, "", "", &o)
				return
			}
			if !ok {
				Challenge(w, http.StatusUnauthorized, "invalid_token", "the Authorization header must be 'Bearer <token>'", &o)
				return
			}
			id, err := v.Verify(r.Context(), raw)
			if err != nil {
				desc := "the access token is invalid"
				var te *tokenverify.Error
				if errors.As(err, &te) {
					desc = te.Description
				}
				if errors.Is(err, tokenverify.ErrUnavailable) {
					w.Header().Set("Retry-After", "5")
					WriteError(w, http.StatusServiceUnavailable, "temporarily_unavailable", desc)
					return
				}
				if errors.Is(err, tokenverify.ErrInsufficientScope) {
					Challenge(w, http.StatusForbidden, "insufficient_scope", desc, &o)
				} else {
					Challenge(w, http.StatusUnauthorized, "invalid_token", desc, &o)
				}
				return
			}
			logging.SetUser(r.Context(), id.ObjectID)
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), &Caller{Identity: id, Token: raw, RequestID: logging.RequestID(r.Context())})))
		})
	}
}

// extract finds a bearer token. present is false when no Authorization header (or another
// scheme) was sent — RFC 6750 §3.1: then the challenge carries no error code.
func extract(r *http.Request) (token string, present, ok bool) {
	h := r.Header.Values("Authorization")
	if len(h) == 0 {
		return "", false, false
	}
	if len(h) > 1 {
		return "", true, false
	}
	scheme, rest, found := strings.Cut(strings.TrimSpace(h[0]), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false, false
	}
	rest = strings.TrimSpace(rest)
	if !found || rest == "" || strings.ContainsAny(rest, " \t,\"") {
		return "", true, false
	}
	return rest, true, true
}

// Challenge writes a 401/403 with the WWW-Authenticate header and JSON body described in the
// package comment. errCode "" means no token was presented (no error= attribute).
func Challenge(w http.ResponseWriter, status int, errCode, desc string, o *Options) {
	var params []string
	if errCode != "" {
		params = append(params, `error="`+errCode+`"`)
		if desc != "" {
			params = append(params, `error_description="`+quoteSafe(desc)+`"`)
		}
	}
	if errCode == "insufficient_scope" {
		// Step-up order as in the MCP spec example: scope first, so clients see what to request.
		if o.Scope != "" {
			params = append(params, `scope="`+quoteSafe(o.Scope)+`"`)
		}
		if o.ResourceMetadataURL != "" {
			params = append(params, `resource_metadata="`+quoteSafe(o.ResourceMetadataURL)+`"`)
		}
	} else {
		if o.ResourceMetadataURL != "" {
			params = append(params, `resource_metadata="`+quoteSafe(o.ResourceMetadataURL)+`"`)
		}
		if o.Scope != "" {
			params = append(params, `scope="`+quoteSafe(o.Scope)+`"`)
		}
	}
	w.Header().Set("WWW-Authenticate", "Bearer "+strings.Join(params, ", "))
	code := errCode
	if code == "" {
		code, desc = "unauthorized", "an Entra access token for this API is required (Authorization: Bearer <token>)"
	}
	WriteError(w, status, code, desc)
}

// quoteSafe keeps a value inside an RFC 7230 quoted-string: no quotes, backslashes or controls.
func quoteSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r == 0x7f {
			return '\''
		}
		return r
	}, s)
}

// WriteError answers with the JSON error body this package's refusals use,
// {"error","error_description"} (no-store), so that every refusal in front of /mcp, this
// package's or the MCP handler's own (Host, Origin, size), has the same shape.
func WriteError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(map[string]string{"error": code, "error_description": desc})
}

// TokenInfoExtraKey is the key under which [Caller] travels in go-sdk's auth.TokenInfo.Extra,
// the per-request channel that reaches tool handlers as req.Extra.TokenInfo.
const TokenInfoExtraKey = "graphmcp.caller"

// FromExtra returns the caller stored in a TokenInfo.Extra map, or nil.
func FromExtra(extra map[string]any) *Caller {
	c, _ := extra[TokenInfoExtraKey].(*Caller)
	return c
}
