package entra

import (
	"io"
	"log"
	"slices"
	"sort"
	"strings"
)

// DefaultUsers returns two dev users. Adele has consented to the Graph scopes
// the sample tools use and holds the app role Tools.Mail (list_recent_mail);
// Alex has consented to nothing yet, so the first OBO for him ends in
// consent_required — the path a new user takes — and has no app role, so the
// mail tool is hidden from him and refused with 403 insufficient_scope.
func DefaultUsers() []User {
	return []User{
		{
			ObjectID: "4f6c7a2e-1b3d-4c5e-8f90-a1b2c3d4e5f6", UserPrincipalName: "adele@contoso.test",
			DisplayName: "Adele Vance", GivenName: "Adele", Surname: "Vance", Mail: "adele@contoso.test",
			JobTitle: "Retail Manager", Password: "adele-dev-password",
			Roles:        []string{"Tools.Mail"},
			GraphConsent: []string{"User.Read", "Calendars.Read", "Mail.ReadBasic", "Files.Read"},
		},
		{
			ObjectID: "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", UserPrincipalName: "alex@contoso.test",
			DisplayName: "Alex Wilber", GivenName: "Alex", Surname: "Wilber", Mail: "alex@contoso.test",
			JobTitle: "Marketing Assistant", Password: "alex-dev-password",
		},
	}
}

// User returns a copy of the user with this UPN.
func (s *Server) User(upn string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[lower(upn)]
	if u == nil {
		return User{}, false
	}
	return cloneUser(u), true
}

// Users returns copies of all users, sorted by UPN.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, cloneUser(u))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserPrincipalName < out[j].UserPrincipalName })
	return out
}

// UserByObjectID returns a copy of the user with this oid.
func (s *Server) UserByObjectID(oid string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if strings.EqualFold(u.ObjectID, oid) {
			return cloneUser(u), true
		}
	}
	return User{}, false
}

// SetGraphConsent replaces a user's Graph consent (revoking or granting at run time).
// Unknown UPNs are ignored.
func (s *Server) SetGraphConsent(upn string, scopes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[lower(upn)]; u != nil {
		u.GraphConsent = append([]string(nil), scopes...)
	}
}

// addGraphConsent records combined consent given on the sign-in page.
func (s *Server) addGraphConsent(upn string, scopes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[lower(upn)]
	if u == nil {
		return
	}
	for _, sc := range scopes {
		if !containsFold(u.GraphConsent, sc) {
			u.GraphConsent = append(u.GraphConsent, sc)
		}
	}
}

func cloneUser(u *User) User {
	c := *u
	c.Roles = slices.Clone(u.Roles)
	c.GraphConsent = slices.Clone(u.GraphConsent)
	return c
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// quietLog drops net/http's server log (TLS handshake noise from clients that
// do not trust the CA); it could otherwise echo request details.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }
