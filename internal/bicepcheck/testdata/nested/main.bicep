// Nested resources: types relative to the parent, names visible in the parent's body at every
// depth, conditions and loops, `existing` children, and `::` access from outside. No finding.
param createContainer bool
var items = [ 'a', 'b' ]

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: 'stfixture'

  resource blobs 'blobServices' existing = {
    name: 'default'

    resource container 'containers' = if (createContainer) {
      name: 'deploy'
      properties: {
        publicAccess: 'None'
        metadata: { account: account.name, service: blobs.name }
      }
    }

    resource looped 'containers@2023-05-01' = [for item in items: {
      name: item
      properties: { metadata: { sibling: container.name } }
    }]
  }
}

output containerId string = account::blobs::container.id
output loopedName string = account::blobs::looped[0].name
