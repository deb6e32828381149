package graphtools

import (
	"context"
	"net/url"
	"strconv"
	"time"
)

// Tools returns the built-in tools. Infrastructure checks read it: the app registration must
// request every Scopes entry as a delegated Graph permission and define every Role.
func Tools() []Tool {
	return []Tool{userDetails, upcomingEvents, recentMail, recentFiles}
}

// MailRole is the app role that unlocks mail tools (mail is more sensitive than the rest).
const MailRole = "Tools.Mail"

type userDetailsIn struct{}

var userDetails = New("get_graph_user_details",
	"Returns the signed-in user's Microsoft 365 profile: name, mail, user principal name, job title, office, phones, preferred language.",
	[]string{"User.Read"}, "",
	func(ctx context.Context, c *Call, _ userDetailsIn) (any, error) {
		var me map[string]any
		q := url.Values{"$select": {"id,displayName,givenName,surname,mail,userPrincipalName,jobTitle,officeLocation,businessPhones,preferredLanguage"}}
		if err := c.Get(ctx, "/v1.0/me", q, &me); err != nil {
			return nil, err
		}
		delete(me, "@odata.context")
		return me, nil
	})

type upcomingEventsIn struct {
	Days int `json:"days,omitempty" jsonschema:"how many days ahead to look, 1 to 31 (default 7)"`
	Top  int `json:"top,omitempty" jsonschema:"maximum number of events, 1 to 50 (default 10)"`
}

var upcomingEvents = New("list_upcoming_events",
	"Lists the signed-in user's calendar events from now until the given number of days ahead, soonest first.",
	[]string{"Calendars.Read"}, "",
	func(ctx context.Context, c *Call, in upcomingEventsIn) (any, error) {
		days, err := bounded("days", in.Days, 7, 1, 31)
		if err != nil {
			return nil, err
		}
		top, err := bounded("top", in.Top, 10, 1, 50)
		if err != nil {
			return nil, err
		}
		now := c.Now().UTC()
		q := url.Values{
			"startDateTime": {now.Format(time.RFC3339)},
			"endDateTime":   {now.AddDate(0, 0, days).Format(time.RFC3339)},
			"$top":          {strconv.Itoa(top)},
			"$select":       {"subject,start,end,location,organizer,webLink"},
			"$orderby":      {"start/dateTime"},
		}
		return list(ctx, c, "/v1.0/me/calendarView", q, "events")
	})

type recentMailIn struct {
	Top int `json:"top,omitempty" jsonschema:"maximum number of messages, 1 to 50 (default 10)"`
}

var recentMail = New("list_recent_mail",
	"Lists the subjects, senders and received times of the signed-in user's most recent mail (no message bodies).",
	[]string{"Mail.ReadBasic"}, MailRole,
	func(ctx context.Context, c *Call, in recentMailIn) (any, error) {
		top, err := bounded("top", in.Top, 10, 1, 50)
		if err != nil {
			return nil, err
		}
		q := url.Values{
			"$top":     {strconv.Itoa(top)},
			"$select":  {"subject,from,receivedDateTime,isRead,webLink"},
			"$orderby": {"receivedDateTime desc"},
		}
		return list(ctx, c, "/v1.0/me/messages", q, "messages")
	})

type recentFilesIn struct {
	Top int `json:"top,omitempty" jsonschema:"maximum number of files, 1 to 50 (default 10)"`
}

var recentFiles = New("list_recent_files",
	"Lists the OneDrive and SharePoint files the signed-in user worked on most recently.",
	[]string{"Files.Read"}, "",
	func(ctx context.Context, c *Call, in recentFilesIn) (any, error) {
		top, err := bounded("top", in.Top, 10, 1, 50)
		if err != nil {
			return nil, err
		}
		return list(ctx, c, "/v1.0/me/drive/recent", url.Values{"$top": {strconv.Itoa(top)}}, "files")
	})

// list GETs a Graph collection and returns {"<name>": [...], "count": n}.
func list(ctx context.Context, c *Call, path string, q url.Values, name string) (any, error) {
	var page struct {
		Value []map[string]any `json:"value"`
	}
	if err := c.Get(ctx, path, q, &page); err != nil {
		return nil, err
	}
	if page.Value == nil {
		page.Value = []map[string]any{}
	}
	return map[string]any{name: page.Value, "count": len(page.Value)}, nil
}

// bounded applies a default to an optional integer argument and checks its range.
func bounded(name string, v, def, lo, hi int) (int, error) {
	if v == 0 {
		return def, nil
	}
	if v < lo || v > hi {
		return 0, Invalid("argument %q must be between %d and %d, got %d", name, lo, hi, v)
	}
	return v, nil
}
