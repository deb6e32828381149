// The Go custom handler on Flex Consumption (Linux, runtime `custom` 1.0): identity-based host
// storage, App Insights over Entra auth and the app settings handler/config reads.
//
// The gateway's host key (apim-gateway, never the master key) is NOT declared here: a
// Microsoft.Web/sites/host/functionKeys resource calls the Functions host, which a Flex app without
// a package does not run yet, so the first `azd up` would fail (azure-functions-host #11379). The
// handler service's postdeploy hook (`go run ./cmd/azdkeys -set-function-key`) sets it through ARM
// right after the package is deployed, to the value generated once per environment that Key Vault
// also holds for APIM.

param location string
param tags object
param planName string
param functionAppName string
@description('azd finds the deployment target by this tag; it must equal the service name in azure.yaml.')
param serviceName string
param identityId string
param identityClientId string
param blobEndpoint string
param deploymentContainerUrl string
param applicationInsightsConnectionString string
@description('Subnet delegated to Microsoft.App/environments for VNet integration; empty = none.')
param subnetId string = ''
param maximumInstanceCount int = 40
@description('Instance size. The handler needs about 25 MB at 64 concurrent calls; 512 MB is ample (docs/performance.md).')
@allowed([ 512, 2048, 4096 ])
param instanceMemoryMB int = 512
@description('HTTP requests one instance takes at once before Flex adds an instance: the calls the instance CPU share sustains × the Graph round trip (docs/performance.md: 32 for 512 MB, 128 for 2048 MB).')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = instanceMemoryMB == 512 ? 32 : 128
@description('Environment variables for the handler (see handler/config). Not secrets: the handler has none.')
param handlerSettings object

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    virtualNetworkSubnetId: empty(subnetId) ? null : subnetId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        triggers: { http: { perInstanceConcurrency: httpPerInstanceConcurrency } }
      }
      runtime: { name: 'custom', version: '1.0' }
    }
  }
}

// No FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION, WEBSITE_RUN_FROM_PACKAGE or WEBSITE_CONTENT*:
// Flex Consumption rejects them (runtime and package location live in functionAppConfig).
//
// Host storage: only the blob endpoint (and only Storage Blob Data Owner, storage.bicep), unlike the
// Flex samples that also set __queueServiceUri and __tableServiceUri. The Functions host itself
// keeps its host keys, secrets and locks in blobs; queues are used by the blob trigger (poison
// messages) and Durable Functions, tables by Durable Functions — the Functions docs ("Connecting to
// host storage with an identity"; the blob-trigger permissions table: "The AzureWebJobsStorage
// connection is used internally for blobs and queues that enable the trigger") tie the extra
// services and roles to those features. This app has HTTP triggers only, so a queue or table
// endpoint would be an unused grant. Adding a non-HTTP trigger means adding its endpoint here and
// its role in storage.bicep.
var platformSettings = {
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: blobEndpoint
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: union(platformSettings, handlerSettings)
}

output functionAppName string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
output baseUrl string = 'https://${functionApp.properties.defaultHostName}'
