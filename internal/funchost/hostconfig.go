package funchost

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// AuthLevel is a function's authorization level as written in function.json.
type AuthLevel string

// The levels the Functions host knows. "system" and "user" exist in the host's enum but are not
// valid in function.json for HTTP triggers, so they are rejected here.
const (
	AuthAnonymous AuthLevel = "anonymous"
	AuthFunction  AuthLevel = "function"
	AuthAdmin     AuthLevel = "admin"
)

// Function is one HTTP-triggered function the host routes to the custom handler.
type Function struct {
	Name      string
	Route     string    // full template including the route prefix, without leading "/"
	Methods   []string  // upper-case; empty = all methods
	AuthLevel AuthLevel // anonymous, function or admin
	template  *routeTemplate
}

// LoadFunctions reads host.json and the function folders under functionsDir (one folder per
// function holding function.json, as in the app root after packaging) and returns the HTTP
// functions in the order the host tries them (by name).
func LoadFunctions(hostJSONPath, functionsDir string) ([]Function, error) {
	hc, err := readHostJSON(hostJSONPath)
	if err != nil {
		return nil, err
	}
	var fns []Function
	if hc.ConfigurationProfile == "mcp-custom-handler" {
		// The profile synthesises one catch-all function and an empty route prefix; no
		// function.json is needed (facts: functions-custom-handler.md §3).
		fns = append(fns, Function{Name: "route0", Route: "{*route}", AuthLevel: hc.defaultLevel()})
	} else {
		if !hc.CustomHandler.EnableProxyingHttpRequest {
			return nil, fmt.Errorf("%s: customHandler.enableProxyingHttpRequest is not true; funchost models proxy mode only (set it, or use configurationProfile \"mcp-custom-handler\")", hostJSONPath)
		}
		for i, r := range hc.CustomHandler.HTTP.Routes {
			lvl := hc.defaultLevel()
			if r.AuthorizationLevel != "" {
				lvl = AuthLevel(strings.ToLower(r.AuthorizationLevel))
			}
			fns = append(fns, Function{Name: fmt.Sprintf("route%d", i), Route: r.Route, AuthLevel: lvl})
		}
		fromDir, err := readFunctionDirs(functionsDir)
		if err != nil {
			return nil, err
		}
		fns = append(fns, fromDir...)
	}
	prefix := strings.Trim(hc.routePrefix(), "/")
	for i := range fns {
		f := &fns[i]
		if err := validLevel(f.AuthLevel); err != nil {
			return nil, fmt.Errorf("function %s: %w", f.Name, err)
		}
		route := strings.Trim(f.Route, "/")
		if prefix != "" {
			route = strings.Trim(prefix+"/"+route, "/")
		}
		f.Route = route
		t, err := parseRouteTemplate(route)
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", f.Name, err)
		}
		f.template = t
	}
	sort.SliceStable(fns, func(i, j int) bool { return strings.ToLower(fns[i].Name) < strings.ToLower(fns[j].Name) })
	if len(fns) == 0 {
		return nil, errors.New("no HTTP functions found: add functions/<name>/function.json with an httpTrigger binding")
	}
	return fns, nil
}

// hostJSON holds the host.json keys that influence HTTP routing. encoding/json matches keys
// case-insensitively, as the host's configuration binder does.
type hostJSON struct {
	Version              string `json:"version"`
	ConfigurationProfile string `json:"configurationProfile"`
	Extensions           struct {
		HTTP struct {
			RoutePrefix *string `json:"routePrefix"`
		} `json:"http"`
	} `json:"extensions"`
	CustomHandler struct {
		EnableProxyingHttpRequest bool `json:"enableProxyingHttpRequest"`
		HTTP                      struct {
			DefaultAuthorizationLevel string `json:"defaultAuthorizationLevel"`
			Routes                    []struct {
				Route              string `json:"route"`
				AuthorizationLevel string `json:"authorizationLevel"`
			} `json:"routes"`
		} `json:"http"`
	} `json:"customHandler"`
}

func (h *hostJSON) routePrefix() string {
	if h.ConfigurationProfile == "mcp-custom-handler" {
		return ""
	}
	if h.Extensions.HTTP.RoutePrefix == nil {
		return "api" // the host's default
	}
	return *h.Extensions.HTTP.RoutePrefix
}

func (h *hostJSON) defaultLevel() AuthLevel {
	if h.CustomHandler.HTTP.DefaultAuthorizationLevel == "" {
		return AuthFunction
	}
	return AuthLevel(strings.ToLower(h.CustomHandler.HTTP.DefaultAuthorizationLevel))
}

func readHostJSON(path string) (*hostJSON, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read host.json: %w", err)
	}
	var hc hostJSON
	if err := json.Unmarshal(b, &hc); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON: %w", path, err)
	}
	if hc.Version != "2.0" {
		return nil, fmt.Errorf("%s: version is %q; the Functions v4 host requires \"2.0\"", path, hc.Version)
	}
	switch hc.ConfigurationProfile {
	case "", "default", "mcp-custom-handler", "web-app-custom-handler":
	default:
		return nil, fmt.Errorf("%s: unknown configurationProfile %q (the host accepts '', default, mcp-custom-handler, web-app-custom-handler)", path, hc.ConfigurationProfile)
	}
	return &hc, nil
}

type functionJSON struct {
	Disabled bool `json:"disabled"`
	Bindings []struct {
		Type      string   `json:"type"`
		Direction string   `json:"direction"`
		AuthLevel string   `json:"authLevel"`
		Methods   []string `json:"methods"`
		Route     string   `json:"route"`
	} `json:"bindings"`
}

func readFunctionDirs(dir string) ([]Function, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read function folders: %w", err)
	}
	var fns []Function
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		path := filepath.Join(dir, e.Name(), "function.json")
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue // not a function folder
		}
		if err != nil {
			return nil, err
		}
		var fj functionJSON
		if err := json.Unmarshal(b, &fj); err != nil {
			return nil, fmt.Errorf("%s is not valid JSON: %w", path, err)
		}
		if fj.Disabled {
			continue
		}
		for _, b := range fj.Bindings {
			if !strings.EqualFold(b.Type, "httpTrigger") {
				continue
			}
			f := Function{Name: e.Name(), Route: b.Route, AuthLevel: AuthLevel(strings.ToLower(b.AuthLevel))}
			if f.Route == "" {
				f.Route = e.Name() // the host's default route is the function name
			}
			if f.AuthLevel == "" {
				f.AuthLevel = AuthFunction
			}
			for _, m := range b.Methods {
				f.Methods = append(f.Methods, strings.ToUpper(m))
			}
			fns = append(fns, f)
			break
		}
	}
	return fns, nil
}

func validLevel(l AuthLevel) error {
	switch l {
	case AuthAnonymous, AuthFunction, AuthAdmin:
		return nil
	}
	return fmt.Errorf("authLevel %q is not one of anonymous, function, admin", l)
}

// allows reports whether the function accepts the method (the host's HttpMethodRouteConstraint).
func (f *Function) allows(method string) bool {
	if len(f.Methods) == 0 {
		return true
	}
	for _, m := range f.Methods {
		if strings.EqualFold(m, method) {
			return true
		}
	}
	return false
}
