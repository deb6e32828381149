// Read-only properties are set by Azure; writing one is an error.
param location string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'stfixture'
  location: location
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  id: 'x' // want `Microsoft.Storage/storageAccounts@2023-05-01 id: the property is read-only`
  properties: {
    primaryLocation: location // want `properties.primaryLocation: the property is read-only: Azure sets it, a template cannot write it`
  }
}
