// Optional private networking (main.bicep's enableVnet, default off): a VNet with a subnet delegated
// to Flex Consumption for the function's outbound traffic and a subnet for private endpoints to
// Storage (blob), Cosmos DB and Key Vault, each with its private DNS zone linked to the VNet. Zone
// names come from environment() or, for Cosmos DB, main.bicep's per-cloud map, so sovereign clouds
// resolve correctly.
//
// API Management BasicV2 is not VNet-injected: it reaches the function over its public endpoint
// (protected by the function key) and Key Vault as a trusted service.

param location string
param tags object
param vnetName string
param storageAccountId string
param cosmosAccountId string
@description('Private DNS zone of Cosmos DB in this cloud (privatelink.documents.azure.com in the public cloud).')
param cosmosPrivateDnsZone string
param keyVaultId string

var blobZone = 'privatelink.blob.${environment().suffixes.storage}'
// keyvaultDns is ".vault.azure.net" (or the sovereign equivalent); the private zone is "privatelink.vaultcore.<suffix>".
var vaultZone = 'privatelink${replace(environment().suffixes.keyvaultDns, '.vault.', '.vaultcore.')}'

var endpoints = [
  { name: 'blob', targetId: storageAccountId, groupId: 'blob', zone: blobZone }
  { name: 'cosmos', targetId: cosmosAccountId, groupId: 'Sql', zone: cosmosPrivateDnsZone }
  { name: 'vault', targetId: keyVaultId, groupId: 'vault', zone: vaultZone }
]

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: vnetName
  location: location
  tags: tags
  properties: {
    addressSpace: { addressPrefixes: [ '10.40.0.0/16' ] }
    subnets: [
      {
        name: 'app'
        properties: {
          addressPrefix: '10.40.1.0/24'
          delegations: [ { name: 'flex', properties: { serviceName: 'Microsoft.App/environments' } } ]
        }
      }
      {
        name: 'private-endpoints'
        properties: {
          addressPrefix: '10.40.2.0/24'
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [for e in endpoints: {
  name: e.zone
  location: 'global'
  tags: tags
}]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [for (e, i) in endpoints: {
  parent: zones[i]
  name: '${vnetName}-link'
  location: 'global'
  properties: {
    registrationEnabled: false
    virtualNetwork: { id: vnet.id }
  }
}]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2024-05-01' = [for e in endpoints: {
  name: 'pe-${e.name}-${vnetName}'
  location: location
  tags: tags
  properties: {
    subnet: { id: '${vnet.id}/subnets/private-endpoints' }
    privateLinkServiceConnections: [
      {
        name: e.name
        properties: {
          privateLinkServiceId: e.targetId
          groupIds: [ e.groupId ]
        }
      }
    ]
  }
}]

resource zoneGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [for (e, i) in endpoints: {
  parent: privateEndpoints[i]
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [ { name: e.name, properties: { privateDnsZoneId: zones[i].id } } ]
  }
}]

output appSubnetId string = '${vnet.id}/subnets/app'
