// Everything inside the API Management instance that apim-policies/ describes: named values,
// backends, policy fragments, the global policy, APIs, operations and their policies. The manifest
// apim-policies/gateway.json is the single source of truth (the policy toolchain and the emulator
// read the same file), so this module only supplies what the manifest cannot know: the values of
// named values and the URLs of backends in this deployment.
//
// Policy files are loaded with loadTextContent and deployed with format 'xml' (they are well-formed
// XML; the toolchain enforces it). Bicep needs each loadTextContent path as a literal, hence the
// generated policyXml map below; internal/infracheck regenerates it from the manifest
// (`go test ./internal/infracheck -run TestPolicyFileMap -update`) and fails when it is stale.

param apimName string
@description('Values of the non-secret named values, by name.')
param plainValues object
@description('Key Vault URI (https://<vault>.vault.azure.net/); a secret named value reads the secret of the same name.')
param keyVaultUri string
@description('Client id of the user-assigned identity that reads Key Vault; empty = API Management\'s system-assigned identity (required behind a vault firewall).')
param keyVaultIdentityClientId string = ''
@description('Backend URLs in this deployment, by backend id.')
param backendUrls object

var manifest = loadJsonContent('../../apim-policies/gateway.json')

// BEGIN GENERATED policyXml (internal/infracheck)
var policyXml = {
  'authorization-server-metadata.xml': loadTextContent('../../apim-policies/authorization-server-metadata.xml')
  'authorize.xml': loadTextContent('../../apim-policies/authorize.xml')
  'consent-post.xml': loadTextContent('../../apim-policies/consent-post.xml')
  'consent.xml': loadTextContent('../../apim-policies/consent.xml')
  'fragments/api-error.xml': loadTextContent('../../apim-policies/fragments/api-error.xml')
  'fragments/audit.xml': loadTextContent('../../apim-policies/fragments/audit.xml')
  'fragments/authorize-check.xml': loadTextContent('../../apim-policies/fragments/authorize-check.xml')
  'fragments/authz-query.xml': loadTextContent('../../apim-policies/fragments/authz-query.xml')
  'fragments/client-lookup.xml': loadTextContent('../../apim-policies/fragments/client-lookup.xml')
  'fragments/consent-page.xml': loadTextContent('../../apim-policies/fragments/consent-page.xml')
  'fragments/cookie-sign.xml': loadTextContent('../../apim-policies/fragments/cookie-sign.xml')
  'fragments/cookies-read.xml': loadTextContent('../../apim-policies/fragments/cookies-read.xml')
  'fragments/entra-token.xml': loadTextContent('../../apim-policies/fragments/entra-token.xml')
  'fragments/page-style.xml': loadTextContent('../../apim-policies/fragments/page-style.xml')
  'fragments/random.xml': loadTextContent('../../apim-policies/fragments/random.xml')
  'fragments/read-params.xml': loadTextContent('../../apim-policies/fragments/read-params.xml')
  'fragments/refuse.xml': loadTextContent('../../apim-policies/fragments/refuse.xml')
  'fragments/seal.xml': loadTextContent('../../apim-policies/fragments/seal.xml')
  'fragments/state-call.xml': loadTextContent('../../apim-policies/fragments/state-call.xml')
  'fragments/unseal.xml': loadTextContent('../../apim-policies/fragments/unseal.xml')
  'mcp-api.xml': loadTextContent('../../apim-policies/mcp-api.xml')
  'oauth-api.xml': loadTextContent('../../apim-policies/oauth-api.xml')
  'oauth-callback.xml': loadTextContent('../../apim-policies/oauth-callback.xml')
  'protected-resource-metadata.xml': loadTextContent('../../apim-policies/protected-resource-metadata.xml')
  'register.xml': loadTextContent('../../apim-policies/register.xml')
  'revoke.xml': loadTextContent('../../apim-policies/revoke.xml')
  'token.xml': loadTextContent('../../apim-policies/token.xml')
}
// END GENERATED policyXml

resource apim 'Microsoft.ApiManagement/service@2024-05-01' existing = {
  name: apimName
}

resource namedValues 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = [for nv in manifest.namedValues: {
  parent: apim
  name: nv.name
  properties: (nv.?secret ?? false) ? {
    displayName: nv.name
    secret: true
    // Key Vault-backed: APIM reads the secret and refreshes it from the unversioned URI, so
    // rotation needs no redeploy and the value is never in ARM. The reader is the gateway's
    // user-assigned identity, or with the vault firewall the system-assigned one (no
    // identityClientId); main.bicep grants it and makes this module wait for the grant.
    keyVault: {
      secretIdentifier: '${keyVaultUri}secrets/${nv.name}'
      identityClientId: empty(keyVaultIdentityClientId) ? null : keyVaultIdentityClientId
    }
    tags: [ 'keyvault' ]
  } : {
    displayName: nv.name
    secret: false
    value: plainValues[nv.name]
  }
}]

resource backends 'Microsoft.ApiManagement/service/backends@2024-05-01' = [for b in manifest.backends: {
  parent: apim
  name: b.id
  properties: {
    // API Management requires a backend description of 1 to 2000 characters: the id stands in.
    description: empty(b.?description ?? '') ? b.id : b.description
    url: backendUrls[b.id]
    protocol: 'http'
    tls: {
      validateCertificateChain: true
      validateCertificateName: true
    }
  }
}]

resource fragments 'Microsoft.ApiManagement/service/policyFragments@2024-05-01' = [for f in manifest.fragments: {
  parent: apim
  name: f.id
  properties: {
    description: f.?description ?? ''
    format: 'xml'
    value: policyXml[f.policy]
  }
  dependsOn: [ namedValues, backends ]
}]

resource globalPolicy 'Microsoft.ApiManagement/service/policies@2024-05-01' = if (!empty(manifest.?globalPolicy ?? '')) {
  parent: apim
  name: 'policy'
  properties: {
    format: 'xml'
    // any(): loadJsonContent types globalPolicy as the manifest's literal, and indexing policyXml
    // with '' (no global policy) is Bicep error BCP053 even in the branch never taken.
    value: empty(manifest.?globalPolicy ?? '') ? '' : policyXml[any(manifest.globalPolicy)]
  }
  dependsOn: [ namedValues, backends, fragments ]
}

resource apis 'Microsoft.ApiManagement/service/apis@2024-05-01' = [for a in manifest.apis: {
  parent: apim
  name: a.name
  properties: {
    displayName: empty(a.?displayName ?? '') ? a.name : a.displayName
    path: a.path
    apiType: 'http'
    protocols: [ 'https' ]
    // MCP clients authenticate with OAuth; a subscription key would be one more secret to leak.
    subscriptionRequired: false
    serviceUrl: !empty(a.?serviceUrl ?? '') ? a.serviceUrl : (!empty(a.?backendId ?? '') ? backendUrls[a.backendId] : null)
  }
}]

resource apiPolicies 'Microsoft.ApiManagement/service/apis/policies@2024-05-01' = [for a in filter(manifest.apis, a => !empty(a.?policy ?? '')): {
  name: '${apim.name}/${a.name}/policy'
  properties: {
    format: 'xml'
    value: policyXml[a.policy]
  }
  dependsOn: [ apis, namedValues, backends, fragments ]
}]

resource operations 'Microsoft.ApiManagement/service/apis/operations@2024-05-01' = [for o in manifest.operations: {
  name: '${apim.name}/${o.api}/${o.name}'
  properties: {
    displayName: empty(o.?displayName ?? '') ? o.name : o.displayName
    method: o.method
    urlTemplate: o.urlTemplate
    templateParameters: o.?templateParameters ?? []
    responses: []
  }
  dependsOn: [ apis ]
}]

resource operationPolicies 'Microsoft.ApiManagement/service/apis/operations/policies@2024-05-01' = [for o in filter(manifest.operations, o => !empty(o.?policy ?? '')): {
  name: '${apim.name}/${o.api}/${o.name}/policy'
  properties: {
    format: 'xml'
    value: policyXml[o.policy]
  }
  dependsOn: [ operations, namedValues, backends, fragments ]
}]

output apiNames array = [for a in manifest.apis: a.name]
