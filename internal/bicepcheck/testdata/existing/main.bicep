// An existing resource is looked up by name (and scope or parent), not written.
resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: 'kv-fixture'
  location: 'westeurope' // want `Microsoft.KeyVault/vaults@2023-07-01 location: an existing resource is looked up, not written`
}

resource noName 'Microsoft.KeyVault/vaults@2023-07-01' existing = { // want `name: Microsoft.KeyVault/vaults requires the property "name"`
  scope: resourceGroup()
}

output uri string = vault.properties.vaultUri
output wrong string = vault.properties.vaultUrl // want `vault.properties.vaultUrl: vault.properties has no property "vaultUrl"`
