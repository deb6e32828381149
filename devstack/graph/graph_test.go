package graph_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"example.com/graphmcp/devstack"
	"example.com/graphmcp/devstack/entra"
	"example.com/graphmcp/devstack/graph"
	"example.com/graphmcp/devstack/localca"
)

type fixture struct {
	ca  *localca.CA
	idp *entra.Server
	g   *graph.Server
}

// start wires Graph to Entra as devstack.Start does (the MI endpoint it also starts is unused).
func start(t *testing.T) *fixture {
	t.Helper()
	st, err := devstack.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return &fixture{st.CA, st.Entra, st.Graph}
}

func (f *fixture) token(t *testing.T, scopes ...string) string {
	t.Helper()
	tok, err := f.idp.GraphToken("adele@contoso.test", scopes)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
}

func (f *fixture) get(t *testing.T, token, path string) reply {
	t.Helper()
	req, _ := http.NewRequest("GET", f.g.URL()+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("client-request-id", "test-123")
	resp, err := f.ca.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("%s: non-JSON body (status %d)", path, resp.StatusCode)
	}
	return reply{resp.StatusCode, resp.Header, body}
}

// requireGraphError checks Graph's error envelope.
func requireGraphError(t *testing.T, r reply, status int, code string) {
	t.Helper()
	e, _ := r.body["error"].(map[string]any)
	if r.status != status || e == nil || e["code"] != code {
		t.Fatalf("got %d %v, want %d %s", r.status, r.body, status, code)
	}
	inner, _ := e["innerError"].(map[string]any)
	if msg, _ := e["message"].(string); msg == "" || inner == nil || inner["request-id"] == "" || inner["client-request-id"] != "test-123" || inner["date"] == "" {
		t.Fatalf("error envelope incomplete: %v", e)
	}
}

func TestAuthFailures(t *testing.T) {
	f := start(t)
	apiToken, _ := f.idp.UserToken("adele@contoso.test", nil) // right issuer, wrong audience
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	good := claims(f, "User.Read")
	expired := claims(f, "User.Read")
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	otherTenant := claims(f, "User.Read")
	otherTenant["tid"] = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	for name, tok := range map[string]string{
		"none":          "",
		"malformed":     "abc.def",
		"api audience":  apiToken,
		"expired":       f.idp.Sign(expired),
		"foreign key":   f.idp.SignWithKey(good, stranger, f.idp.CurrentKID()),
		"other tenant":  f.idp.Sign(otherTenant),
		"alg none":      unsigned(good),
		"HS256 pub key": hs256(t, f, good),
	} {
		t.Run(name, func(t *testing.T) {
			r := f.get(t, tok, "/v1.0/me")
			requireGraphError(t, r, 401, "InvalidAuthenticationToken")
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer ") {
				t.Fatalf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
			}
		})
	}
	if r := f.get(t, f.idp.Sign(good), "/v1.0/me"); r.status != 200 {
		t.Fatalf("control: %d", r.status)
	}
	// The well-known Graph app id is an accepted audience too.
	good["aud"] = entra.GraphAppID
	if r := f.get(t, f.idp.Sign(good), "/v1.0/me"); r.status != 200 {
		t.Fatalf("aud=GraphAppID: %d", r.status)
	}
	// Graph keeps trusting tokens signed before a key rollover.
	before := f.token(t, "User.Read")
	f.idp.RolloverKeys()
	if r := f.get(t, before, "/v1.0/me"); r.status != 200 {
		t.Fatalf("token from before the rollover: %d", r.status)
	}
	if c := f.g.Counts(); c["status_401"] != 8 || c["me"] != 11 {
		t.Fatalf("counts %v", c)
	}
}

func TestScopes(t *testing.T) {
	f := start(t)
	userRead := f.token(t, "User.Read")
	requireGraphError(t, f.get(t, userRead, "/v1.0/me/messages"), 403, "ErrorAccessDenied")
	requireGraphError(t, f.get(t, userRead, "/v1.0/me/drive/recent"), 403, "accessDenied")
	cal := f.token(t, "Calendars.Read")
	requireGraphError(t, f.get(t, cal, "/v1.0/me"), 403, "Authorization_RequestDenied")

	all := f.token(t) // Adele's consent: User.Read Calendars.Read Mail.ReadBasic Files.Read
	me := f.get(t, all, "/v1.0/me")
	if me.status != 200 || me.body["userPrincipalName"] != "adele@contoso.test" || me.body["displayName"] != "Adele Vance" ||
		me.body["id"] != "4f6c7a2e-1b3d-4c5e-8f90-a1b2c3d4e5f6" || me.body["@odata.context"] == nil || me.body["preferredLanguage"] != "en-US" {
		t.Fatalf("/me: %d %v", me.status, me.body)
	}
	if r := f.get(t, all, "/v1.0/me/drive/recent"); r.status != 200 || len(r.body["value"].([]any)) != 4 {
		t.Fatalf("drive/recent: %d", r.status)
	}
	requireGraphError(t, f.get(t, all, "/v1.0/me/contacts"), 404, "Request_ResourceNotFound")
}

func TestQueryOptions(t *testing.T) {
	f := start(t)
	tok := f.token(t)
	me := f.get(t, tok, "/v1.0/me?$select=displayName,mail")
	if me.status != 200 || len(me.body) != 3 || me.body["mail"] != "adele@contoso.test" {
		t.Fatalf("$select on /me: %v", me.body)
	}
	msgs := f.get(t, tok, "/v1.0/me/messages?$top=2&$select=subject,receivedDateTime&$orderby=receivedDateTime%20asc")
	items := values(t, msgs)
	if len(items) != 2 || len(items[0]) != 3 || items[0]["id"] == nil || items[0]["from"] != nil {
		t.Fatalf("messages $top/$select: %v", items)
	}
	if items[0]["receivedDateTime"].(string) >= items[1]["receivedDateTime"].(string) {
		t.Fatal("$orderby asc not applied")
	}
	for _, bad := range []string{"/v1.0/me/messages?$top=0", "/v1.0/me/messages?$top=x", "/v1.0/me?$select=password",
		"/v1.0/me/messages?$orderby=secret", "/v1.0/me/drive/recent?$top=5000"} {
		requireGraphError(t, f.get(t, tok, bad), 400, "BadRequest")
	}

	requireGraphError(t, f.get(t, tok, "/v1.0/me/calendarView"), 400, "ErrorInvalidParameter")
	window := url.Values{"startDateTime": {"2026-03-02T00:00:00Z"}, "endDateTime": {"2026-03-04T00:00:00Z"}, "$top": {"3"}}
	ev := values(t, f.get(t, tok, "/v1.0/me/calendarView?"+window.Encode()))
	if len(ev) != 3 || ev[0]["start"].(map[string]any)["dateTime"] != "2026-03-02T09:00:00.0000000" {
		t.Fatalf("calendarView: %v", ev)
	}
	again := values(t, f.get(t, tok, "/v1.0/me/calendarView?"+window.Encode()))
	if again[2]["subject"] != ev[2]["subject"] || again[2]["id"] != ev[2]["id"] {
		t.Fatal("calendar data is not deterministic")
	}
}

func TestFaultInjection(t *testing.T) {
	f := start(t)
	tok := f.token(t)
	f.g.Throttle(2, 1500*time.Millisecond)
	for range 2 {
		r := f.get(t, tok, "/v1.0/me")
		requireGraphError(t, r, 429, "TooManyRequests")
		if r.header.Get("Retry-After") != "2" {
			t.Fatalf("Retry-After = %q, want 2 (ceil of 1.5s)", r.header.Get("Retry-After"))
		}
	}
	if r := f.get(t, tok, "/v1.0/me"); r.status != 200 {
		t.Fatalf("after throttling: %d", r.status)
	}
	f.g.Fail(1, 503)
	requireGraphError(t, f.get(t, tok, "/v1.0/me"), 503, "serviceNotAvailable")
	if r := f.get(t, tok, "/v1.0/me"); r.status != 200 {
		t.Fatalf("after failure: %d", r.status)
	}
	if c := f.g.Counts(); c["status_429"] != 2 || c["status_503"] != 1 || f.g.RequestCount() != 5 {
		t.Fatalf("counts %v total %d", c, f.g.RequestCount())
	}
	f.g.ResetCounts()
	if f.g.RequestCount() != 0 || len(f.g.Counts()) != 0 {
		t.Fatal("ResetCounts left counts")
	}
}

func claims(f *fixture, scp string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"aud": "https://graph.microsoft.com", "iss": f.idp.IssuerV1(), "tid": f.idp.TenantID(),
		"oid": "4f6c7a2e-1b3d-4c5e-8f90-a1b2c3d4e5f6", "scp": scp, "exp": now.Add(time.Hour).Unix(), "nbf": now.Unix()}
}

func unsigned(c jwt.MapClaims) string {
	s, _ := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	return s
}

// hs256 forges a token MAC'd with the server's public key bytes, the classic
// algorithm-confusion attack.
func hs256(t *testing.T, f *fixture, c jwt.MapClaims) string {
	t.Helper()
	pub, err := f.idp.TrustedKeyfunc(&jwt.Token{Header: map[string]any{"kid": f.idp.CurrentKID()}})
	if err != nil {
		t.Fatal(err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	tok.Header["kid"] = f.idp.CurrentKID()
	s, err := tok.SignedString(pub.(*rsa.PublicKey).N.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func values(t *testing.T, r reply) []map[string]any {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d: %v", r.status, r.body)
	}
	raw, _ := r.body["value"].([]any)
	out := make([]map[string]any, len(raw))
	for i, v := range raw {
		out[i] = v.(map[string]any)
	}
	return out
}

// A token Graph has accepted (and remembers as verified) is refused once it expires: only the
// signature check is remembered, the lifetime is checked on every request.
func TestRememberedTokenStillExpires(t *testing.T) {
	var offset atomic.Int64
	st, err := devstack.Start(&devstack.Options{Entra: entra.Options{Now: func() time.Time {
		return time.Now().Add(time.Duration(offset.Load()))
	}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	f := &fixture{st.CA, st.Entra, st.Graph}
	tok := f.token(t, "User.Read")
	for range 2 {
		if r := f.get(t, tok, "/v1.0/me"); r.status != 200 {
			t.Fatalf("fresh token: %d %v", r.status, r.body)
		}
	}
	offset.Store(int64(3 * time.Hour)) // past exp and the minute of leeway
	r := f.get(t, tok, "/v1.0/me")
	requireGraphError(t, r, 401, "InvalidAuthenticationToken")
	if msg, _ := r.body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "expired") {
		t.Fatalf("message %q", msg)
	}
}
