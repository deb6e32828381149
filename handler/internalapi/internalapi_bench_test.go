package internalapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkCodeRoundTrip measures one authorization code's life through the API on the
// embedded store: codes/create then codes/consume (two fsynced bbolt transactions, plus the
// client expiry slide).
func BenchmarkCodeRoundTrip(b *testing.B) {
	h, _, _ := newAPI(b)
	createBody, _ := json.Marshal(newCodeReq("c1"))
	post := func(op string, body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/internal/v1/"+op, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	b.ReportAllocs()
	for b.Loop() {
		rec := post("codes/create", createBody)
		var out struct{ Code string }
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || rec.Code != http.StatusOK {
			b.Fatalf("create: %d", rec.Code)
		}
		consume, _ := json.Marshal(consumeReq(out.Code, "c1"))
		if rec := post("codes/consume", consume); rec.Code != http.StatusOK {
			b.Fatalf("consume: %d", rec.Code)
		}
	}
}

// BenchmarkCheckRedirect measures the redirect check the policies call on every /authorize.
func BenchmarkCheckRedirect(b *testing.B) {
	h, _, _ := newAPI(b)
	req := httptest.NewRequest(http.MethodPost, "/internal/v1/clients/register", bytes.NewReader([]byte(inspectorDCR)))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var reg struct {
		ClientID string `json:"client_id"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &reg)
	body, _ := json.Marshal(map[string]string{"client_id": reg.ClientID, "redirect_uri": "http://127.0.0.1:50000/oauth/callback"})
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/internal/v1/clients/check-redirect", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("check-redirect: %d", rec.Code)
		}
	}
}
