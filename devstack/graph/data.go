package graph

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"example.com/graphmcp/devstack/entra"
)

// Data is derived from the user so that it is stable across runs and differs
// between users: tests can assert on it, and two users never see each other's.

// graphTime is Graph's dateTime form in dateTimeTimeZone values.
const graphTime = "2006-01-02T15:04:05.0000000"

func seed(u entra.User) uint32 {
	h := fnv.New32a()
	h.Write([]byte(u.ObjectID))
	return h.Sum32()
}

func itemID(u entra.User, kind string, i int) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%s|%d", u.ObjectID, kind, i)
	return fmt.Sprintf("AAMk%016x", h.Sum64())
}

var userProps = []string{"id", "displayName", "givenName", "surname", "mail", "userPrincipalName", "jobTitle",
	"officeLocation", "businessPhones", "preferredLanguage", "mobilePhone"}

func profile(u entra.User) map[string]any {
	n := seed(u)
	return map[string]any{
		"id": u.ObjectID, "displayName": u.DisplayName, "givenName": u.GivenName, "surname": u.Surname,
		"mail": u.Mail, "userPrincipalName": u.UserPrincipalName, "jobTitle": u.JobTitle,
		"officeLocation":    fmt.Sprintf("%d/%d", 10+n%30, 1000+n%9000),
		"businessPhones":    []string{fmt.Sprintf("+1 425 555 %04d", n%10000)},
		"preferredLanguage": "en-US",
		"mobilePhone":       nil,
	}
}

var eventProps = []string{"id", "subject", "start", "end", "location", "organizer", "webLink", "isOnlineMeeting"}

var eventSubjects = []string{"Team sync", "1:1", "Project review", "Customer call", "Planning", "Lunch and learn", "Design review"}

// events returns the user's events inside [from, to): two per day, at most 50.
func events(u entra.User, from, to time.Time) []map[string]any {
	var out []map[string]any
	n := int(seed(u))
	day := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	for d := 0; d < 60 && day.Before(to) && len(out) < 50; d, day = d+1, day.AddDate(0, 0, 1) {
		for slot, at := range []time.Duration{9 * time.Hour, 14*time.Hour + 30*time.Minute} {
			start, end := day.Add(at), day.Add(at+time.Duration(30*(1+slot))*time.Minute)
			if start.Before(from) || !start.Before(to) {
				continue
			}
			id := itemID(u, "event", day.YearDay()*2+slot)
			out = append(out, map[string]any{
				"id":              id,
				"subject":         eventSubjects[(n+day.YearDay()*2+slot)%len(eventSubjects)],
				"start":           map[string]any{"dateTime": start.Format(graphTime), "timeZone": "UTC"},
				"end":             map[string]any{"dateTime": end.Format(graphTime), "timeZone": "UTC"},
				"location":        map[string]any{"displayName": fmt.Sprintf("Room %d", 100+(n+slot)%50)},
				"organizer":       map[string]any{"emailAddress": map[string]any{"name": u.DisplayName, "address": u.Mail}},
				"isOnlineMeeting": slot == 1,
				"webLink":         "https://outlook.office365.com/owa/?itemid=" + id + "&exvsurl=1&path=/calendar/item",
			})
		}
	}
	return out
}

var messageProps = []string{"id", "subject", "from", "receivedDateTime", "isRead", "webLink", "bodyPreview"}

var senders = []struct{ name, local string }{{"Megan Bowen", "megan"}, {"Lee Gu", "lee"}, {"Nestor Wilke", "nestor"},
	{"Patti Fernandez", "patti"}, {"Lynne Robbins", "lynne"}}

var messageSubjects = []string{"Quarterly numbers", "Re: Offsite agenda", "Invoice approved", "Welcome to the team",
	"Your weekly digest", "Action required: expense report"}

// messages returns six messages, newest first, received hours before now.
func messages(u entra.User, now time.Time) []map[string]any {
	n := int(seed(u))
	base := now.UTC().Truncate(time.Hour)
	domain := u.Mail[strings.LastIndex(u.Mail, "@")+1:]
	out := make([]map[string]any, 6)
	for i := range out {
		snd := senders[(n+i)%len(senders)]
		id := itemID(u, "message", i)
		out[i] = map[string]any{
			"id":               id,
			"subject":          messageSubjects[(n+i)%len(messageSubjects)],
			"from":             map[string]any{"emailAddress": map[string]any{"name": snd.name, "address": snd.local + "@" + domain}},
			"receivedDateTime": base.Add(-time.Duration(3*i+1) * time.Hour).Format(time.RFC3339),
			"isRead":           i%2 == 1,
			"bodyPreview":      "",
			"webLink":          "https://outlook.office365.com/owa/?ItemID=" + id + "&exvsurl=1&viewmodel=ReadMessageItem",
		}
	}
	return out
}

var driveProps = []string{"id", "name", "webUrl", "lastModifiedDateTime", "size", "file"}

var fileNames = []struct{ name, mime string }{
	{"Budget.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
	{"Roadmap.pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
	{"Notes.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
	{"Diagram.png", "image/png"},
}

// recentFiles returns four files, most recently modified first.
func recentFiles(u entra.User, now time.Time) []map[string]any {
	n := int(seed(u))
	base := now.UTC().Truncate(time.Hour)
	personal := strings.NewReplacer("@", "_", ".", "_").Replace(u.UserPrincipalName)
	out := make([]map[string]any, len(fileNames))
	for i, f := range fileNames {
		out[i] = map[string]any{
			"id":                   fmt.Sprintf("01%s%02d", strings.ToUpper(itemID(u, "file", i)[4:]), i),
			"name":                 f.name,
			"webUrl":               "https://contoso-my.sharepoint.com/personal/" + personal + "/Documents/" + f.name,
			"lastModifiedDateTime": base.Add(-time.Duration(5*i+2) * time.Hour).Format(time.RFC3339),
			"size":                 10_000 + (n+i*7919)%90_000,
			"file":                 map[string]any{"mimeType": f.mime},
		}
	}
	return out
}
