package internalapi

import (
	"strings"
	"testing"
	"time"
)

func TestTransactions(t *testing.T) {
	h, clock, _ := newAPI(t)
	r := call(t, h, "transactions/create", map[string]any{"client_id": "c1", "payload": "enc:tx"})
	expect(t, "create", r, "OK")
	state := r.str("state")
	if len(state) != 43 || r.body["expires_in"] != float64(600) {
		t.Fatalf("create: state length %d, %v", len(state), r.body["expires_in"])
	}
	r = call(t, h, "transactions/consume", map[string]string{"state": state})
	expect(t, "consume", r, "OK")
	if r.str("payload") != "enc:tx" || r.str("client_id") != "c1" {
		t.Fatalf("consume: %v", r.body)
	}
	expect(t, "consume twice", call(t, h, "transactions/consume", map[string]string{"state": state}), "Bad Request invalid_grant/state_invalid")
	expect(t, "forged state", call(t, h, "transactions/consume", map[string]string{"state": "forged"}), "Bad Request invalid_grant/state_invalid")
	expect(t, "no state", call(t, h, "transactions/consume", map[string]string{}), "Bad Request invalid_request")
	expect(t, "ttl too long", call(t, h, "transactions/create", map[string]any{"client_id": "c1", "payload": "p", "ttl_seconds": 601}), "Bad Request invalid_request")
	expect(t, "no payload", call(t, h, "transactions/create", map[string]any{"client_id": "c1"}), "Bad Request invalid_request")
	expect(t, "no client", call(t, h, "transactions/create", map[string]any{"payload": "p"}), "Bad Request invalid_request")
	expect(t, "payload too big", call(t, h, "transactions/create", map[string]any{"client_id": "c1", "payload": strings.Repeat("p", 16<<10+1)}), "Bad Request invalid_request")

	r = call(t, h, "transactions/create", map[string]any{"client_id": "c1", "payload": "p", "ttl_seconds": 60})
	expect(t, "create short", r, "OK")
	clock.Advance(60 * time.Second)
	expect(t, "expired", call(t, h, "transactions/consume", map[string]string{"state": r.str("state")}), "Bad Request invalid_grant/state_invalid")
}
