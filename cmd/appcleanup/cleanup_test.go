package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

const (
	objectID = "11111111-2222-3333-4444-555555555555"
	clientID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	otherApp = "99999999-8888-7777-6666-555555555555"
)

type staticCred struct{ scopes []string }

func (c *staticCred) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.scopes = o.Scopes
	return azcore.AccessToken{Token: "test-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// fakeGraph holds applications and deleted items by object id (id → appId) and records every request.
type fakeGraph struct {
	mu       sync.Mutex
	apps     map[string]string
	deleted  map[string]string
	requests []string
}

func newFakeGraph(t *testing.T, apps, deleted map[string]string) (*fakeGraph, *httptest.Server) {
	g := &fakeGraph{apps: apps, deleted: deleted}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.requests = append(g.requests, r.Method+" "+r.URL.Path)
		if r.Header.Get("Authorization") != "Bearer test-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var store map[string]string
		var id string
		active := false
		switch {
		case strings.HasPrefix(r.URL.Path, "/v1.0/applications/"):
			store, id, active = g.apps, strings.TrimPrefix(r.URL.Path, "/v1.0/applications/"), true
		case strings.HasPrefix(r.URL.Path, "/v1.0/directory/deletedItems/"):
			store, id = g.deleted, strings.TrimPrefix(r.URL.Path, "/v1.0/directory/deletedItems/")
		default:
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		appID, ok := store[id]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "Request_ResourceNotFound"}})
			return
		}
		switch r.Method {
		case http.MethodGet:
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]string{"id": id, "appId": appID})
		case http.MethodDelete:
			delete(store, id)
			if active {
				g.deleted[id] = appID
			}
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	t.Cleanup(srv.Close)
	return g, srv
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestRefusesWithoutARecordedID(t *testing.T) {
	_, err := TargetFromEnv(env(map[string]string{"ENTRA_APP_CLIENT_ID": clientID}))
	if !errors.Is(err, ErrNothingRecorded) || !strings.Contains(err.Error(), "nothing was deleted") {
		t.Fatalf("err = %v, want ErrNothingRecorded saying nothing was deleted", err)
	}
	g, srv := newFakeGraph(t, map[string]string{objectID: clientID}, map[string]string{})
	cred := &staticCred{}
	for name, tgt := range map[string]Target{
		"no object id":     {GraphEndpoint: srv.URL, ClientID: clientID},
		"no client id":     {GraphEndpoint: srv.URL, ObjectID: objectID},
		"object id not id": {GraphEndpoint: srv.URL, ObjectID: "displayName eq 'x'", ClientID: clientID},
		"http graph":       {GraphEndpoint: "http://graph.example", ObjectID: objectID, ClientID: clientID},
	} {
		if _, err := Delete(context.Background(), cred, tgt, true, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if len(g.requests) != 0 || cred.scopes != nil {
		t.Errorf("requests were made without a valid recorded id: %v", g.requests)
	}
}

// TestDeletesExactlyTheRecordedRegistration: the hook reads, checks and deletes that one object id,
// leaves every other registration alone, and purges only when asked.
func TestDeletesExactlyTheRecordedRegistration(t *testing.T) {
	g, srv := newFakeGraph(t, map[string]string{objectID: clientID, otherApp: "other"}, map[string]string{})
	tgt, err := TargetFromEnv(env(map[string]string{"MICROSOFT_GRAPH_ENDPOINT": srv.URL, "ENTRA_APP_OBJECT_ID": objectID, "ENTRA_APP_CLIENT_ID": clientID}))
	if err != nil {
		t.Fatal(err)
	}
	cred := &staticCred{}
	msg, err := Delete(context.Background(), cred, tgt, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"GET /v1.0/applications/" + objectID, "DELETE /v1.0/applications/" + objectID}
	if strings.Join(g.requests, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(g.requests, "\n"), strings.Join(want, "\n"))
	}
	if _, ok := g.apps[otherApp]; !ok {
		t.Error("another registration was deleted")
	}
	if len(cred.scopes) != 1 || cred.scopes[0] != srv.URL+"/.default" {
		t.Errorf("token scopes %v, want the Graph endpoint's .default", cred.scopes)
	}
	if !strings.Contains(msg, "deleted") || !strings.Contains(msg, "-purge") {
		t.Errorf("message %q", msg)
	}

	g.requests = nil
	msg, err = Delete(context.Background(), cred, tgt, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"GET /v1.0/applications/" + objectID, "GET /v1.0/directory/deletedItems/" + objectID, "DELETE /v1.0/directory/deletedItems/" + objectID}
	if strings.Join(g.requests, "\n") != strings.Join(want, "\n") {
		t.Errorf("purge requests:\n%s\nwant:\n%s", strings.Join(g.requests, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(msg, "already deleted") || !strings.Contains(msg, "purged") {
		t.Errorf("message %q", msg)
	}
	if len(g.deleted) != 0 {
		t.Errorf("deleted items left: %v", g.deleted)
	}
}

// TestRefusesAnObjectWithAnotherClientID: an object id that now belongs to something else (or a
// hand-edited value) is never deleted.
func TestRefusesAnObjectWithAnotherClientID(t *testing.T) {
	g, srv := newFakeGraph(t, map[string]string{objectID: otherApp}, map[string]string{})
	_, err := Delete(context.Background(), &staticCred{}, Target{GraphEndpoint: srv.URL, ObjectID: objectID, ClientID: clientID}, true, nil)
	if err == nil || !strings.Contains(err.Error(), "nothing was deleted") {
		t.Fatalf("err = %v", err)
	}
	for _, r := range g.requests {
		if strings.HasPrefix(r, "DELETE") {
			t.Errorf("sent %s", r)
		}
	}
}

func TestAlreadyGoneIsSuccess(t *testing.T) {
	g, srv := newFakeGraph(t, map[string]string{}, map[string]string{})
	msg, err := Delete(context.Background(), &staticCred{}, Target{GraphEndpoint: srv.URL, ObjectID: objectID, ClientID: clientID}, true, nil)
	if err != nil || !strings.Contains(msg, "nothing to purge") {
		t.Fatalf("msg %q err %v", msg, err)
	}
	for _, r := range g.requests {
		if strings.HasPrefix(r, "DELETE") {
			t.Errorf("sent %s", r)
		}
	}
}

// TestLocalAppTarget: local mode's app registration is read from its own outputs and checked
// against its own client id; a missing output is "nothing recorded", named in the message.
func TestLocalAppTarget(t *testing.T) {
	_, err := LocalTargetFromEnv(env(map[string]string{"ENTRA_APP_OBJECT_ID": objectID, "ENTRA_APP_CLIENT_ID": clientID}))
	if !errors.Is(err, ErrNothingRecorded) || !strings.Contains(err.Error(), "ENTRA_LOCAL_APP_OBJECT_ID") {
		t.Fatalf("err = %v, want ErrNothingRecorded naming ENTRA_LOCAL_APP_OBJECT_ID", err)
	}
	g, srv := newFakeGraph(t, map[string]string{objectID: clientID, otherApp: "other"}, map[string]string{})
	tgt, err := LocalTargetFromEnv(env(map[string]string{"MICROSOFT_GRAPH_ENDPOINT": srv.URL,
		"ENTRA_LOCAL_APP_OBJECT_ID": otherApp, "ENTRA_LOCAL_CLIENT_ID": clientID}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Delete(context.Background(), &staticCred{}, tgt, false, nil); err == nil || !strings.Contains(err.Error(), "nothing was deleted") {
		t.Fatalf("object with another client id: %v", err)
	}
	tgt.ObjectID = objectID
	if _, err := Delete(context.Background(), &staticCred{}, tgt, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := g.apps[objectID]; ok || g.apps[otherApp] != "other" {
		t.Fatalf("apps after delete: %v", g.apps)
	}
}
