// The fixed shape of infra/modules/apim-gateway.bicep: any() makes the key an expression.
param apimName string

var manifest = loadJsonContent('gateway.json')
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
    value: empty(manifest.?globalPolicy ?? '') ? '' : policyXml[any(manifest.globalPolicy)]
  }
}
