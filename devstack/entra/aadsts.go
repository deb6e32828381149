package entra

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/google/uuid"
)

// aadError is an error response in Entra's shape. Codes are real AADSTS codes
// for the same situation, so code that branches on them (65001 ⇒ consent) is
// exercised for real.
type aadError struct {
	status   int    // HTTP status
	err      string // OAuth error: invalid_grant, invalid_client, ...
	code     int    // AADSTS number
	msg      string // description after "AADSTSnnnn: "
	suberror string // e.g. consent_required
}

func (e *aadError) Error() string { return fmt.Sprintf("AADSTS%d: %s", e.code, e.msg) }

func badRequest(err string, code int, format string, args ...any) *aadError {
	return &aadError{status: http.StatusBadRequest, err: err, code: code, msg: fmt.Sprintf(format, args...)}
}

func invalidClient(code int, format string, args ...any) *aadError {
	return &aadError{status: http.StatusUnauthorized, err: "invalid_client", code: code, msg: fmt.Sprintf(format, args...)}
}

// writeError sends the JSON error body /token returns.
func (s *Server) writeError(w http.ResponseWriter, e *aadError) {
	s.counts.addError("AADSTS" + strconv.Itoa(e.code))
	trace, corr := uuid.NewString(), uuid.NewString()
	ts := s.now().UTC().Format("2006-01-02 15:04:05Z")
	body := map[string]any{
		"error": e.err,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s",
			e.code, e.msg, trace, corr, ts),
		"error_codes":    []int{e.code},
		"timestamp":      ts,
		"trace_id":       trace,
		"correlation_id": corr,
		"error_uri":      s.url + "/error?code=" + strconv.Itoa(e.code),
	}
	if e.suberror != "" {
		body["suberror"] = e.suberror
	}
	writeJSON(w, e.status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) handleUnknown(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, &aadError{status: http.StatusNotFound, err: "invalid_request", code: 90002,
		msg: "Tenant or endpoint not found. This stand-in serves only tenant '" + s.opts.TenantID + "' and the v2.0 endpoints."})
}
