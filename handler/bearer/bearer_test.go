package bearer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"example.com/graphmcp/handler/tokenverify"
)

type verifierFunc func(ctx context.Context, raw string) (*tokenverify.Identity, error)

func (f verifierFunc) Verify(ctx context.Context, raw string) (*tokenverify.Identity, error) {
	return f(ctx, raw)
}

func TestMiddleware(t *testing.T) {
	v := verifierFunc(func(_ context.Context, raw string) (*tokenverify.Identity, error) {
		if raw == "good" {
			return &tokenverify.Identity{ObjectID: "oid"}, nil
		}
		return nil, &tokenverify.Error{Kind: tokenverify.ErrInvalidToken, Description: `bad "quoted"\ token`}
	})
	var seen *Caller
	h := Middleware(v, &Options{ResourceMetadataURL: "https://gw/prm", Scope: "api://app/s"})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = FromContext(r.Context())
	}))
	cases := []struct {
		auth      []string
		status    int
		challenge string
	}{
		{nil, 401, `Bearer resource_metadata="https://gw/prm", scope="api://app/s"`},
		{[]string{"Bearer good", "Bearer good"}, 401, `Bearer error="invalid_token", error_description="the Authorization header must be 'Bearer <token>'", resource_metadata="https://gw/prm", scope="api://app/s"`},
		{[]string{"Bearer bad"}, 401, `Bearer error="invalid_token", error_description="bad 'quoted'' token", resource_metadata="https://gw/prm", scope="api://app/s"`},
		{[]string{"bearer good"}, 200, ""},
	}
	for _, tc := range cases {
		seen = nil
		req := httptest.NewRequest("POST", "/mcp", nil)
		for _, a := range tc.auth {
			req.Header.Add("Authorization", a)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != tc.status || w.Header().Get("WWW-Authenticate") != tc.challenge {
			t.Errorf("%v: %d %q", tc.auth, w.Code, w.Header().Get("WWW-Authenticate"))
		}
		if tc.status == 200 && (seen == nil || seen.Token != "good" || seen.Identity.ObjectID != "oid") {
			t.Errorf("caller not in context: %+v", seen)
		}
	}
}
