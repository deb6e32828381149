package graphtools

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"example.com/graphmcp/handler/graph"
	"example.com/graphmcp/handler/logging"
	"example.com/graphmcp/handler/obo"
)

// failure is what a failed tool call answers. Missing consent, for a client that declared URL
// elicitation (MCP 2025-11-25), is the JSON-RPC error -32042 carrying the consent link (go-sdk's
// [mcp.URLElicitationRequiredError]): the client opens it for the user and calls again. Every
// other client, and every other failure, gets a tool error from [explain]; for missing consent
// it holds the same link.
func failure(ctx context.Context, req *mcp.CallToolRequest, d *Deps, t *Tool, err error) error {
	consent, link := consentLink(d, err)
	if link == "" || !acceptsURLElicitation(req) {
		return explain(ctx, d.Logger, t, err, link)
	}
	logFailure(ctx, d.Logger, t, err, slog.Bool("url_elicitation", true))
	return mcp.URLElicitationRequiredError([]*mcp.ElicitParams{{
		Mode:          "url",
		URL:           link,
		ElicitationID: uuid.NewString(),
		Message: fmt.Sprintf("%s needs the Microsoft Graph permission %s, which your account has not granted (%s). Open the link to grant it, then call the tool again.",
			t.Name, strings.Join(t.Scopes, ", "), consent.Code),
	}})
}

// consentLink returns the missing-consent error in err and the link where the user grants it;
// the link is "" when none is configured, when Entra wants a new sign-in (MFA, conditional
// access) rather than consent, which only a new token from the gateway can satisfy, or when only
// an administrator can help (AADSTS65005: the user's consent prompt would fail the same way).
func consentLink(d *Deps, err error) (*obo.ConsentRequiredError, string) {
	var consent *obo.ConsentRequiredError
	if d.ConsentURL == nil || !errors.As(err, &consent) || consent.Interaction || consent.Admin {
		return consent, ""
	}
	return consent, d.ConsentURL(consent.Scopes)
}

// acceptsURLElicitation reports whether the calling client declared URL-mode elicitation. go-sdk
// reads the capabilities from the request's _meta (protocol 2026-07-28, which its client
// speaks) or from the session's initialize; a stateless server keeps no session, so a
// 2025-11-25 client's declaration is not known here and it gets the tool error instead.
func acceptsURLElicitation(req *mcp.CallToolRequest) bool {
	if req == nil {
		return false
	}
	caps := req.ClientCapabilities()
	return caps != nil && caps.Elicitation != nil && caps.Elicitation.URL != nil
}

// logFailure logs a failed call with the detail (redacted) that the client does not get.
func logFailure(ctx context.Context, log *slog.Logger, t *Tool, err error, more ...any) {
	attrs := append([]any{slog.String("tool", t.Name), logging.Err(err)}, more...)
	var oe *obo.Error
	if errors.As(err, &oe) && oe.Unwrap() != nil {
		// Entra's own description (e.g. which federated credential did not match) is for
		// operators only: it goes to the log, redacted, not to the client.
		attrs = append(attrs, slog.String("entra_detail", logging.Redact(oe.Unwrap().Error())))
	}
	log.WarnContext(ctx, "tool call failed", attrs...)
}

// explain turns a failure into the message the user sees, and logs the detail (redacted).
// consentURL, when set, is where the user grants missing consent. The messages are README
// "Troubleshooting" headings: keep them stable.
func explain(ctx context.Context, log *slog.Logger, t *Tool, err error, consentURL string) error {
	var consent *obo.ConsentRequiredError
	var oe *obo.Error
	logFailure(ctx, log, t, err)
	ge, isGraph := graph.AsError(err)
	switch {
	case errors.As(err, &consent) && consent.Admin:
		return fmt.Errorf("Administrator action required: %s needs the Microsoft Graph permission %s, which the app registration does not let users grant (%s). Ask an administrator to add it to the app's API permissions and grant admin consent, then call the tool again", t.Name, strings.Join(t.Scopes, ", "), consent.Code)
	case errors.As(err, &consent) && consent.Interaction:
		return fmt.Errorf("Microsoft Entra requires you to sign in again before %s can use Microsoft Graph (%s). Sign in again through the gateway (reconnect your MCP client), then retry", t.Name, consent.Code)
	case errors.As(err, &consent) && consentURL != "":
		return fmt.Errorf("Consent required: %s needs the Microsoft Graph permission %s, which has not been granted for your account (%s). Open %s to grant it, then call the tool again", t.Name, strings.Join(t.Scopes, ", "), consent.Code, consentURL)
	case errors.As(err, &consent):
		return fmt.Errorf("Consent required: %s needs the Microsoft Graph permission %s, which has not been granted for your account (%s). Sign in again through the gateway and accept the requested permissions, or ask an administrator to grant admin consent for the app", t.Name, strings.Join(t.Scopes, ", "), consent.Code)
	case errors.As(err, &oe):
		return fmt.Errorf("Could not obtain a Microsoft Graph token on your behalf (%s). This is a server configuration problem (app registration, federated credential or managed identity); ask the administrator to check the handler logs (request id %s)", strings.TrimPrefix(oe.Error(), "on-behalf-of token request failed: "), logging.RequestID(ctx))
	case isGraph && ge.Throttled():
		wait := ""
		if ge.RetryAfter > 0 {
			wait = fmt.Sprintf("; try again in %d s", int(math.Ceil(ge.RetryAfter.Seconds())))
		} else {
			wait = "; try again in a minute"
		}
		if ge.StatusCode == http.StatusTooManyRequests {
			return fmt.Errorf("Microsoft Graph is throttling requests%s", wait)
		}
		return fmt.Errorf("Microsoft Graph is temporarily unavailable (%d %s)%s", ge.StatusCode, ge.Code, wait)
	case isGraph && (ge.StatusCode == http.StatusUnauthorized || ge.StatusCode == http.StatusForbidden):
		return fmt.Errorf("Microsoft Graph refused the request (%d %s: %s). Your account may lack the permission %s or a license for this data", ge.StatusCode, ge.Code, ge.Message, strings.Join(t.Scopes, ", "))
	case isGraph:
		return fmt.Errorf("%s", ge.Error())
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return fmt.Errorf("%s did not finish in time; try again", t.Name)
	}
	var inputErr *InputError
	if errors.As(err, &inputErr) {
		return inputErr
	}
	var user UserError
	if errors.As(err, &user) {
		return errors.New(user.UserMessage())
	}
	return fmt.Errorf("%s failed (request id %s); the server logged the details", t.Name, logging.RequestID(ctx))
}

// UserError is an error whose UserMessage is written for the user and shown as the tool error,
// e.g. a local sign-in failure (package localauth) that names the authority it could not
// reach or the permission that was declined and how to grant it.
type UserError interface {
	error
	UserMessage() string
}

// InputError is an invalid tool argument; its text goes to the client unchanged.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

// Invalid returns an *InputError.
func Invalid(format string, args ...any) error { return &InputError{Msg: fmt.Sprintf(format, args...)} }
