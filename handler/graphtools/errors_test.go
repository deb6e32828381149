package graphtools

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"example.com/graphmcp/handler/graph"
	"example.com/graphmcp/handler/obo"
)

func TestExplain(t *testing.T) {
	tool := &Tool{Name: "list_upcoming_events", Scopes: []string{"Calendars.Read"}}
	log := slog.New(slog.DiscardHandler)
	cases := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("wrapped: %w", &obo.ConsentRequiredError{Code: "AADSTS65001"}),
			"Consent required: list_upcoming_events needs the Microsoft Graph permission Calendars.Read, which has not been granted for your account (AADSTS65001). Sign in again through the gateway and accept the requested permissions, or ask an administrator to grant admin consent for the app"},
		{&obo.ConsentRequiredError{Code: "AADSTS50076", Interaction: true},
			"Microsoft Entra requires you to sign in again before list_upcoming_events can use Microsoft Graph (AADSTS50076). Sign in again through the gateway (reconnect your MCP client), then retry"},
		{&graph.Error{StatusCode: 429, RetryAfter: 1500 * time.Millisecond}, "Microsoft Graph is throttling requests; try again in 2 s"},
		{&graph.Error{StatusCode: 503, Code: "serviceNotAvailable"}, "Microsoft Graph is temporarily unavailable (503 serviceNotAvailable); try again in a minute"},
		{Invalid("argument %q is wrong", "top"), `argument "top" is wrong`},
		{errors.New("secret internal detail"), "list_upcoming_events failed (request id ); the server logged the details"},
	}
	for _, tc := range cases {
		if got := explain(context.Background(), log, tool, tc.err, "").Error(); got != tc.want {
			t.Errorf("explain(%v):\n got  %s\n want %s", tc.err, got, tc.want)
		}
	}
}
