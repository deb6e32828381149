package graph

import (
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"example.com/graphmcp/devstack/entra"
)

// endpoint is one Graph resource: the scopes that grant it, the error code
// Graph uses when none is present, and the handler.
type endpoint struct {
	name      string
	scopes    []string
	deniedAs  string
	serve     func(s *Server, w http.ResponseWriter, r *http.Request, u entra.User)
	orderable bool
}

var endpoints = map[string]endpoint{
	"/v1.0/me": {name: "me", deniedAs: "Authorization_RequestDenied",
		scopes: []string{"User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All"}, serve: (*Server).me},
	"/v1.0/me/calendarview": {name: "calendarView", deniedAs: "ErrorAccessDenied",
		scopes: []string{"Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite"}, serve: (*Server).calendarView},
	"/v1.0/me/messages": {name: "messages", deniedAs: "ErrorAccessDenied",
		scopes: []string{"Mail.ReadBasic", "Mail.Read", "Mail.ReadWrite"}, serve: (*Server).messages},
	"/v1.0/me/drive/recent": {name: "driveRecent", deniedAs: "accessDenied",
		scopes: []string{"Files.Read", "Files.Read.All", "Files.ReadWrite", "Files.ReadWrite.All"}, serve: (*Server).driveRecent},
}

var clientRequestID = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

func (s *Server) routes() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.total.Add(1)
		w.Header().Set("request-id", uuid.NewString())
		if id := r.Header.Get("client-request-id"); clientRequestID.MatchString(id) {
			w.Header().Set("client-request-id", id)
		} else {
			w.Header().Set("client-request-id", w.Header().Get("request-id"))
		}
		if status, after := s.injected(); status != 0 {
			s.writeFault(w, r, status, after)
			return
		}
		ep, ok := endpoints[strings.ToLower(strings.TrimSuffix(r.URL.Path, "/"))]
		if !ok {
			s.count("unknown")
			s.writeError(w, r, http.StatusNotFound, "Request_ResourceNotFound",
				"Resource not found for the segment '"+lastSegment(r.URL.Path)+"'. This stand-in serves /v1.0/me, /v1.0/me/calendarView, /v1.0/me/messages and /v1.0/me/drive/recent.")
			return
		}
		s.count(ep.name)
		if r.Method != http.MethodGet {
			s.writeError(w, r, http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
			return
		}
		u, scopes, ae := s.authenticate(r)
		if ae == nil {
			ae = requireScope(scopes, ep.scopes, ep.deniedAs)
		}
		if ae != nil {
			if ae.status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="`+s.opts.Entra.Authority()+
					`/oauth2/v2.0/authorize", client_id="`+entra.GraphAppID+`"`)
			}
			s.writeError(w, r, ae.status, ae.code, ae.message)
			return
		}
		ep.serve(s, w, r, u)
	})
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, u entra.User) {
	q, qe := parseQuery(r.URL.Query(), userProps, false, false)
	if qe != nil {
		s.writeError(w, r, http.StatusBadRequest, qe.code, qe.message)
		return
	}
	body := q.project(profile(u), false)
	ctx := s.url + "/v1.0/$metadata#users/$entity"
	if q.sel != nil {
		ctx = s.url + "/v1.0/$metadata#users(" + strings.Join(q.sel, ",") + ")/$entity"
	}
	body["@odata.context"] = ctx
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) calendarView(w http.ResponseWriter, r *http.Request, u entra.User) {
	v := r.URL.Query()
	from, errFrom := parseGraphTime(v.Get("startDateTime"))
	to, errTo := parseGraphTime(v.Get("endDateTime"))
	if errFrom != nil || errTo != nil {
		s.writeError(w, r, http.StatusBadRequest, "ErrorInvalidParameter",
			"This request requires a time window specified by the query string parameters StartDateTime and EndDateTime (ISO 8601).")
		return
	}
	if !to.After(from) {
		s.writeError(w, r, http.StatusBadRequest, "ErrorInvalidParameter", "EndDateTime must be later than StartDateTime.")
		return
	}
	s.collection(w, r, u, events(u, from, to), eventProps, "calendarView", 10, "start/dateTime")
}

func (s *Server) messages(w http.ResponseWriter, r *http.Request, u entra.User) {
	s.collection(w, r, u, messages(u, s.opts.Entra.TokenClock()), messageProps, "messages", 10, "")
}

func (s *Server) driveRecent(w http.ResponseWriter, r *http.Request, u entra.User) {
	q, qe := parseQuery(r.URL.Query(), driveProps, true, false)
	if qe != nil {
		s.writeError(w, r, http.StatusBadRequest, qe.code, qe.message)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": s.url + "/v1.0/$metadata#Collection(driveItem)",
		"value":          q.apply(recentFiles(u, s.opts.Entra.TokenClock()), 0),
	})
}

// collection serves a list with $top/$select/$orderby; defaultOrder applies
// when the client sends no $orderby.
func (s *Server) collection(w http.ResponseWriter, r *http.Request, u entra.User, items []map[string]any, props []string, set string, defaultTop int, defaultOrder string) {
	q, qe := parseQuery(r.URL.Query(), props, true, true)
	if qe != nil {
		s.writeError(w, r, http.StatusBadRequest, qe.code, qe.message)
		return
	}
	if q.orderBy == "" {
		q.orderBy = defaultOrder
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": s.url + "/v1.0/$metadata#users('" + u.ObjectID + "')/" + set,
		"value":          q.apply(items, defaultTop),
	})
}

// parseGraphTime accepts ISO 8601 with or without offset (no offset = UTC).
func parseGraphTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, &time.ParseError{Value: s}
}

func lastSegment(p string) string {
	p = strings.TrimSuffix(p, "/")
	return p[strings.LastIndex(p, "/")+1:]
}
