// Package internalapi is the handler's internal HTTP API over the state store: the one place
// where the APIM policies (the OAuth gateway) keep state that must be durable or consumed
// exactly once. docs/internal-api.md is the contract; this package implements version 1.
//
// Shape, chosen for callers that are C# 7 policy expressions:
//
//   - one POST per operation under /internal/v1/, JSON in and out;
//   - flat objects: strings, numbers, booleans and arrays of strings only;
//   - every error is {"error": "<stable code>", "error_description": "...", "error_reason": "..."}
//     with a status the policy can also branch on; OAuth-shaped codes (invalid_grant,
//     invalid_client_metadata, ...) can be relayed to OAuth clients as they are;
//   - 503 {"error": "store_unavailable"} whenever the store cannot answer — never a guess.
//
// Secrets are generated here, not in policies: authorization codes, the state toward Entra and
// refresh handles are 256-bit random values of which only hashes (codes, refresh handles) or
// random ids (transactions) are stored. Payloads are opaque strings the policies encrypt
// before sending; they are never logged.
//
//	api := internalapi.New(st, cimd.New(nil), &internalapi.Options{RequireFunctionsHost: true})
//	mux.Handle("/internal/", api)
package internalapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"

	"example.com/graphmcp/handler/cimd"
	"example.com/graphmcp/handler/store"
)

// Options tune the API; nil means defaults.
type Options struct {
	// Logger receives store failures (never payloads or secrets). Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// RequireFunctionsHost refuses requests without the header the Functions host adds when
	// it forwards through the function-key-protected route (403 forbidden).
	RequireFunctionsHost bool
	// ClientTTL is how long an unused registration lives; each authorization code issued for
	// it extends it (sliding, at day granularity). Default 90 days.
	ClientTTL time.Duration
	// RefreshIdleTTL is how long a refresh family lives without a rotation. Default 30 days.
	RefreshIdleTTL time.Duration
	// RefreshMaxLifetime caps a refresh family regardless of use. Default 90 days (Entra's own
	// refresh-token lifetime).
	RefreshMaxLifetime time.Duration
	// MaxPayloadBytes bounds every opaque payload. Default 16 KiB.
	MaxPayloadBytes int
}

// Fixed limits of the protocol (documented in docs/internal-api.md).
const (
	MaxTransactionTTL = 10 * time.Minute
	MaxCodeTTL        = 5 * time.Minute
	maxBodyBytes      = 64 << 10
	maxIDBytes        = 2000
	maxScopeBytes     = 1000
)

// FunctionsHostHeaders are the headers the Azure Functions host adds when it forwards or
// proxies a request to a custom handler; one of them must be present when RequireFunctionsHost is set.
var FunctionsHostHeaders = []string{"X-Azure-Functions-InvocationId", "X-Ms-Invocation-Id"}

type api struct {
	st   store.Store
	cimd *cimd.Fetcher
	o    Options
	log  *slog.Logger
	mux  *http.ServeMux
}

// New returns the API handler; mount it at "/internal/". fetcher may be nil (CIMD client ids
// are then refused with invalid_client / cimd_disabled).
func New(st store.Store, fetcher *cimd.Fetcher, opts *Options) http.Handler {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ClientTTL == 0 {
		o.ClientTTL = 90 * 24 * time.Hour
	}
	if o.RefreshIdleTTL == 0 {
		o.RefreshIdleTTL = 30 * 24 * time.Hour
	}
	if o.RefreshMaxLifetime == 0 {
		o.RefreshMaxLifetime = 90 * 24 * time.Hour
	}
	if o.MaxPayloadBytes == 0 {
		o.MaxPayloadBytes = 16 << 10
	}
	a := &api{st: st, cimd: fetcher, o: o, log: o.Logger, mux: http.NewServeMux()}
	ops := map[string]func(context.Context, []byte) (int, any, *apiError){
		"clients/register":       a.registerClient,
		"clients/get":            a.getClient,
		"clients/check-redirect": a.checkRedirect,
		"transactions/create":    a.createTransaction,
		"transactions/consume":   a.consumeTransaction,
		"codes/create":           a.createCode,
		"codes/consume":          a.consumeCode,
		"refresh/create":         a.createRefresh,
		"refresh/rotate":         a.rotateRefresh,
		"refresh/update":         a.updateRefresh,
		"refresh/release":        a.releaseRefresh,
		"refresh/revoke":         a.revokeRefresh,
		"health":                 a.health,
	}
	for name, op := range ops {
		a.mux.Handle("/internal/v1/"+name, a.operation(name, op))
	}
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{status: http.StatusNotFound, Code: "not_found",
			Description: "no such internal API operation; see docs/internal-api.md (paths start with /internal/v1/)"})
	})
	return a
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if a.o.RequireFunctionsHost && !fromFunctionsHost(r) {
		writeError(w, &apiError{status: http.StatusForbidden, Code: "forbidden",
			Description: "the internal API is reachable only through the Functions host's function-key-protected route"})
		return
	}
	a.mux.ServeHTTP(w, r)
}

func fromFunctionsHost(r *http.Request) bool {
	for _, h := range FunctionsHostHeaders {
		if strings.TrimSpace(r.Header.Get(h)) != "" {
			return true
		}
	}
	return false
}

// apiError is the error body of every failed operation.
type apiError struct {
	status      int
	Code        string `json:"error"`
	Description string `json:"error_description"`
	Reason      string `json:"error_reason,omitempty"`
}

func badRequest(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, Code: "invalid_request", Description: fmt.Sprintf(format, args...)}
}

func invalidGrant(reason, description string) *apiError {
	return &apiError{status: http.StatusBadRequest, Code: "invalid_grant", Reason: reason, Description: description}
}

// operation wraps an operation with the checks every request gets: method, media type, size, JSON.
func (a *api) operation(name string, op func(context.Context, []byte) (int, any, *apiError)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost && !(name == "health" && r.Method == http.MethodGet) {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, &apiError{status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Description: "use POST with a JSON body"})
			return
		}
		var body []byte
		if r.Method == http.MethodPost {
			if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
				writeError(w, &apiError{status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Description: "send Content-Type: application/json"})
				return
			}
			var err error
			body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					writeError(w, &apiError{status: http.StatusRequestEntityTooLarge, Code: "request_too_large",
						Description: fmt.Sprintf("request body larger than %d bytes", maxBodyBytes)})
					return
				}
				writeError(w, badRequest("cannot read the request body"))
				return
			}
		}
		status, resp, aerr := op(r.Context(), body)
		if aerr != nil {
			if aerr.status >= 500 {
				a.log.WarnContext(r.Context(), "internal API operation failed",
					slog.String("operation", name), slog.Int("status", aerr.status), slog.String("error", aerr.Code),
					slog.String("error_description", aerr.Description))
			}
			writeError(w, aerr)
			return
		}
		writeJSON(w, status, resp)
	})
}

// decode parses a request strictly: one JSON object, no unknown fields (a typo in a policy
// fails loudly instead of being ignored), nothing after it.
func decode(body []byte, v any) *apiError {
	if e := exactFields(body, v); e != nil {
		return e
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return badRequest("field %s must be a JSON %s", te.Field, te.Type)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return badRequest("%s is not a field of this operation", strings.TrimPrefix(err.Error(), "json: "))
		}
		return badRequest("the body must be one JSON object")
	}
	if dec.More() {
		return badRequest("the body must be one JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("the body must be one JSON object")
	}
	return nil
}

// exactFields refuses top-level keys that are not exactly a json field name of the struct v
// points to, and keys sent twice. encoding/json alone would match "STATE" to state and let the
// last duplicate win, so a body spliced together by a policy could be steered by a later key.
// Only key names are checked here; decode does the rest (values, shape).
func exactFields(body []byte, v any) *apiError {
	rt := reflect.TypeOf(v)
	if rt.Kind() != reflect.Pointer || rt.Elem().Kind() != reflect.Struct {
		return nil
	}
	names := map[string]bool{}
	for f := range rt.Elem().Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			names[name] = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return badRequest("the body must be one JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return badRequest("the body must be one JSON object")
		}
		key, _ := tok.(string)
		if !names[key] {
			return badRequest("%.100q is not a field of this operation (names are case-sensitive)", key)
		}
		if seen[key] {
			return badRequest("field %s is sent more than once", key)
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return badRequest("the body must be one JSON object")
		}
	}
	return nil
}

// storeError maps store errors that no operation handles itself.
func (a *api) storeError(err error) *apiError {
	switch {
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return &apiError{status: http.StatusServiceUnavailable, Code: "store_unavailable",
			Description: "the state store is unavailable (" + err.Error() + "); retry later"}
	}
	return &apiError{status: http.StatusInternalServerError, Code: "server_error", Description: "unexpected state store error: " + err.Error()}
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, e.status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// field checks a required or optional string field's presence and size.
func field(name, v string, required bool, maxBytes int) *apiError {
	if v == "" {
		if required {
			return badRequest("%s is required", name)
		}
		return nil
	}
	if len(v) > maxBytes {
		return badRequest("%s is longer than %d bytes", name, maxBytes)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] == 0x7f {
			return badRequest("%s contains control characters", name)
		}
	}
	return nil
}

func firstErr(errs ...*apiError) *apiError {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// ttl reads an optional ttl_seconds, bounded by max.
func ttl(seconds int64, max time.Duration) (time.Duration, *apiError) {
	if seconds == 0 {
		return max, nil
	}
	if seconds < 0 || seconds > int64(max/time.Second) {
		return 0, badRequest("ttl_seconds must be between 1 and %d", int64(max/time.Second))
	}
	return time.Duration(seconds) * time.Second, nil
}

func (a *api) health(ctx context.Context, _ []byte) (int, any, *apiError) {
	if err := a.st.Ping(ctx); err != nil {
		return 0, nil, a.storeError(err)
	}
	return http.StatusOK, map[string]any{"status": "ok"}, nil
}
