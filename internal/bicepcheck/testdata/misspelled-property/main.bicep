// A misspelled property, at the top of a body and nested inside properties.
param location string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'stfixture'
  location: location
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  tag: {} // want `Microsoft.Storage/storageAccounts@2023-05-01 tag: Microsoft.Storage/storageAccounts has no property "tag" (did you mean "tags"?)`
  properties: {
    allowBlobPublicAcess: false // want `properties.allowBlobPublicAcess: StorageAccountPropertiesCreateParametersOrStorageAccountProperties has no property "allowBlobPublicAcess" (did you mean "allowBlobPublicAccess"?)`
    networkAcls: {
      defaultAction: 'Deny'
      bypas: 'AzureServices' // want `properties.networkAcls.bypas: NetworkRuleSet has no property "bypas" (did you mean "bypass"?)`
    }
  }
}
