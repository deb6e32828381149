// Key Vault in RBAC mode holding the gateway's key material. The values come in as secure
// parameters (generated once per azd environment by cmd/azdkeys, never by the template, so that a
// re-provision keeps them) and go out only as secret URIs. Who may read them is granted in
// keyvault-readers.bicep (Key Vault Secrets User per secret, for the identity API Management reads
// with); no other principal gets a data role.

param location string
param tags object
param vaultName string
@description('When true, only trusted Azure services (API Management) and the private endpoint reach the vault.')
param privateOnly bool = false

@secure()
@description('Base64 of 32 random bytes: AES-256 key of the MCP access token (encrypt-then-MAC).')
param tokenEncKey string
@secure()
@description('Base64 of 32 random bytes: HMAC-SHA256 key of the MCP access token.')
param tokenMacKey string
@secure()
@description('The previous token encryption key, accepted until tokens sealed with it expire (equal to tokenEncKey before the first rotation).')
param tokenPrevEncKey string
@secure()
@description('The previous token MAC key.')
param tokenPrevMacKey string
@secure()
@description('Base64 of 32 random bytes: HMAC-SHA256 key of the consent and state cookies.')
param cookieKey string
@secure()
@description('The function host key the gateway presents as x-functions-key.')
param functionKey string

// Secret names equal the APIM named values that reference them (apim-policies/gateway.json).
// Values are kept apart from the list the outputs are built from, so no output expression
// touches a secure parameter even indirectly.
var secretSpecs = [
  { name: 'mcp-token-enc-key', contentType: 'base64' }
  { name: 'mcp-token-mac-key', contentType: 'base64' }
  { name: 'mcp-token-prev-enc-key', contentType: 'base64' }
  { name: 'mcp-token-prev-mac-key', contentType: 'base64' }
  { name: 'consent-cookie-key', contentType: 'base64' }
  { name: 'function-key', contentType: 'text/plain' }
]
var secretValues = {
  'mcp-token-enc-key': tokenEncKey
  'mcp-token-mac-key': tokenMacKey
  'mcp-token-prev-enc-key': tokenPrevEncKey
  'mcp-token-prev-mac-key': tokenPrevMacKey
  'consent-cookie-key': cookieKey
  'function-key': functionKey
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: vaultName
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    // APIM (BasicV2 has no VNet injection) reads named values as a trusted service, so public
    // access stays "enabled" but is denied to everything except trusted services when private.
    // Trusted-service access works only with APIM's system-assigned identity (docs: "Requirements
    // for Key Vault firewall"), which is why that identity, not the gateway UAMI, is the reader when
    // privateOnly (main.bicep).
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: privateOnly ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource secrets 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [for s in secretSpecs: {
  parent: vault
  name: s.name
  properties: { value: secretValues[s.name], contentType: s.contentType }
}]

output vaultId string = vault.id
output vaultName string = vault.name
// Depends on the secrets, so a module granting read access on them starts after they exist.
output secretNames array = [for (s, i) in secretSpecs: secrets[i].name]
// The gateway builds unversioned secret URIs from it (<vaultUri>secrets/<name>): APIM refreshes
// Key Vault-backed named values from the latest version, so a rotated key reaches the gateway
// without a redeploy.
output vaultUri string = vault.properties.vaultUri
