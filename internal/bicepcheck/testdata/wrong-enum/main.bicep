// A string literal outside a closed union (Key Vault's sku.name is 'standard' | 'premium').
// Open unions (a union that also admits any string) accept any string.
param location string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: 'kv-fixture'
  location: location
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'B' // an open union: any string is accepted
      name: 'gold' // want `properties.sku.name: 'gold' is not one of 'standard', 'premium'`
    }
    createMode: 'Default' // want `'Default' is not one of 'recover', 'default' (did you mean 'default'?)`
  }
}
