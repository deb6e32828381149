// Values of the wrong kind, including through both branches of a ternary and both sides of ??.
param location string
param secure bool = true

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: 'kv-fixture'
  location: location
  tags: [ 'a' ] // want `tags: expects object, got array`
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableSoftDelete: 'yes' // want `properties.enableSoftDelete: expects bool, got 'yes'`
    softDeleteRetentionInDays: secure ? 7 : '90' // want `properties.softDeleteRetentionInDays: expects int, got '90'`
    enableRbacAuthorization: null ?? 1 // want `properties.enableRbacAuthorization: expects bool, got int`
    accessPolicies: {} // want `properties.accessPolicies: expects array, got object`
    networkAcls: secure ? {
      defaultAction: 'Deny'
    } : {
      defaultAction: 'Allow'
      bypass: 1 // want `properties.networkAcls.bypass: expects 'AzureServices' | 'None' | string, got int`
    }
    publicNetworkAccess: toLower('Enabled')
  }
}
