package infracheck

import (
	"strings"
	"testing"
)

// Each check must catch the fault it exists for: these fixtures seed one fault per case and
// expect a message naming it (and a line, where there is one).

func expectProblems(t *testing.T, problems []string, want ...string) {
	t.Helper()
	for _, w := range want {
		found := false
		for _, p := range problems {
			if strings.Contains(p, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem mentions %q; got:\n%s", w, strings.Join(problems, "\n"))
		}
	}
	if len(problems) != len(want) {
		t.Errorf("got %d problems, want %d:\n%s", len(problems), len(want), strings.Join(problems, "\n"))
	}
}

func TestCheckNamedValuesCatchesFaults(t *testing.T) {
	m := &Manifest{}
	m.NamedValues = append(m.NamedValues,
		struct {
			Name   string `json:"name"`
			Secret bool   `json:"secret"`
		}{"plain-ok", false},
		struct {
			Name   string `json:"name"`
			Secret bool   `json:"secret"`
		}{"secret-without-vault", true},
		struct {
			Name   string `json:"name"`
			Secret bool   `json:"secret"`
		}{"vault-but-plain", false},
	)
	nv := BicepNamedValues{Plain: map[string]int{"plain-ok": 1}, Secrets: map[string]int{"vault-but-plain": 1}}
	policies := map[string]string{"op.xml": "<policies>\n<inbound>\n<set-header name=\"x\"><value>{{ghost}}</value></set-header>{{plain-ok}}\n</inbound>\n</policies>"}
	expectProblems(t, CheckNamedValues(m, policies, nv),
		"apim-policies/op.xml:3 uses {{ghost}}",
		`"secret-without-vault" is secret, but infra/modules/keyvault.bicep holds no secret`,
		`"vault-but-plain" is declared non-secret`)
}

func TestCheckHandlerSettingsCatchesFaults(t *testing.T) {
	mainBicep := "module f 'f.bicep' = {\n  params: {\n    handlerSettings: {\n      KNOWN: 'x'\n      TYPO_VAR: 'y'\n      FUNCTIONS_WORKER_RUNTIME: 'custom'\n    }\n  }\n}\n"
	vars := []Variable{
		{Name: "KNOWN", Required: true},
		{Name: "MISSING_REQUIRED", Required: true},
		{Name: "UNDOCUMENTED"},
		{Name: "OPTIONAL_WITH_DEFAULT", Default: "1"},
		{Name: "FUNCTIONS_WORKER_RUNTIME"},
	}
	expectProblems(t, CheckHandlerSettings(mainBicep, "", vars),
		"infra/main.bicep:5: handlerSettings sets TYPO_VAR",
		"requires MISSING_REQUIRED",
		"optional UNDOCUMENTED",
		"infra/main.bicep:6: FUNCTIONS_WORKER_RUNTIME must not be set on Flex")
}

func TestCheckRoutesCatchesFaults(t *testing.T) {
	mcp, _ := ParseFunctionJSON("mcp", []byte(`{"bindings":[{"type":"httpTrigger","direction":"in","authLevel":"function","route":"mcp"}]}`))
	internal, _ := ParseFunctionJSON("internal", []byte(`{"bindings":[{"type":"httpTrigger","direction":"in","authLevel":"anonymous","route":"internal/{*path}"}]}`))
	unused, _ := ParseFunctionJSON("unused", []byte(`{"bindings":[{"type":"httpTrigger","direction":"in","authLevel":"function","route":"old"}]}`))
	m := &Manifest{}
	policies := map[string]string{
		"mcp.xml":   `<set-backend-service base-url="{{function-base-url}}" /><rewrite-uri template="/mcp" />`,
		"state.xml": `<set-url>@("{{function-base-url}}/internal/v1/" + op)</set-url>`,
		"bad.xml":   "\n<set-url>{{function-base-url}}/nowhere</set-url>",
	}
	paths := GatewayBackendPaths(m, policies, nil)
	expectProblems(t, CheckRoutes([]Route{mcp, internal, unused}, paths),
		"apim-policies/bad.xml:2: the gateway calls the function at /nowhere",
		`functions/unused/function.json: route "old" is never called`,
		`functions/internal/function.json: authLevel "anonymous"`)
}

func TestCheckSecretsCatchesFaults(t *testing.T) {
	files := map[string]string{
		"infra/main.bicep": `@secure()
param apiKey string = 'default-value'

@secure()
param tokenSecret string

param adminPassword string

module f 'f.bicep' = {
  params: {
    handlerSettings: {
      SAFE: 'x'
      LEAK: tokenSecret
    }
  }
}

output exposed string = '${tokenSecret}-suffix'
output hostKey string = 'not really'
`,
	}
	params := []byte(`{"parameters":{"apiKey":{"value":"${API_KEY=abc}"},"tokenSecret":{"value":"${TOKEN_SECRET}"},"adminPassword":{"value":"x"},"stray":{"value":"1"}}}`)
	expectProblems(t, CheckSecrets(files, params, nil),
		"infra/main.bicep:2: @secure() parameter apiKey has a default",
		"infra/main.bicep:7: parameter adminPassword looks secret",
		"infra/main.bicep:13: app setting LEAK holds @secure() parameter tokenSecret",
		"infra/main.bicep:18: output exposed exposes @secure() parameter tokenSecret",
		"infra/main.bicep:19: output hostKey is named like a secret",
		"@secure() parameter apiKey must be exactly ${VAR}",
		"parameter stray is not declared")
}

func TestCheckNoKeyMaterialCatchesFaults(t *testing.T) {
	files := map[string]string{
		"infra/x.bicep": "// listKeys( in a comment is fine\nvar k = storage.listKeys().keys[0].value\nvar c = 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=${k}'\n",
		"azure.yaml":    "env:\n  COSMOS: primaryMasterKey\n",
	}
	expectProblems(t, CheckNoKeyMaterial(files),
		`azure.yaml:2: "primaryMasterKey"`,
		`infra/x.bicep:2: "listKeys("`,
		`infra/x.bicep:3: "DefaultEndpointsProtocol="`,
		`infra/x.bicep:3: "AccountKey="`)
}

func TestCheckFunctionKeySentCatchesFaults(t *testing.T) {
	policies := map[string]string{
		"ok.xml":  `<set-url>{{function-base-url}}/internal/v1/x</set-url><set-header name="x-functions-key"><value>{{function-key}}</value></set-header>`,
		"bad.xml": "\n\n<set-backend-service base-url=\"{{function-base-url}}\" />",
	}
	expectProblems(t, CheckFunctionKeySent(policies), "apim-policies/bad.xml:3 calls the function without {{function-key}}")
}

func TestCheckModuleWiringCatchesFaults(t *testing.T) {
	files := map[string]string{
		"infra/main.bicep": `module a 'modules/a.bicep' = {
  name: 'a'
  params: {
    known: 'x'
    typo: 'y'
  }
}

module gone 'modules/gone.bicep' = {
  name: 'gone'
}

output x string = a.outputs.missing
output y string = a.outputs.present
`,
		"infra/modules/a.bicep": "param known string\nparam required string\nparam optional string = ''\nparam nullable string?\n\noutput present string = known\n",
	}
	expectProblems(t, CheckModuleWiring(files),
		"infra/main.bicep:1: module a passes typo, which infra/modules/a.bicep does not declare",
		"infra/main.bicep:1: module a does not pass required",
		"infra/main.bicep:9: module gone refers to modules/gone.bicep, which does not exist",
		"infra/main.bicep:13: a.outputs.missing: infra/modules/a.bicep has no output missing")
}
