// Cosmos DB for the state service: serverless, key auth disabled (data-plane RBAC only), one
// container per record kind with the partition key the store uses, TTL on the transient kinds, and
// the built-in Data Contributor role for the function identity only, scoped to the one database.
// The gateway never talks to Cosmos: it reaches state through the function's /internal API.

param location string
param tags object
param accountName string
param databaseName string
param functionPrincipalId string
@description('When true, the account refuses public network access and is reached through a private endpoint.')
param privateOnly bool = false

// Container layout shared with handler/store/cosmos (the infra cross-check compares the two).
// defaultTtl: -1 = TTL on, no default (each item carries its own `ttl`); a positive value is the
// longest an item of that kind may live, a safety net under the per-item ttl.
var containers = [
  { name: 'clients', partitionKey: '/id', defaultTtl: -1 }
  { name: 'transactions', partitionKey: '/id', defaultTtl: 900 }
  { name: 'codes', partitionKey: '/id', defaultTtl: 600 }
  { name: 'refreshFamilies', partitionKey: '/id', defaultTtl: -1 }
]

// Cosmos DB Built-in Data Contributor (data plane: read/write items, no account management).
var dataContributor = '00000000-0000-0000-0000-000000000002'

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  name: accountName
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    locations: [ { locationName: location, failoverPriority: 0, isZoneRedundant: false } ]
    capabilities: [ { name: 'EnableServerless' } ]
    consistencyPolicy: { defaultConsistencyLevel: 'Session' }
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: privateOnly ? 'Disabled' : 'Enabled'
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: { id: databaseName }
  }
}

resource stateContainers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = [for c in containers: {
  parent: database
  name: c.name
  properties: {
    resource: {
      id: c.name
      partitionKey: { paths: [ c.partitionKey ], kind: 'Hash' }
      defaultTtl: c.defaultTtl
    }
  }
}]

resource functionDataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: account
  name: guid(account.id, functionPrincipalId, dataContributor)
  properties: {
    roleDefinitionId: '${account.id}/sqlRoleDefinitions/${dataContributor}'
    principalId: functionPrincipalId
    scope: '${account.id}/dbs/${databaseName}'
  }
  dependsOn: [ database ]
}

output accountId string = account.id
output endpoint string = account.properties.documentEndpoint
output databaseName string = databaseName
