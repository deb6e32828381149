package bicepcheck_test

import (
	"fmt"

	"example.com/graphmcp/internal/bicepcheck"
)

// Check reports each finding with its file and line, the type path and what is wrong.
func ExampleCheck() {
	ts, err := bicepcheck.LoadVendored()
	if err != nil {
		panic(err)
	}
	findings, err := bicepcheck.Check(ts, "testdata/wrong-enum", []string{"main.bicep"})
	if err != nil {
		panic(err)
	}
	for _, f := range findings {
		fmt.Println(f)
	}
	// Output:
	// main.bicep:12: Microsoft.KeyVault/vaults@2023-07-01 properties.sku.name: 'gold' is not one of 'standard', 'premium'
	// main.bicep:14: Microsoft.KeyVault/vaults@2023-07-01 properties.createMode: 'Default' is not one of 'recover', 'default' (did you mean 'default'?)
}
