package infracheck

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPerCloudMapsFailBeforeDeployment: see CheckCloudMaps.
func TestPerCloudMapsFailBeforeDeployment(t *testing.T) {
	r := loadRepo(t)
	report(t, CheckCloudMaps(r.bicep))
}

func TestCheckCloudMapsCatchesFaults(t *testing.T) {
	good := `@description('x')
@allowed([ 'AzureCloud', 'AzureUSGovernment' ])
param cloud string = environment().name
var audiences = {
  AzureCloud: 'a'
  AzureUSGovernment: 'b'
}
var audience = audiences[cloud]
`
	if p := CheckCloudMaps(map[string]string{"infra/main.bicep": good}); len(p) != 0 {
		t.Fatalf("good fixture: %v", p)
	}
	expectProblems(t, CheckCloudMaps(map[string]string{
		"infra/main.bicep":      strings.NewReplacer("  AzureUSGovernment: 'b'\n", "", "audiences[cloud]", "audiences[environment().name]").Replace(good),
		"infra/modules/n.bicep": "var zones = {\n  AzureCloud: 'z'\n}\n",
	}),
		"infra/main.bicep:7: indexes a map with environment().name",
		"infra/main.bicep:4: per-cloud map audiences has keys [AzureCloud], but param cloud allows [AzureCloud AzureUSGovernment]",
		"infra/main.bicep:7: audiences[environment().name]: index per-cloud maps with `cloud`",
		"infra/modules/n.bicep:1: per-cloud map zones belongs in main.bicep")
	expectProblems(t, CheckCloudMaps(map[string]string{"infra/main.bicep": strings.Replace(good, "param cloud string = environment().name", "param cloud string", 1)}),
		"infra/main.bicep: no `@allowed([ ... ]) param cloud string = environment().name`")
}

// TestBackendDescriptionIsNeverEmpty: API Management requires a backend description of at least
// one character (the vendored type definition says minLength 1), so the description a backend gets
// when the manifest gives none must not be ”.
func TestBackendDescriptionIsNeverEmpty(t *testing.T) {
	r := loadRepo(t)
	raw, err := os.ReadFile(filepath.Join(r.root, "internal", "bicepcheck", "types", "apimanagement_microsoft.apimanagement_2024-05-01.json"))
	if err != nil {
		t.Fatal(err)
	}
	var types []map[string]any
	if err := json.Unmarshal(raw, &types); err != nil {
		t.Fatal(err)
	}
	minLength := -1.0
	for _, ty := range types {
		if ty["name"] != "BackendContractProperties" {
			continue
		}
		ref := ty["properties"].(map[string]any)["description"].(map[string]any)["type"].(map[string]any)["$ref"].(string)
		var i int
		if _, err := fmtSscanRef(ref, &i); err != nil {
			t.Fatal(err)
		}
		if v, ok := types[i]["minLength"].(float64); ok {
			minLength = v
		}
	}
	if minLength < 1 {
		t.Fatalf("the type definitions no longer require a backend description (minLength %v); revisit this test", minLength)
	}

	const gw = "infra/modules/apim-gateway.bicep"
	for _, d := range Resources(r.src(t, gw)) {
		if d.Type != "Microsoft.ApiManagement/service/backends" {
			continue
		}
		m := regexp.MustCompile(`(?m)^\s*description:\s*(.+)$`).FindStringSubmatch(d.Body)
		if m == nil {
			t.Fatalf("%s:%d: the backend sets no description", gw, d.Line)
		}
		if want := "empty(b.?description ?? '') ? b.id : b.description"; strings.TrimSpace(m[1]) != want {
			t.Errorf("%s:%d: backend description is %q, want %q (the id when the manifest has none: never '')", gw, d.Line, m[1], want)
		}
	}
	for _, b := range r.manifest.Backends {
		if b.ID == "" {
			t.Errorf("%s: a backend without an id would get an empty description", ManifestPath)
		}
	}
}

func fmtSscanRef(ref string, i *int) (int, error) {
	return fmt.Sscanf(strings.TrimPrefix(ref, "#/"), "%d", i)
}
