package toolchain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Manifest is apim-policies/gateway.json: the single description of the gateway that the checker,
// the emulator and the Bicep templates (through loadJsonContent) all read. It is kept to plain
// arrays of objects because Bicep loops over arrays but cannot easily walk nested maps.
type Manifest struct {
	// NamedValues are the {{name}} placeholders the policies use. Secret ones are backed by Key Vault in Azure.
	NamedValues []NamedValue `json:"namedValues"`
	// Backends are APIM backend entities, referenced by set-backend-service backend-id or an API's backendId.
	Backends []Backend `json:"backends"`
	// GlobalPolicy is the all-APIs policy file (relative to the manifest), or "" for APIM's default
	// (forward-request in backend, nothing else).
	GlobalPolicy string `json:"globalPolicy"`
	// Fragments are policy fragments, included with <include-fragment fragment-id="..."/>.
	Fragments []Fragment `json:"fragments"`
	// APIs are the APIs with their path suffix and API-level policy.
	APIs []API `json:"apis"`
	// Operations are the operations of all APIs (flat, each naming its API) with their policy files.
	Operations []Operation `json:"operations"`
}

// NamedValue is an APIM named value.
type NamedValue struct {
	Name        string `json:"name"`
	Secret      bool   `json:"secret"`
	Description string `json:"description"`
}

// Backend is an APIM backend entity.
type Backend struct {
	ID          string `json:"id"`
	URL         string `json:"url"`
	Description string `json:"description"`
}

// Fragment is a policy fragment.
type Fragment struct {
	ID          string `json:"id"`
	Policy      string `json:"policy"`
	Description string `json:"description"`
}

// API is one APIM API. Requests match it when their path starts with /Path.
type API struct {
	Name                 string   `json:"name"`
	DisplayName          string   `json:"displayName"`
	Path                 string   `json:"path"`
	BackendID            string   `json:"backendId"`
	ServiceURL           string   `json:"serviceUrl"`
	Policy               string   `json:"policy"`
	SubscriptionRequired bool     `json:"subscriptionRequired"`
	Protocols            []string `json:"protocols"`
}

// Operation is one API operation: method + URL template (relative to the API path).
type Operation struct {
	API                string              `json:"api"`
	Name               string              `json:"name"`
	DisplayName        string              `json:"displayName"`
	Method             string              `json:"method"`
	URLTemplate        string              `json:"urlTemplate"`
	TemplateParameters []TemplateParameter `json:"templateParameters"`
	Policy             string              `json:"policy"`
}

// TemplateParameter declares a {name} segment of a URL template, in the shape ARM expects.
type TemplateParameter struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Required bool   `json:"required"`
}

// PolicyFile is one policy document the manifest references, with the scope it is used at.
type PolicyFile struct {
	Path  string // relative to the manifest directory, slash-separated
	Scope Scope
}

// Scope is where a policy document applies; it decides which sections and <base/> rules hold.
type Scope string

const (
	ScopeGlobal    Scope = "global"
	ScopeAPI       Scope = "api"
	ScopeOperation Scope = "operation"
	ScopeFragment  Scope = "fragment"
)

// LoadManifest reads and validates gateway.json structurally (file existence is checked by Check).
func LoadManifest(path string) (*Manifest, []byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, Diagnostics{{File: path, Msg: "cannot read the manifest: " + err.Error()}}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		line := 1
		if se, ok := err.(*json.SyntaxError); ok {
			line += bytes.Count(raw[:se.Offset], []byte("\n"))
		}
		return nil, raw, Diagnostics{{File: path, Line: line, Msg: "invalid manifest JSON: " + err.Error()}}
	}
	return &m, raw, nil
}

// Files lists every policy document the manifest references.
func (m *Manifest) Files() []PolicyFile {
	var fs []PolicyFile
	if m.GlobalPolicy != "" {
		fs = append(fs, PolicyFile{m.GlobalPolicy, ScopeGlobal})
	}
	for _, a := range m.APIs {
		if a.Policy != "" {
			fs = append(fs, PolicyFile{a.Policy, ScopeAPI})
		}
	}
	for _, o := range m.Operations {
		if o.Policy != "" {
			fs = append(fs, PolicyFile{o.Policy, ScopeOperation})
		}
	}
	for _, f := range m.Fragments {
		fs = append(fs, PolicyFile{f.Policy, ScopeFragment})
	}
	return fs
}

var (
	namedValueName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,256}$`)
	entityName     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,79}$`)
	templateParam  = regexp.MustCompile(`\{([^{}/?]+)\}`)
	httpMethods    = map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "HEAD": true, "OPTIONS": true, "TRACE": true}
)

// validate checks the manifest's own consistency; dir is where relative policy paths resolve.
func (m *Manifest) validate(file string, raw []byte, dir string) Diagnostics {
	var ds Diagnostics
	at := func(needle string, format string, args ...any) {
		ds = append(ds, Diagnostic{File: file, Line: lineOf(raw, needle), Msg: fmt.Sprintf(format, args...)})
	}
	seen := map[string]bool{}
	for _, nv := range m.NamedValues {
		if !namedValueName.MatchString(nv.Name) {
			at(nv.Name, "named value %q: names use letters, digits, '.', '-' and '_' only", nv.Name)
		}
		if seen["nv:"+nv.Name] {
			at(nv.Name, "named value %q is declared twice", nv.Name)
		}
		seen["nv:"+nv.Name] = true
	}
	for _, b := range m.Backends {
		if !entityName.MatchString(b.ID) {
			at(b.ID, "backend id %q: use letters, digits and '-'", b.ID)
		}
		if !strings.HasPrefix(b.URL, "https://") && !strings.HasPrefix(b.URL, "http://") {
			at(b.ID, "backend %q: url must be an absolute http(s) URL", b.ID)
		}
		if seen["be:"+b.ID] {
			at(b.ID, "backend %q is declared twice", b.ID)
		}
		seen["be:"+b.ID] = true
	}
	for _, f := range m.Fragments {
		if !entityName.MatchString(f.ID) {
			at(f.ID, "fragment id %q: use letters, digits and '-'", f.ID)
		}
		if seen["fr:"+f.ID] {
			at(f.ID, "fragment %q is declared twice", f.ID)
		}
		seen["fr:"+f.ID] = true
		if f.Policy == "" {
			at(f.ID, "fragment %q has no policy file", f.ID)
		}
	}
	paths := map[string]bool{}
	for _, a := range m.APIs {
		if !entityName.MatchString(a.Name) {
			at(a.Name, "api name %q: use letters, digits and '-'", a.Name)
		}
		if seen["api:"+a.Name] {
			at(a.Name, "api %q is declared twice", a.Name)
		}
		seen["api:"+a.Name] = true
		if strings.HasPrefix(a.Path, "/") || strings.HasSuffix(a.Path, "/") {
			at(a.Name, "api %q: path %q must not start or end with '/' (APIM stores the suffix bare; \"\" is the root)", a.Name, a.Path)
		}
		if paths[a.Path] {
			at(a.Name, "api %q: path %q is used by another API", a.Name, a.Path)
		}
		paths[a.Path] = true
		if a.BackendID != "" && !seen["be:"+a.BackendID] {
			at(a.Name, "api %q: backendId %q is not a declared backend", a.Name, a.BackendID)
		}
		if a.BackendID != "" && a.ServiceURL != "" {
			at(a.Name, "api %q: set either backendId or serviceUrl, not both", a.Name)
		}
		if a.SubscriptionRequired {
			at(a.Name, "api %q: subscriptionRequired must be false (MCP clients authenticate with OAuth, not subscription keys)", a.Name)
		}
	}
	ops := map[string]bool{}
	for _, o := range m.Operations {
		if !seen["api:"+o.API] {
			at(o.Name, "operation %q: api %q is not declared", o.Name, o.API)
		}
		if !entityName.MatchString(o.Name) {
			at(o.Name, "operation name %q: use letters, digits and '-'", o.Name)
		}
		if ops[o.API+"/"+o.Name] {
			at(o.Name, "operation %q is declared twice in api %q", o.Name, o.API)
		}
		ops[o.API+"/"+o.Name] = true
		if !httpMethods[o.Method] && o.Method != "*" {
			at(o.Name, "operation %q: method %q is not an upper-case HTTP method", o.Name, o.Method)
		}
		if !strings.HasPrefix(o.URLTemplate, "/") {
			at(o.Name, "operation %q: urlTemplate %q must start with '/'", o.Name, o.URLTemplate)
		}
		declared := map[string]bool{}
		for _, p := range o.TemplateParameters {
			declared[p.Name] = true
		}
		for _, mm := range templateParam.FindAllStringSubmatch(o.URLTemplate, -1) {
			name := strings.TrimPrefix(mm[1], "*")
			if !declared[name] {
				at(o.Name, "operation %q: template parameter {%s} needs an entry in templateParameters (APIM rejects the operation otherwise)", o.Name, name)
			}
			delete(declared, name)
		}
		for name := range declared {
			at(o.Name, "operation %q: templateParameters entry %q does not appear in urlTemplate", o.Name, name)
		}
	}
	for _, pf := range m.Files() {
		if filepath.IsAbs(pf.Path) || strings.Contains(pf.Path, "..") || strings.Contains(pf.Path, `\`) {
			at(pf.Path, "policy path %q must be relative, slash-separated and inside apim-policies/", pf.Path)
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, pf.Path)); err != nil {
			at(pf.Path, "policy file %q does not exist", pf.Path)
		}
	}
	return ds
}

func lineOf(raw []byte, needle string) int {
	if needle == "" {
		return 1
	}
	i := bytes.Index(raw, []byte(`"`+needle+`"`))
	if i < 0 {
		return 1
	}
	return 1 + bytes.Count(raw[:i], []byte("\n"))
}
