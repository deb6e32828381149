package internalapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"example.com/graphmcp/handler/store"
	"example.com/graphmcp/handler/store/bolt"
	"example.com/graphmcp/handler/store/storetest"
)

type result struct {
	status int
	header http.Header
	body   map[string]any
}

func (r result) str(k string) string { s, _ := r.body[k].(string); return s }

// errCode returns "status error[/reason]" for compact assertions.

func (r result) errCode() string {
	s := r.str("error")
	if reason := r.str("error_reason"); reason != "" {
		s += "/" + reason
	}
	return http.StatusText(r.status) + " " + s
}

func do(t *testing.T, h http.Handler, method, path, contentType string, body []byte, hdr map[string]string) result {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := result{status: rec.Code, header: rec.Header(), body: map[string]any{}}
	raw, _ := io.ReadAll(rec.Body)
	if err := json.Unmarshal(raw, &res.body); err != nil {
		t.Fatalf("%s %s: response is not a JSON object (status %d, %d bytes)", method, path, rec.Code, len(raw))
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: Content-Type %q", method, path, ct)
	}
	return res
}

// call POSTs a JSON object to /internal/v1/<op>.

func call(t *testing.T, h http.Handler, op string, body any) result {
	t.Helper()
	raw, ok := body.([]byte)
	if !ok {
		raw, _ = json.Marshal(body)
	}
	return do(t, h, http.MethodPost, "/internal/v1/"+op, "application/json", raw, nil)
}

func expect(t *testing.T, what string, r result, want string) {
	t.Helper()
	got := http.StatusText(r.status)
	if r.status >= 400 {
		got = r.errCode()
	}
	if got != want {
		t.Fatalf("%s: got %q, want %q (description: %s)", what, got, want, r.str("error_description"))
	}
}

func newBolt(t testing.TB, now func() time.Time) store.Store {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), &bolt.Options{Now: now, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newAPI(t testing.TB) (http.Handler, *storetest.Clock, store.Store) {
	clock := storetest.NewClock()
	st := newBolt(t, clock.Now)
	return New(st, nil, &Options{Now: clock.Now}), clock, st
}

const inspectorDCR = `{"client_name":"MCP Inspector","redirect_uris":["http://127.0.0.1:6276/oauth/callback"],
	"grant_types":["authorization_code","refresh_token"],"response_types":["code"],"token_endpoint_auth_method":"none","application_type":"native"}`

func register(t *testing.T, h http.Handler) string {
	t.Helper()
	r := call(t, h, "clients/register", []byte(inspectorDCR))
	expect(t, "register", r, "Created")
	return r.str("client_id")
}

func TestRequestValidation(t *testing.T) {
	h, _, _ := newAPI(t)
	j := "application/json"
	for what, tc := range map[string]struct {
		method, path, ct, body, want string
	}{
		"GET on an operation": {"GET", "/internal/v1/codes/consume", "", "", "Method Not Allowed method_not_allowed"},
		"form body":           {"POST", "/internal/v1/codes/consume", "application/x-www-form-urlencoded", "code=x", "Unsupported Media Type unsupported_media_type"},
		"no content type":     {"POST", "/internal/v1/codes/consume", "", "{}", "Unsupported Media Type unsupported_media_type"},
		"too large":           {"POST", "/internal/v1/transactions/create", j, `{"payload":"` + strings.Repeat("x", 70<<10) + `"}`, "Request Entity Too Large request_too_large"},
		"not JSON":            {"POST", "/internal/v1/transactions/consume", j, "state=x", "Bad Request invalid_request"},
		"JSON array":          {"POST", "/internal/v1/transactions/consume", j, `["x"]`, "Bad Request invalid_request"},
		"two objects":         {"POST", "/internal/v1/transactions/consume", j, `{"state":"x"}{"state":"y"}`, "Bad Request invalid_request"},
		"unknown field":       {"POST", "/internal/v1/transactions/consume", j, `{"state":"x","stat":"y"}`, "Bad Request invalid_request"},
		"wrong type":          {"POST", "/internal/v1/transactions/consume", j, `{"state":5}`, "Bad Request invalid_request"},
		"control character":   {"POST", "/internal/v1/transactions/create", j, `{"client_id":"a\u0000b","payload":"p"}`, "Bad Request invalid_request"},
		"unknown operation":   {"POST", "/internal/v1/nope", j, `{}`, "Not Found not_found"},
		"unversioned path":    {"POST", "/internal/codes/consume", j, `{}`, "Not Found not_found"},
		"health GET":          {"GET", "/internal/v1/health", "", "", "OK"},
		"charset is fine":     {"POST", "/internal/v1/health", "application/json; charset=utf-8", `{}`, "OK"},
	} {
		r := do(t, h, tc.method, tc.path, tc.ct, []byte(tc.body), nil)
		expect(t, what, r, tc.want)
		if r.status >= 400 && r.str("error_description") == "" {
			t.Fatalf("%s: error without a description", what)
		}
		if r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: Cache-Control %q", what, r.header.Get("Cache-Control"))
		}
	}
}

func TestRequireFunctionsHost(t *testing.T) {
	clock := storetest.NewClock()
	st := newBolt(t, clock.Now)
	strict := New(st, nil, &Options{Now: clock.Now, RequireFunctionsHost: true})
	open := New(st, nil, &Options{Now: clock.Now})
	body := []byte(`{}`)
	expect(t, "strict, direct", do(t, strict, "POST", "/internal/v1/health", "application/json", body, nil), "Forbidden forbidden")
	expect(t, "strict, empty header", do(t, strict, "POST", "/internal/v1/health", "application/json", body,
		map[string]string{"X-Azure-Functions-InvocationId": " "}), "Forbidden forbidden")
	expect(t, "strict, unknown path", do(t, strict, "POST", "/internal/v1/nope", "application/json", body, nil), "Forbidden forbidden")
	for _, h := range FunctionsHostHeaders {
		expect(t, "strict via host "+h, do(t, strict, "POST", "/internal/v1/health", "application/json", body,
			map[string]string{h: "2f1c0e0e-0000-4000-8000-000000000001"}), "OK")
	}
	expect(t, "not required", do(t, open, "POST", "/internal/v1/health", "application/json", body, nil), "OK")
}

// TestFieldNamesAreExact: encoding/json matches field names case-insensitively and lets the last
// duplicate win, so {"state":"a","STATE":"b"} would be read as state "b". A policy that built a
// body by concatenation could be steered that way; the contract says unknown fields are refused,
// and a case variant or a repeated field is refused too.
func TestFieldNamesAreExact(t *testing.T) {
	h, _, _ := newAPI(t)
	for what, body := range map[string]string{
		"case variant":            `{"STATE":"x"}`,
		"case variant after":      `{"state":"x","State":"y"}`,
		"duplicate":               `{"state":"x","state":"y"}`,
		"duplicate in create":     `{"client_id":"a","payload":"p","client_id":"b"}`,
		"case variant in create":  `{"client_id":"a","payload":"p","Client_ID":"b"}`,
		"escaped name is a match": `{"st\u0061te":"x","state":"y"}`,
	} {
		op := "transactions/consume"
		if strings.Contains(what, "create") {
			op = "transactions/create"
		}
		r := call(t, h, op, []byte(body))
		expect(t, what, r, "Bad Request invalid_request")
		if strings.Contains(r.str("error_description"), `"y"`) || strings.Contains(r.str("error_description"), `"b"`) {
			t.Fatalf("%s: the description echoes a value", what)
		}
	}
	// Exact names still work, and null is not an object.
	expect(t, "exact", call(t, h, "transactions/create", []byte(`{"client_id":"a","payload":"p"}`)), "OK")
	expect(t, "null body", call(t, h, "transactions/consume", []byte(`null`)), "Bad Request invalid_request")
}

// TestTypeConfusion: every value of the wrong JSON type is invalid_request, and no description
// echoes the value sent (payloads are secrets in transit).
func TestTypeConfusion(t *testing.T) {
	h, _, _ := newAPI(t)
	const secret = "s3cr3t-payload-value"
	for _, body := range []string{
		`{"client_id":"a","payload":"p","ttl_seconds":"600"}`,
		`{"client_id":"a","payload":"p","ttl_seconds":1e2}`,
		`{"client_id":"a","payload":"p","ttl_seconds":600.5}`,
		`{"client_id":"a","payload":"p","ttl_seconds":99999999999999999999}`,
		`{"client_id":"a","payload":"p","ttl_seconds":-1}`,
		`{"client_id":"a","payload":"p","ttl_seconds":601}`,
		`{"client_id":"a","payload":{"v":"` + secret + `"}}`,
		`{"client_id":"a","payload":["` + secret + `"]}`,
		`{"client_id":"a","payload":true}`,
		`{"client_id":null,"payload":"` + secret + `"}`,
		`{"client_id":["a"],"payload":"` + secret + `"}`,
		`{"client_id":"a","payload":"` + secret + `\u0007"}`,
	} {
		r := call(t, h, "transactions/create", []byte(body))
		expect(t, body, r, "Bad Request invalid_request")
		if strings.Contains(r.str("error_description"), secret) {
			t.Fatalf("the description echoes the payload (%d bytes)", len(r.str("error_description")))
		}
	}
}
