// Key Vault Secrets User for one principal on each named secret individually (nothing vault-wide):
// the identity API Management reads its Key Vault-backed named values with. A module of its own so
// that main.bicep can grant the gateway's user-assigned identity at the very start of the
// deployment (it exists before API Management does) and, only with the vault firewall on, API
// Management's system-assigned identity once the service exists. See infra/README.md, "Key Vault
// access and the first provision".

param vaultName string
@description('Principal (object) id that may read the secrets.')
param principalId string
@description('Names of the secrets it may read.')
param secretNames array

// Key Vault Secrets User: read secret values, nothing else.
var secretsUser = '4633458b-17de-408a-b874-0445c86b69e6'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

resource secrets 'Microsoft.KeyVault/vaults/secrets@2023-07-01' existing = [for name in secretNames: {
  parent: vault
  name: name
}]

resource readers 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (name, i) in secretNames: {
  name: guid(vault.id, name, principalId, secretsUser)
  scope: secrets[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUser)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}]
