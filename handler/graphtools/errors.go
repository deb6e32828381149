package graphtools

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"

	"example.com/graphmcp/handler/graph"
	"example.com/graphmcp/handler/logging"
	"example.com/graphmcp/handler/obo"
)

// explain turns a failure into the message the user sees, and logs the detail (redacted).
// The messages are README "Troubleshooting" headings: keep them stable.
func explain(ctx context.Context, log *slog.Logger, t *Tool, err error) error {
	var consent *obo.ConsentRequiredError
	var oe *obo.Error
	attrs := []any{slog.String("tool", t.Name), logging.Err(err)}
	if errors.As(err, &oe) && oe.Unwrap() != nil {
		// Entra's own description (e.g. which federated credential did not match) is for
		// operators only: it goes to the log, redacted, not to the client.
		attrs = append(attrs, slog.String("entra_detail", logging.Redact(oe.Unwrap().Error())))
	}
	log.WarnContext(ctx, "tool call failed", attrs...)
	ge, isGraph := graph.AsError(err)
	switch {
	case errors.As(err, &consent) && consent.Interaction:
		return fmt.Errorf("Microsoft Entra requires you to sign in again before %s can use Microsoft Graph (%s). Sign in again through the gateway (reconnect your MCP client), then retry", t.Name, consent.Code)
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
	return fmt.Errorf("%s failed (request id %s); the server logged the details", t.Name, logging.RequestID(ctx))
}

// InputError is an invalid tool argument; its text goes to the client unchanged.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

// Invalid returns an *InputError.
func Invalid(format string, args ...any) error { return &InputError{Msg: fmt.Sprintf(format, args...)} }
