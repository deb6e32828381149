package infracheck

import (
	"reflect"
	"testing"
)

const scannerFixture = `// header with a { brace and a 'quote
@description('a \'quoted\' description { with braces')
param plain string = 'x'

@secure()
@description('secret')
param secret string

@secure()
param leaky string = 'oops'

var list = [
  'one' // trailing comment
  // a comment line 'two'
  'three'
]

module m 'x.bicep' = {
  params: {
    settings: {
      A: 'a'
      'b-c': concat('{', '}')
      /* block
         comment: 'no' */
      D: {
        nested: true
      }
    }
  }
}

output url string = 'https://${m.name}'
output obj object = {
  k: loadTextContent('../p.xml')
}
`

func TestScannerParams(t *testing.T) {
	got := Params(scannerFixture)
	want := []Param{
		{Name: "plain", Type: "string", HasDefault: true, Default: "'x'", Line: 3},
		{Name: "secret", Type: "string", Secure: true, Line: 7},
		{Name: "leaky", Type: "string", Secure: true, HasDefault: true, Default: "'oops'", Line: 10},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Params =\n%+v\nwant\n%+v", got, want)
	}
}

func TestScannerObjectEntries(t *testing.T) {
	got, err := ObjectEntries(scannerFixture, "settings")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range got {
		keys = append(keys, e.Key)
	}
	if want := []string{"A", "b-c", "D"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("keys = %q, want %q", keys, want)
	}
	if got[0].Line != 21 {
		t.Errorf("A on line %d, want 21", got[0].Line)
	}
	if _, err := ObjectEntries(scannerFixture, "absent"); err == nil {
		t.Error("a missing object must be an error")
	}
}

func TestScannerStringArrayAndOutputs(t *testing.T) {
	arr, err := StringArray(scannerFixture, "list")
	if err != nil {
		t.Fatal(err)
	}
	if len(arr) != 2 || arr[0].Key != "one" || arr[1].Key != "three" {
		t.Errorf("StringArray = %+v, want one and three (comments skipped)", arr)
	}
	outs := Outputs(scannerFixture)
	if len(outs) != 2 || outs[0].Name != "url" || outs[1].Name != "obj" {
		t.Fatalf("Outputs = %+v", outs)
	}
	if want := "{\n  k: loadTextContent('../p.xml')\n}"; outs[1].Expr != want {
		t.Errorf("multi-line output expression = %q, want %q", outs[1].Expr, want)
	}
	loads := LoadPaths(scannerFixture)
	if len(loads) != 1 || loads[0].Key != "../p.xml" || loads[0].Line != 34 {
		t.Errorf("LoadPaths = %+v", loads)
	}
}

func TestGeneratedPolicyMap(t *testing.T) {
	src := "a\n" + beginPolicyMap + "old\n" + endPolicyMap + "b\n"
	body := GeneratedPolicyMap([]string{"mcp/api.xml", "global.xml"})
	out, err := ReplaceGenerated(src, body)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := Generated(out)
	if got != body {
		t.Errorf("round trip: %q", got)
	}
	want := "var policyXml = {\n  'mcp/api.xml': loadTextContent('../../apim-policies/mcp/api.xml')\n  'global.xml': loadTextContent('../../apim-policies/global.xml')\n}\n"
	if body != want {
		t.Errorf("body = %q, want %q", body, want)
	}
	if _, err := ReplaceGenerated("no markers", body); err == nil {
		t.Error("missing markers must be an error")
	}
}
