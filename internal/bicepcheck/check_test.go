package bicepcheck

import (
	"testing"
)

// vendoredTypes loads the embedded definitions once per test binary.
func vendoredTypes(t *testing.T) *Types {
	t.Helper()
	ts, err := LoadVendored()
	if err != nil {
		t.Fatalf("loading the vendored type definitions: %v", err)
	}
	return ts
}

// TestInfraTypeChecks: every .bicep file under infra/ type-checks against the vendored
// definitions with zero findings.
func TestInfraTypeChecks(t *testing.T) {
	root, files, _ := infraFiles(t)
	findings, err := Check(vendoredTypes(t), root, files)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Errorf("infra/%s", f)
	}
}
