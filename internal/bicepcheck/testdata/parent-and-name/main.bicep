// Child resources: a parent of the right type, and as many name segments as the type has levels.
param location string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'stfixture'
  location: location
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: 'kv-fixture'
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource wrongParent 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: storage // want `the parent storage is a Microsoft.Storage/storageAccounts, but a Microsoft.Storage/storageAccounts/blobServices/containers needs a parent of type Microsoft.Storage/storageAccounts/blobServices`
  name: 'deploy'
}

resource slashWithParent 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'kv-fixture/secret' // want `name: a resource with a parent (parent: or nesting) has a one-segment name, without "/" (Bicep error BCP170)`
  properties: { value: 'v' }
}

resource tooFewSegments 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  name: 'secret' // want `name: the name must have 1 "/" (one segment per level of Microsoft.KeyVault/vaults/secrets) without parent:, found 0 (Bicep error BCP169)`
  properties: { value: 'v' }
}

resource interpolated 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  name: '${storage.name}/default/deploy2'
}

resource tooManySegments 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  name: '${storage.name}/default/a/b' // want `the name must have 2 "/"`
}

resource topWithParent 'Microsoft.KeyVault/vaults@2023-07-01' = {
  parent: storage // want `Microsoft.KeyVault/vaults is a top-level type and cannot have a parent`
  name: 'kv2'
  location: location
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
  }
}

resource withNested 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: 'stfixture'

  resource nestedBlobs 'blobServices' = {
    name: 'default'

    resource nestedContainer 'containers@2023-05-01' = {
      name: 'a/b' // want `a resource with a parent (parent: or nesting) has a one-segment name`
      properties: { publicAccess: 'Nope' } // want `'Nope' is not one of 'Container', 'Blob', 'None' (did you mean 'None'?)`
    }
  }
}
