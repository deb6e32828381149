// A type or API version the definitions do not have: nothing else of the resource is checked.
param location string

resource storage 'Microsoft.Storage/storageAccounts@2099-01-01' = { // want `Microsoft.Storage/storageAccounts@2099-01-01: API version 2099-01-01 of Microsoft.Storage/storageAccounts is not in the type definitions (vendored: 2023-05-01)`
  name: 'stfixture'
  location: location
  notAProperty: true
}

resource typo 'Microsoft.Storage/storageAcounts@2023-05-01' = { // want `resource type Microsoft.Storage/storageAcounts is not in the type definitions`
  name: 'stfixture2'
}

resource noVersion 'Microsoft.Storage/storageAccounts' = { // want `the type "Microsoft.Storage/storageAccounts" must be written 'Namespace/type@apiVersion'`
  name: 'stfixture3'
}
