package graphtools_test

import (
	"context"
	"fmt"
	"net/url"

	"example.com/graphmcp/handler/graphtools"
)

// peopleIn is the tool's input; json and jsonschema tags become its input schema.
type peopleIn struct {
	Top int `json:"top,omitempty" jsonschema:"maximum number of people, 1 to 25 (default 10)"`
}

// Example_addYourOwnTool shows how to add a Graph tool: one New call with the delegated scope
// (user-consentable), an optional app role ("" = every signed-in user), and a function that calls
// c.Get, which performs the on-behalf-of exchange for exactly these scopes. Append the tool to
// Tools() (or pass your list in server.Options.Tools) and request the scope in the app
// registration (infra/): the infra checks compare both lists.
func Example_addYourOwnTool() {
	relevantPeople := graphtools.New("list_relevant_people",
		"Lists the people most relevant to the signed-in user (frequent contacts), with name and mail.",
		[]string{"People.Read"}, "",
		func(ctx context.Context, c *graphtools.Call, in peopleIn) (any, error) {
			top := in.Top
			if top == 0 {
				top = 10
			}
			if top < 1 || top > 25 {
				return nil, graphtools.Invalid("argument \"top\" must be between 1 and 25, got %d", top)
			}
			var page struct {
				Value []map[string]any `json:"value"`
			}
			q := url.Values{"$top": {fmt.Sprint(top)}, "$select": {"displayName,scoredEmailAddresses,jobTitle"}}
			if err := c.Get(ctx, "/v1.0/me/people", q, &page); err != nil {
				return nil, err // consent and throttling errors are explained to the user for you
			}
			return map[string]any{"people": page.Value, "count": len(page.Value)}, nil
		})

	tools := append(graphtools.Tools(), relevantPeople)
	for _, t := range tools {
		role := t.Role
		if role == "" {
			role = "-"
		}
		fmt.Printf("%-22s scopes=%v role=%s\n", t.Name, t.Scopes, role)
	}
	// Output:
	// get_graph_user_details scopes=[User.Read] role=-
	// list_upcoming_events   scopes=[Calendars.Read] role=-
	// list_recent_mail       scopes=[Mail.ReadBasic] role=Tools.Mail
	// list_recent_files      scopes=[Files.Read] role=-
	// list_relevant_people   scopes=[People.Read] role=-
}
