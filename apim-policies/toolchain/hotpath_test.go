package toolchain

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// backendCalls are the policy elements that cost a request beyond the forward: an HTTP call,
// a cache round trip, or a token fetch.
var backendCalls = []string{"send-request", "send-one-way-request", "cache-lookup", "cache-lookup-value",
	"cache-store", "cache-store-value", "cache-remove-value", "authentication-managed-identity",
	"validate-jwt", "validate-azure-ad-token", "get-authorization-context"}

// hotPathCalls returns every backend-calling element that can run for a request to the API
// named api: the global policy, the API's policy, its operations' policies and, transitively,
// the fragments they include, each as "file:line <element>".
func hotPathCalls(m *Manifest, dir, api string) ([]string, error) {
	files := []string{}
	if m.GlobalPolicy != "" {
		files = append(files, m.GlobalPolicy)
	}
	for _, a := range m.APIs {
		if a.Name == api && a.Policy != "" {
			files = append(files, a.Policy)
		}
	}
	for _, o := range m.Operations {
		if o.API == api && o.Policy != "" {
			files = append(files, o.Policy)
		}
	}
	fragments := map[string]string{}
	for _, f := range m.Fragments {
		fragments[f.ID] = f.Policy
	}
	var found []string
	seen := map[string]bool{}
	for len(files) > 0 {
		file := files[0]
		files = files[1:]
		if seen[file] {
			continue
		}
		seen[file] = true
		root, err := ParseFile(filepath.Join(dir, file), file)
		if err != nil {
			return nil, err
		}
		var walkErr error
		walkNodes(root, func(n *Node) {
			if slices.Contains(backendCalls, n.Name) {
				found = append(found, fmt.Sprintf("%s:%d <%s>", file, n.Line, n.Name))
			}
			if n.Name == "include-fragment" {
				id, _ := n.Attr("fragment-id")
				f, ok := fragments[id.Value]
				if !ok {
					walkErr = fmt.Errorf("%s:%d includes unknown fragment %q", file, n.Line, id.Value)
				}
				files = append(files, f)
			}
		})
		if walkErr != nil {
			return nil, walkErr
		}
	}
	return found, nil
}

// The MCP hot path costs APIM no backend call besides the forward to the function: the MCP
// access token is self-contained and checked in the policy (docs/security-model.md, docs/
// performance.md). This fails as soon as a policy on /mcp, or a fragment it includes, adds a
// send-request, a cache lookup or a token fetch.
func TestMCPHotPathMakesNoBackendCall(t *testing.T) {
	dir := filepath.Join(sourceDir(), "..")
	m, _, err := LoadManifest(filepath.Join(dir, "gateway.json"))
	if err != nil {
		t.Fatal(err)
	}
	calls, err := hotPathCalls(m, dir, "mcp")
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) > 0 {
		t.Fatalf("the /mcp hot path must make no backend call besides the forward, found:\n%s", strings.Join(calls, "\n"))
	}
	// The check sees what it must: the OAuth API's policies do call the state service.
	if calls, err := hotPathCalls(m, dir, "oauth"); err != nil || len(calls) == 0 {
		t.Fatalf("the check found no backend call on the OAuth API (%v): it is not reading the policies", err)
	}
}
