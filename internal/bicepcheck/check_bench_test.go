package bicepcheck

import "testing"

// BenchmarkCheckInfra measures what TestInfraTypeChecks costs: loading the embedded definitions
// and checking every file under infra/.
func BenchmarkCheckInfra(b *testing.B) {
	root, files, _ := infraFiles(b)
	for b.Loop() {
		ts, err := LoadVendored()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Check(ts, root, files); err != nil {
			b.Fatal(err)
		}
	}
}
