// Required properties: Key Vault needs tenantId and sku, APIM needs publisherEmail and publisherName.
param location string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: 'kv-fixture'
  location: location
  properties: { // want `properties.sku: VaultProperties requires the property "sku"`
    tenantId: tenant().tenantId
  }
}

resource apim 'Microsoft.ApiManagement/service@2024-05-01' = { // want `Microsoft.ApiManagement/service@2024-05-01 properties: Microsoft.ApiManagement/service requires the property "properties"`
  name: 'apim-fixture'
  location: location
  sku: { name: 'BasicV2' } // want `sku.capacity: ApiManagementServiceSkuProperties requires the property "capacity"`
}
