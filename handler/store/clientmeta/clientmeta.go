// Package clientmeta validates OAuth client metadata — an RFC 7591 registration request or a
// Client ID Metadata Document — and turns it into a store.Client.
//
// Only what this gateway supports is accepted: public clients (token_endpoint_auth_method
// "none"), the authorization_code grant (plus refresh_token), response type "code", and
// redirect URIs allowed by package redirecturi. Every field and the whole document have size
// limits; client_name is sanitised for display (control, format and bidi characters removed,
// whitespace collapsed) because a consent page shows it to a person deciding whether to trust
// the client. Unknown fields are ignored (RFC 7591 §2) and not stored.
//
//	c, err := clientmeta.ParseRegistration(body)
//	var me *clientmeta.Error
//	if errors.As(err, &me) { /* 400 {"error": me.Code, "error_description": me.Description} */ }
package clientmeta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"example.com/graphmcp/handler/redirecturi"
	"example.com/graphmcp/handler/store"
)

// Limits on a metadata document.
const (
	MaxDocumentBytes   = 16 << 10 // whole JSON document
	MaxRedirectURIs    = 10
	MaxClientNameRunes = 100
	MaxURILength       = 2000
	MaxScopeBytes      = 1000
	MaxSoftwareBytes   = 200
)

// RFC 7591 §3.2.2 error codes.
const (
	CodeInvalidClientMetadata = "invalid_client_metadata"
	CodeInvalidRedirectURI    = "invalid_redirect_uri"
)

// Error is a validation failure with its RFC 7591 error code.
type Error struct {
	Code        string
	Description string
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

func metaErr(format string, args ...any) error {
	return &Error{Code: CodeInvalidClientMetadata, Description: fmt.Sprintf(format, args...)}
}

// metadata is the subset of RFC 7591 §2 (and the CIMD draft) that this gateway reads: the
// client metadata it keeps (store.Metadata, validated by build) and client_id, which only a
// metadata document may carry.
type metadata struct {
	ClientID *string `json:"client_id"`
	store.Metadata
}

// ParseRegistration validates a dynamic client registration request (RFC 7591 §3.1). The
// result has no ClientID, IssuedAt or ExpiresAt: the caller assigns them.
func ParseRegistration(doc []byte) (*store.Client, error) {
	m, err := decode(doc)
	if err != nil {
		return nil, err
	}
	if m.ClientID != nil {
		return nil, metaErr("client_id is assigned by the server; do not send it")
	}
	return build(m)
}

// ParseDocument validates a Client ID Metadata Document fetched from documentURL: its client_id
// must equal the URL exactly, and client_name and redirect_uris are required.
func ParseDocument(doc []byte, documentURL string) (*store.Client, error) {
	m, err := decode(doc)
	if err != nil {
		return nil, err
	}
	if m.ClientID == nil || *m.ClientID != documentURL {
		return nil, metaErr("client_id in the metadata document must equal the document URL exactly")
	}
	if strings.TrimSpace(m.ClientName) == "" {
		return nil, metaErr("client_name is required in a client metadata document")
	}
	c, err := build(m)
	if err != nil {
		return nil, err
	}
	c.ClientID, c.Kind = documentURL, store.KindCIMD
	return c, nil
}

func decode(doc []byte) (*metadata, error) {
	if len(doc) > MaxDocumentBytes {
		return nil, metaErr("metadata document larger than %d bytes", MaxDocumentBytes)
	}
	trimmed := bytes.TrimSpace(doc)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, metaErr("metadata must be a JSON object")
	}
	if !utf8.Valid(trimmed) {
		return nil, metaErr("metadata must be UTF-8")
	}
	var m metadata
	if err := json.Unmarshal(trimmed, &m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			// The path of a promoted field starts with the embedded struct's Go name; the
			// client knows the member by its JSON name alone.
			field := strings.TrimPrefix(te.Field, "Metadata.")
			return nil, metaErr("%s has the wrong JSON type (want %s)", field, te.Type)
		}
		return nil, metaErr("metadata is not valid JSON")
	}
	return &m, nil
}

func build(m *metadata) (*store.Client, error) {
	c := &store.Client{Kind: store.KindDCR}

	if len(m.RedirectURIs) == 0 {
		return nil, &Error{Code: CodeInvalidRedirectURI, Description: "redirect_uris is required and must not be empty"}
	}
	if len(m.RedirectURIs) > MaxRedirectURIs {
		return nil, &Error{Code: CodeInvalidRedirectURI, Description: fmt.Sprintf("at most %d redirect_uris", MaxRedirectURIs)}
	}
	for i, u := range m.RedirectURIs {
		if _, err := redirecturi.Validate(u); err != nil {
			return nil, &Error{Code: CodeInvalidRedirectURI, Description: fmt.Sprintf("redirect_uris[%d]: %s", i, strings.TrimPrefix(err.Error(), redirecturi.ErrInvalid.Error()+": "))}
		}
	}
	c.RedirectURIs = dedupe(m.RedirectURIs)

	switch m.TokenEndpointAuthMethod {
	case "", "none":
		c.TokenEndpointAuthMethod = "none"
	default:
		return nil, metaErr("token_endpoint_auth_method %q is not supported; register a public client with \"none\" (PKCE protects the code)", clip(m.TokenEndpointAuthMethod))
	}

	var err error
	if c.GrantTypes, err = oneOf("grant_types", m.GrantTypes, []string{"authorization_code"}, "authorization_code", "refresh_token"); err != nil {
		return nil, err
	}
	if !slices.Contains(c.GrantTypes, "authorization_code") {
		return nil, metaErr("grant_types must include authorization_code")
	}
	if c.ResponseTypes, err = oneOf("response_types", m.ResponseTypes, []string{"code"}, "code"); err != nil {
		return nil, err
	}

	name := SanitizeName(m.ClientName)
	if utf8.RuneCountInString(name) > MaxClientNameRunes {
		return nil, metaErr("client_name is longer than %d characters", MaxClientNameRunes)
	}
	c.ClientName = name

	if m.ClientURI != "" {
		if err := validateClientURI(m.ClientURI); err != nil {
			return nil, err
		}
		c.ClientURI = m.ClientURI
	}

	if len(m.Scope) > MaxScopeBytes {
		return nil, metaErr("scope is longer than %d bytes", MaxScopeBytes)
	}
	for _, tok := range strings.Split(m.Scope, " ") {
		if m.Scope != "" && !validScopeToken(tok) {
			return nil, metaErr("scope must be space-separated scope tokens (RFC 6749 §3.3)")
		}
	}
	c.Scope = m.Scope

	switch m.ApplicationType {
	case "", "native", "web":
		c.ApplicationType = m.ApplicationType
	default:
		return nil, metaErr("application_type must be \"native\" or \"web\"")
	}
	for field, v := range map[string]string{"software_id": m.SoftwareID, "software_version": m.SoftwareVersion} {
		if len(v) > MaxSoftwareBytes || !printableASCII(v) {
			return nil, metaErr("%s must be printable ASCII of at most %d bytes", field, MaxSoftwareBytes)
		}
	}
	c.SoftwareID, c.SoftwareVersion = m.SoftwareID, m.SoftwareVersion
	return c, nil
}

func oneOf(field string, got, def []string, allowed ...string) ([]string, error) {
	if len(got) == 0 {
		return def, nil
	}
	if len(got) > 2*len(allowed) {
		return nil, metaErr("%s has too many entries", field)
	}
	for _, v := range got {
		if !slices.Contains(allowed, v) {
			return nil, metaErr("%s: %q is not supported (supported: %s)", field, clip(v), strings.Join(allowed, ", "))
		}
	}
	return dedupe(got), nil
}

func validateClientURI(raw string) error {
	if len(raw) > MaxURILength || !printableASCII(raw) {
		return metaErr("client_uri must be an https URL of at most %d bytes", MaxURILength)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" || u.User != nil || u.Fragment != "" || !strings.HasPrefix(raw, "https://") {
		return metaErr("client_uri must be an https URL without userinfo or fragment")
	}
	return nil
}

// SanitizeName makes a client-chosen name safe to show on a consent page next to trusted
// text: control and format characters (including bidi overrides and zero-width characters,
// which can make one name look like another) are removed, whitespace runs become one space.
// HTML escaping is still the page's job.
func SanitizeName(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			continue
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Co, unicode.Cs) || r == '\u2028' || r == '\u2029':
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

func validScopeToken(tok string) bool {
	if tok == "" {
		return false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
			return false
		}
	}
	return true
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func dedupe(list []string) []string {
	out := make([]string, 0, len(list))
	for _, v := range list {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// clip shortens client-supplied text quoted back in an error.
func clip(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strings.ToValidUTF8(s, "")
}
