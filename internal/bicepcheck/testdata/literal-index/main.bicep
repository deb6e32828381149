// The shape of infra/modules/apim-gateway.bicep before the fix: loadJsonContent types
// globalPolicy as its literal '', and indexing the closed object policyXml with a literal that is
// not one of its keys is Bicep error BCP053 — in the branch the ternary never takes and in a
// resource whose condition is false alike.
param apimName string

var manifest = loadJsonContent('gateway.json')
var settings = loadYamlContent('settings.yaml')
var policyXml = {
  'mcp-api.xml': '<policies/>'
}

resource apim 'Microsoft.ApiManagement/service@2024-05-01' existing = {
  name: apimName
}

resource globalPolicy 'Microsoft.ApiManagement/service/policies@2024-05-01' = if (!empty(manifest.?globalPolicy ?? '')) {
  parent: apim
  name: 'policy'
  properties: {
    format: 'xml'
    value: empty(manifest.?globalPolicy ?? '') ? '' : policyXml[manifest.globalPolicy] // want `policyXml[manifest.globalPolicy]: the key manifest.globalPolicy has the literal type '', which is not a property of policyXml; it has mcp-api.xml (Bicep error BCP053)`
  }
}

// A loop variable's property is a union of literals ('mcp-api.xml' | ''): Bicep treats such an
// index as an expression and does not check it, and neither does the checker.
resource apiPolicies 'Microsoft.ApiManagement/service/apis/policies@2024-05-01' = [for a in manifest.apis: {
  name: '${apim.name}/${a.name}/policy'
  properties: {
    format: 'xml'
    value: policyXml[a.policy]
  }
}]

output mode string = settings.mode
output calls int = settings.limits.calls
output verbosity string = settings.verbosity // want `settings.verbosity: settings has no property "verbosity"; it has limits, mode (Bicep error BCP053)`
output literalKey string = policyXml['oauth-api.xml'] // want `the key 'oauth-api.xml' has the literal type 'oauth-api.xml', which is not a property of policyXml`
output inline string = { a: 'x' }.b // want `{...}.b: {...} has no property "b"`
output safe string = manifest.?missing ?? 'fine'
