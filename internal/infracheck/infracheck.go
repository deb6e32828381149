// Package infracheck holds the offline checks of the deployment artefacts — infra/*.bicep,
// infra/main.parameters.json, azure.yaml, host.json, functions/*/function.json — against each other
// and against the code they deploy: the APIM manifest and policy files (apim-policies/), the
// handler's environment contract (handler/config.Variables) and its tools' Graph permissions
// (handler/graphtools). The Bicep compiler cannot run offline, so the checks read Bicep as text with
// the small scanner in bicep.go (enough for the project's own, conventionally formatted files) and
// parse it for syntax with tree-sitter-bicep through e2e/bicep-parse.mjs. Type checking against the
// resource type definitions is internal/bicepcheck's.
//
// Everything lives in tests (go test ./internal/infracheck); each failure names the file, the
// line where it can, and what to change. None of it proves deployability: only `azd provision`
// (or `az deployment sub what-if`) against Azure does; infra/README.md lists what is left to it.
package infracheck

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Manifest is the subset of apim-policies/gateway.json the infrastructure consumes (the policy
// toolchain owns the full schema and validates it).
type Manifest struct {
	NamedValues []struct {
		Name   string `json:"name"`
		Secret bool   `json:"secret"`
	} `json:"namedValues"`
	Backends []struct {
		ID  string `json:"id"`
		URL string `json:"url"`
	} `json:"backends"`
	GlobalPolicy string `json:"globalPolicy"`
	Fragments    []struct {
		ID     string `json:"id"`
		Policy string `json:"policy"`
	} `json:"fragments"`
	APIs []struct {
		Name       string `json:"name"`
		Path       string `json:"path"`
		BackendID  string `json:"backendId"`
		ServiceURL string `json:"serviceUrl"`
		Policy     string `json:"policy"`
	} `json:"apis"`
	Operations []struct {
		API         string `json:"api"`
		Name        string `json:"name"`
		Method      string `json:"method"`
		URLTemplate string `json:"urlTemplate"`
		Policy      string `json:"policy"`
	} `json:"operations"`
}

// ManifestPath is the manifest's location relative to the repository root.
const ManifestPath = "apim-policies/gateway.json"

// LoadManifest reads the manifest under root.
func LoadManifest(root string) (*Manifest, error) {
	raw, err := os.ReadFile(filepath.Join(root, ManifestPath))
	if err != nil {
		return nil, fmt.Errorf("%s: %w (the policy toolchain creates it; Bicep loads it with loadJsonContent)", ManifestPath, err)
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestPath, err)
	}
	return &m, nil
}

// PolicyFiles lists every policy document the manifest references, relative to apim-policies/,
// sorted and without duplicates.
func (m *Manifest) PolicyFiles() []string {
	set := map[string]bool{}
	if m.GlobalPolicy != "" {
		set[m.GlobalPolicy] = true
	}
	for _, f := range m.Fragments {
		set[f.Policy] = true
	}
	for _, a := range m.APIs {
		if a.Policy != "" {
			set[a.Policy] = true
		}
	}
	for _, o := range m.Operations {
		if o.Policy != "" {
			set[o.Policy] = true
		}
	}
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// GeneratedPolicyMap is the body of the generated block in infra/modules/apim-gateway.bicep: one
// loadTextContent per policy file, keyed by its manifest path (Bicep needs literal paths).
func GeneratedPolicyMap(files []string) string {
	if len(files) == 0 {
		return "var policyXml = {}\n"
	}
	var b strings.Builder
	b.WriteString("var policyXml = {\n")
	for _, f := range files {
		fmt.Fprintf(&b, "  '%s': loadTextContent('../../apim-policies/%s')\n", f, f)
	}
	b.WriteString("}\n")
	return b.String()
}

// Generated-block markers in apim-gateway.bicep.
const (
	beginPolicyMap = "// BEGIN GENERATED policyXml (internal/infracheck)\n"
	endPolicyMap   = "// END GENERATED policyXml\n"
)

// ReplaceGenerated returns src with the text between the policy-map markers replaced by body.
func ReplaceGenerated(src, body string) (string, error) {
	i := strings.Index(src, beginPolicyMap)
	j := strings.Index(src, endPolicyMap)
	if i < 0 || j < i {
		return "", fmt.Errorf("markers %q and %q not found", strings.TrimSpace(beginPolicyMap), strings.TrimSpace(endPolicyMap))
	}
	return src[:i+len(beginPolicyMap)] + body + src[j:], nil
}

// Generated returns the current text between the policy-map markers.
func Generated(src string) (string, error) {
	i := strings.Index(src, beginPolicyMap)
	j := strings.Index(src, endPolicyMap)
	if i < 0 || j < i {
		return "", fmt.Errorf("markers %q and %q not found", strings.TrimSpace(beginPolicyMap), strings.TrimSpace(endPolicyMap))
	}
	return src[i+len(beginPolicyMap) : j], nil
}
