package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"example.com/graphmcp/internal/azureerror"
)

// Target is the app registration to delete and how Microsoft Graph is reached.
type Target struct {
	GraphEndpoint string // e.g. https://graph.microsoft.com (MICROSOFT_GRAPH_ENDPOINT)
	ObjectID      string // ENTRA_APP_OBJECT_ID
	ClientID      string // ENTRA_APP_CLIENT_ID
	// ObjectIDVar and ClientIDVar name the azd environment values in messages; default the API
	// app's, ENTRA_APP_OBJECT_ID and ENTRA_APP_CLIENT_ID.
	ObjectIDVar, ClientIDVar string
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ErrNothingRecorded: the environment holds no app registration id, so there is nothing this hook
// may delete.
var ErrNothingRecorded = errors.New("no app registration object id in the azd environment")

// TargetFromEnv reads the API app registration infra/main.bicep recorded in the azd environment.
func TargetFromEnv(getenv func(string) string) (Target, error) {
	return targetFromEnv(getenv, "ENTRA_APP_OBJECT_ID", "ENTRA_APP_CLIENT_ID")
}

// LocalTargetFromEnv reads local mode's public-client app registration
// (infra/modules/entra-local.bicep) the same way.
func LocalTargetFromEnv(getenv func(string) string) (Target, error) {
	return targetFromEnv(getenv, "ENTRA_LOCAL_APP_OBJECT_ID", "ENTRA_LOCAL_CLIENT_ID")
}

func targetFromEnv(getenv func(string) string, objectIDVar, clientIDVar string) (Target, error) {
	t := Target{GraphEndpoint: getenv("MICROSOFT_GRAPH_ENDPOINT"), ObjectID: getenv(objectIDVar), ClientID: getenv(clientIDVar),
		ObjectIDVar: objectIDVar, ClientIDVar: clientIDVar}
	if t.GraphEndpoint == "" {
		t.GraphEndpoint = "https://graph.microsoft.com"
	}
	return t, t.validate()
}

func (t Target) validate() error {
	objVar, clientVar := t.ObjectIDVar, t.ClientIDVar
	if objVar == "" {
		objVar, clientVar = "ENTRA_APP_OBJECT_ID", "ENTRA_APP_CLIENT_ID"
	}
	if t.ObjectID == "" {
		return fmt.Errorf("%w (%s): this environment never recorded that app registration (provisioned before the output existed, or never provisioned); nothing was deleted. If it did create one, delete it in the Entra admin center (App registrations → the app whose client id is %s)", ErrNothingRecorded, objVar, clientVar)
	}
	if !guidRE.MatchString(t.ObjectID) {
		return fmt.Errorf("%s is not a GUID (length %d); nothing was deleted", objVar, len(t.ObjectID))
	}
	if !guidRE.MatchString(t.ClientID) {
		return fmt.Errorf("%s is missing or not a GUID; without it the registration cannot be confirmed, so nothing was deleted", clientVar)
	}
	u, err := url.Parse(t.GraphEndpoint)
	if err != nil || u.Host == "" || u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return fmt.Errorf("MICROSOFT_GRAPH_ENDPOINT %q is not a bare https URL", t.GraphEndpoint)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
		return fmt.Errorf("MICROSOFT_GRAPH_ENDPOINT %q must use https", t.GraphEndpoint)
	}
	return nil
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// Options are the knobs of Delete; nil means defaults.
type Options struct {
	Client *http.Client // default: 30 s timeout
}

// Delete removes the app registration t names: GET it by object id, refuse unless it has the
// recorded client id, DELETE it. Entra then keeps it 30 days among deleted applications (restorable);
// with purge it is also removed from there, after the same check. An object that is already gone is
// success. The message says what was done.
func Delete(ctx context.Context, cred azcore.TokenCredential, t Target, purge bool, o *Options) (string, error) {
	if err := t.validate(); err != nil {
		return "", err
	}
	client := &http.Client{Timeout: 30 * time.Second}
	if o != nil && o.Client != nil {
		client = o.Client
	}
	base := strings.TrimSuffix(t.GraphEndpoint, "/")
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{base + "/.default"}})
	if err != nil {
		return "", fmt.Errorf("getting a Microsoft Graph token: %w; sign in with `azd auth login`", err)
	}
	call := func(method, path string) (int, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, method, base+path, nil)
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, fmt.Errorf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return resp.StatusCode, body, nil
	}
	// deleteChecked GETs path, confirms it is the recorded registration, and DELETEs it; found is
	// false when the object does not exist there.
	deleteChecked := func(path, what string) (found bool, err error) {
		status, body, err := call(http.MethodGet, path+"?$select=id,appId")
		if err != nil {
			return false, err
		}
		switch status {
		case http.StatusOK:
		case http.StatusNotFound:
			return false, nil
		default:
			return false, fmt.Errorf("reading %s %s: HTTP %d%s; nothing was deleted", what, t.ObjectID, status, graphCode(body))
		}
		var got struct {
			ID    string `json:"id"`
			AppID string `json:"appId"`
		}
		if err := json.Unmarshal(body, &got); err != nil || !strings.EqualFold(got.ID, t.ObjectID) || !strings.EqualFold(got.AppID, t.ClientID) {
			return false, fmt.Errorf("%s %s is not the app registration with client id %s this environment recorded; nothing was deleted", what, t.ObjectID, t.ClientID)
		}
		status, body, err = call(http.MethodDelete, path)
		if err != nil {
			return false, err
		}
		if status != http.StatusNoContent && status != http.StatusOK && status != http.StatusNotFound {
			return false, fmt.Errorf("deleting %s %s: HTTP %d%s; you need to own it or hold Application Administrator, or delete it in the Entra admin center", what, t.ObjectID, status, graphCode(body))
		}
		return true, nil
	}

	name := fmt.Sprintf("app registration %s (client id %s)", t.ObjectID, t.ClientID)
	deleted, err := deleteChecked("/v1.0/applications/"+t.ObjectID, "app registration")
	if err != nil {
		return "", err
	}
	msg := name + " deleted"
	if !deleted {
		msg = name + " is not among the active registrations (already deleted)"
	}
	if !purge {
		return msg + "; Entra keeps it 30 days among deleted applications (restorable there); `go run ./cmd/appcleanup -purge` removes it for good", nil
	}
	purged, err := deleteChecked("/v1.0/directory/deletedItems/"+t.ObjectID, "deleted app registration")
	if err != nil {
		return "", err
	}
	if !purged {
		return msg + "; nothing to purge among deleted applications", nil
	}
	return msg + " and purged", nil
}

// graphCode returns " (<Graph error code>)" or "": the message is not echoed (it could quote ids
// or names of other objects).
func graphCode(body []byte) string {
	if code, _ := azureerror.Parse(body); code != "" {
		return " (" + code + ")"
	}
	return ""
}
