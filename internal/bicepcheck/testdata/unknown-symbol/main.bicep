// A name that nothing declares (a misspelled parameter or variable) is Bicep error BCP057.
param location string
var prefix = 'st'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: '${prefx}fixture' // want `prefx: no parameter, variable, resource, module or loop variable is named "prefx" (Bicep error BCP057)`
  location: locaton // want `locaton: no parameter, variable, resource, module or loop variable is named "locaton"`
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    minimumTlsVersion: first(map([ 'TLS1_2' ], v => v))
  }

  resource blobs 'blobServices' = {
    name: 'default'
  }
}

output blobsId string = storage::blobs.id
output names array = [for (s, i) in [ prefix ]: '${s}-${i}-${location}']
