package internalapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// fuzzOps are the operations the fuzzer picks from (by the first argument, modulo).
var fuzzOps = []string{"clients/register", "clients/get", "clients/check-redirect", "transactions/create",
	"transactions/consume", "codes/create", "codes/consume", "refresh/create", "refresh/rotate",
	"refresh/update", "refresh/revoke", "health", "refresh/release"} // append only: committed corpus entries name ops by index

// FuzzRequest: any body sent to any operation gets a JSON answer; a failure is a documented
// error code (docs/internal-api.md) with a 4xx status — with a healthy store nothing is a 5xx —
// and a success carries no error. The seeds are the requests the policies send, with real
// client ids, states, codes and refresh tokens from a flow run against the same store first,
// so the fuzzer starts from bodies that reach the store, not only from ones the decoder refuses.
func FuzzRequest(f *testing.F) {
	doc, err := os.ReadFile("../../docs/internal-api.md")
	if err != nil {
		f.Fatalf("reading the documented error codes: %v", err)
	}
	h := New(newBolt(f, time.Now), nil, nil)
	post := func(op string, body any) map[string]any {
		raw, _ := json.Marshal(body)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/internal/v1/"+op, bytes.NewReader(raw)))
		out := map[string]any{}
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		if rec.Code >= 300 {
			f.Fatalf("seeding %s: %d %v", op, rec.Code, out["error"])
		}
		return out
	}
	const redirect, resource = "http://127.0.0.1:51234/oauth/callback", "https://apim.example.net/mcp"
	const verifier, challenge = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	h = contentTypeJSON(h) // as every policy call does
	reg := post("clients/register", json.RawMessage(inspectorDCR))
	id := reg["client_id"].(string)
	tx := post("transactions/create", map[string]any{"client_id": id, "payload": "sealed-tx", "ttl_seconds": 600})
	code := post("codes/create", map[string]any{"client_id": id, "redirect_uri": redirect, "code_challenge": challenge,
		"code_challenge_method": "S256", "resource": resource, "scope": "openid", "payload": "sealed-entra", "ttl_seconds": 300})
	rt := post("refresh/create", map[string]any{"client_id": id, "payload": "sealed-rt", "resource": resource, "scope": "openid"})
	seeds := map[string]any{
		"clients/register":       json.RawMessage(inspectorDCR),
		"clients/get":            map[string]any{"client_id": id},
		"clients/check-redirect": map[string]any{"client_id": id, "redirect_uri": "http://127.0.0.1:6000/oauth/callback"},
		"transactions/create":    map[string]any{"client_id": id, "payload": "sealed-tx", "ttl_seconds": 600},
		"transactions/consume":   map[string]any{"state": tx["state"]},
		"codes/create": map[string]any{"client_id": id, "redirect_uri": redirect, "code_challenge": challenge,
			"code_challenge_method": "S256", "resource": resource, "payload": "sealed-entra"},
		"codes/consume": map[string]any{"code": code["code"], "client_id": id, "redirect_uri": redirect,
			"code_verifier": verifier, "resource": resource},
		"refresh/create":  map[string]any{"client_id": id, "payload": "sealed-rt", "resource": resource, "scope": "openid"},
		"refresh/rotate":  map[string]any{"refresh_token": rt["refresh_token"], "client_id": id, "resource": resource},
		"refresh/update":  map[string]any{"refresh_token": rt["refresh_token"], "client_id": id, "payload": "sealed-rt2"},
		"refresh/revoke":  map[string]any{"refresh_token": rt["refresh_token"], "client_id": id, "resource": resource},
		"health":          map[string]any{},
		"refresh/release": map[string]any{"refresh_token": rt["refresh_token"], "client_id": id},
	}
	for i, op := range fuzzOps {
		raw, _ := json.Marshal(seeds[op])
		f.Add(uint8(i), raw)
	}
	f.Add(uint8(0), []byte(`{"client_id":"x","CLIENT_ID":"y"}`))
	f.Add(uint8(1), []byte(`{"client_id":"a","client_id":"b"}`))
	f.Add(uint8(5), []byte(`{"client_id":1}`))
	f.Add(uint8(8), []byte(`{"refresh_token":"a.b.c"} {}`))
	f.Add(uint8(4), []byte(`[]`))
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		name := fuzzOps[int(op)%len(fuzzOps)]
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/internal/v1/"+name, bytes.NewReader(body)))
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s: Content-Type %q", name, ct)
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s: the answer (%d) is not a JSON object", name, rec.Code)
		}
		code, _ := out["error"].(string)
		switch {
		case rec.Code >= 500:
			t.Fatalf("%s: %d %s with a healthy store: %v", name, rec.Code, code, out["error_description"])
		case rec.Code >= 400:
			if code == "" || !bytes.Contains(doc, []byte("`"+code+"`")) {
				t.Fatalf("%s: %d with error %q, which docs/internal-api.md does not document", name, rec.Code, code)
			}
			if reason, _ := out["error_reason"].(string); reason != "" && !strings.Contains(string(doc), reason) {
				t.Fatalf("%s: error_reason %q is not documented", name, reason)
			}
		case code != "":
			t.Fatalf("%s: success %d with an error %q", name, rec.Code, code)
		}
	})
}

// contentTypeJSON sets the media type every policy call sends.
func contentTypeJSON(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(w, r)
	})
}
