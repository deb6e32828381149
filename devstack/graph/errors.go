package graph

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// writeError sends Graph's error envelope:
// {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	s.count("status_" + strconv.Itoa(status))
	inner := map[string]string{
		"date":              s.opts.Entra.TokenClock().UTC().Format("2006-01-02T15:04:05"),
		"request-id":        w.Header().Get("request-id"),
		"client-request-id": w.Header().Get("client-request-id"),
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg, "innerError": inner}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeFault serves an injected 429 or failure.
func (s *Server) writeFault(w http.ResponseWriter, r *http.Request, status int, retryAfter time.Duration) {
	if status == http.StatusTooManyRequests {
		secs := int(math.Ceil(retryAfter.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.writeError(w, r, status, "TooManyRequests", "Too many requests. Retry after "+strconv.Itoa(secs)+" seconds.")
		return
	}
	code := map[int]string{500: "generalException", 502: "badGateway", 503: "serviceNotAvailable", 504: "gatewayTimeout"}[status]
	if code == "" {
		code = "injectedFailure"
	}
	s.writeError(w, r, status, code, fmt.Sprintf("The service is temporarily unavailable (injected %d).", status))
}
