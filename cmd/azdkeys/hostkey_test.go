package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// fakeCred hands out a fixed token and records the scopes asked for.
type fakeCred struct {
	mu     sync.Mutex
	scopes []string
	err    error
}

func (c *fakeCred) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scopes = append(c.scopes, o.Scopes...)
	if c.err != nil {
		return azcore.AccessToken{}, c.err
	}
	return azcore.AccessToken{Token: "arm-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

const testFunctionKey = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01"

func testTarget(srv *httptest.Server) HostKeyTarget {
	return HostKeyTarget{ARMEndpoint: srv.URL + "/", SubscriptionID: "00000000-0000-0000-0000-000000000001",
		ResourceGroup: "rg-dev", FunctionApp: "func-abc123", KeyName: GatewayKeyName}
}

func noWait(context.Context, int) error { return nil }

// fakeARM answers the host-key PUT with the scripted statuses, then 200 echoing the key (as ARM does).
func fakeARM(t *testing.T, script []int, hostMsg string) (*httptest.Server, *[]string) {
	t.Helper()
	var mu sync.Mutex
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n := len(calls)
		raw, _ := io.ReadAll(r.Body)
		calls = append(calls, r.Method+" "+r.URL.RequestURI()+" auth="+r.Header.Get("Authorization")+" body="+fmt.Sprintf("%x", sha256.Sum256(raw)))
		mu.Unlock()
		var body struct {
			Properties struct{ Name, Value string } `json:"properties"`
		}
		if json.Unmarshal(raw, &body) != nil || body.Properties.Name != GatewayKeyName || body.Properties.Value != testFunctionKey {
			http.Error(w, `{"error":{"code":"BadBody","message":"wrong body"}}`, http.StatusUnprocessableEntity)
			return
		}
		if n < len(script) {
			w.WriteHeader(script[n])
			fmt.Fprintf(w, `{"error":{"code":"BadRequest","message":%q}}`, hostMsg)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"properties": map[string]string{"name": GatewayKeyName, "value": testFunctionKey}})
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestSetHostKeyPutsTheKeyThroughARM(t *testing.T) {
	srv, calls := fakeARM(t, nil, "")
	cred := &fakeCred{}
	if err := SetHostKey(context.Background(), cred, testTarget(srv), testFunctionKey, &HostKeyOptions{Wait: noWait}); err != nil {
		t.Fatal(err)
	}
	want := "PUT /subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-dev/providers/Microsoft.Web/sites/func-abc123/host/default/functionKeys/apim-gateway?api-version=" + HostKeyAPIVersion + " auth=Bearer arm-token"
	if len(*calls) != 1 || !strings.HasPrefix((*calls)[0], want+" ") {
		t.Fatalf("calls = %q, want one %q", *calls, want)
	}
	if len(cred.scopes) != 1 || cred.scopes[0] != srv.URL+"/.default" {
		t.Errorf("token scopes = %q, want the ARM endpoint's /.default", cred.scopes)
	}
}

func TestSetHostKeyRetriesWhileTheHostStarts(t *testing.T) {
	srv, calls := fakeARM(t, []int{400, 503, 429}, "Encountered an error (ServiceUnavailable) from host runtime.")
	waits := 0
	wait := func(context.Context, int) error { waits++; return nil }
	if err := SetHostKey(context.Background(), &fakeCred{}, testTarget(srv), testFunctionKey, &HostKeyOptions{Wait: wait}); err != nil {
		t.Fatal(err)
	}
	if len(*calls) != 4 || waits != 3 {
		t.Errorf("%d calls and %d waits, want 4 and 3", len(*calls), waits)
	}
}

func TestSetHostKeyGivesUpWithoutLeakingTheKey(t *testing.T) {
	// A permanent refusal (403) stops at once; a host that never starts stops after Attempts.
	srv, calls := fakeARM(t, []int{403}, "The client does not have authorization; value "+testFunctionKey)
	err := SetHostKey(context.Background(), &fakeCred{}, testTarget(srv), testFunctionKey, &HostKeyOptions{Wait: noWait})
	if err == nil || !strings.Contains(err.Error(), "HTTP 403 BadRequest") || len(*calls) != 1 {
		t.Fatalf("err = %v after %d calls, want an HTTP 403 error after 1", err, len(*calls))
	}
	if strings.Contains(err.Error(), testFunctionKey) || strings.Contains(err.Error(), "arm-token") {
		t.Fatalf("error message leaks the key or the token (%d bytes)", len(err.Error()))
	}

	srv2, calls2 := fakeARM(t, []int{500, 500, 500, 500}, "")
	err = SetHostKey(context.Background(), &fakeCred{}, testTarget(srv2), testFunctionKey, &HostKeyOptions{Wait: noWait, Attempts: 3})
	if err == nil || !strings.Contains(err.Error(), "after 3 attempts") || len(*calls2) != 3 {
		t.Fatalf("err = %v after %d calls, want a give-up after 3", err, len(*calls2))
	}

	// A 400 that is not about the host runtime is a real error: no retry.
	srv3, calls3 := fakeARM(t, []int{400}, "Invalid key name")
	if err := SetHostKey(context.Background(), &fakeCred{}, testTarget(srv3), testFunctionKey, &HostKeyOptions{Wait: noWait}); err == nil || len(*calls3) != 1 {
		t.Fatalf("err = %v after %d calls, want an error after 1", err, len(*calls3))
	}

	// A cancelled wait ends the loop with the context's error.
	srv4, _ := fakeARM(t, []int{503}, "")
	stop := func(context.Context, int) error { return context.Canceled }
	if err := SetHostKey(context.Background(), &fakeCred{}, testTarget(srv4), testFunctionKey, &HostKeyOptions{Wait: stop}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestSetHostKeyRefusesBadInputBeforeAnyRequest(t *testing.T) {
	srv, calls := fakeARM(t, nil, "")
	good := testTarget(srv)
	cases := map[string]func(*HostKeyTarget, *string){
		"subscription": func(t *HostKeyTarget, _ *string) { t.SubscriptionID = "not-a-guid" },
		"group":        func(t *HostKeyTarget, _ *string) { t.ResourceGroup = "rg/../x" },
		"site":         func(t *HostKeyTarget, _ *string) { t.FunctionApp = "func?x=1" },
		"key name":     func(t *HostKeyTarget, _ *string) { t.KeyName = "a/b" },
		"key value":    func(_ *HostKeyTarget, v *string) { *v = "short" },
	}
	for name, mutate := range cases {
		tg, v := good, testFunctionKey
		mutate(&tg, &v)
		err := SetHostKey(context.Background(), &fakeCred{}, tg, v, &HostKeyOptions{Wait: noWait})
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if len(*calls) != 0 {
		t.Errorf("%d requests sent for invalid input", len(*calls))
	}
	if err := SetHostKey(context.Background(), &fakeCred{err: errors.New("not signed in")}, good, testFunctionKey, nil); err == nil || !strings.Contains(err.Error(), "azd auth login") {
		t.Errorf("credential failure: %v, want a hint to sign in", err)
	}
}

func TestTargetFromEnv(t *testing.T) {
	env := map[string]string{
		"AZURE_SUBSCRIPTION_ID":   "00000000-0000-0000-0000-000000000001",
		"AZURE_RESOURCE_GROUP":    "rg-dev",
		"AZURE_FUNCTION_APP_NAME": "func-abc123",
	}
	tg, err := TargetFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tg.URL(), "https://management.azure.com/subscriptions/") {
		t.Errorf("default ARM endpoint: %s", tg.URL())
	}
	env["AZURE_RESOURCE_MANAGER_ENDPOINT"] = "https://management.usgovcloudapi.net/"
	if tg, _ = TargetFromEnv(func(k string) string { return env[k] }); !strings.HasPrefix(tg.URL(), "https://management.usgovcloudapi.net/subscriptions/") {
		t.Errorf("sovereign ARM endpoint ignored: %s", tg.URL())
	}
	env["AZURE_RESOURCE_MANAGER_ENDPOINT"] = "http://evil.example/"
	if _, err := TargetFromEnv(func(k string) string { return env[k] }); err == nil {
		t.Error("a non-https ARM endpoint was accepted")
	}
	delete(env, "AZURE_RESOURCE_MANAGER_ENDPOINT")
	delete(env, "AZURE_FUNCTION_APP_NAME")
	if _, err := TargetFromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "AZURE_FUNCTION_APP_NAME") {
		t.Errorf("missing app name: %v", err)
	}
}
