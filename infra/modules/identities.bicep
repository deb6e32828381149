// Two user-assigned managed identities, one per workload, so that each gets only the roles it needs:
// the function's identity reaches storage, Cosmos DB and App Insights and is the federated credential
// for OBO; the gateway's identity is the federated credential for redeeming Entra codes, logs to App
// Insights and — only without the Key Vault firewall (ENABLE_VNET=false) — reads the named-value
// secrets; with the firewall, API Management's system-assigned identity reads them instead
// (main.bicep, "Who reads the Key Vault-backed named values"). Neither has a role on the other's
// resources.

param location string
param tags object
param functionIdentityName string
param apimIdentityName string

resource functionIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: functionIdentityName
  location: location
  tags: tags
}

resource apimIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: apimIdentityName
  location: location
  tags: tags
}

output functionIdentityId string = functionIdentity.id
output functionIdentityClientId string = functionIdentity.properties.clientId
output functionIdentityPrincipalId string = functionIdentity.properties.principalId
output apimIdentityId string = apimIdentity.id
output apimIdentityClientId string = apimIdentity.properties.clientId
output apimIdentityPrincipalId string = apimIdentity.properties.principalId
