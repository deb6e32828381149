// The API Management instance (SKU parameter, default BasicV2) with the gateway's user-assigned
// identity (federated credential toward Entra, App Insights) and a system-assigned identity that only
// reads the Key Vault-backed named values (the one API Management accepts behind a Key Vault
// firewall), plus its App Insights logger (Entra auth through that identity) and a service-wide
// diagnostic that logs no headers and no bodies and hides OAuth query parameters, so no token, code,
// state or verifier ever reaches telemetry. APIs, policies and named values are in apim-gateway.bicep,
// which needs the Entra app this module's gateway URL feeds into.

param location string
param tags object
param apimName string
@allowed([ 'BasicV2', 'StandardV2', 'Developer', 'Basic', 'Standard', 'Premium' ])
param sku string = 'BasicV2'
param publisherEmail string
param publisherName string
param identityId string
param identityClientId string
param applicationInsightsId string
param applicationInsightsConnectionString string

var isV2 = endsWith(sku, 'V2')

resource apim 'Microsoft.ApiManagement/service@2024-05-01' = {
  name: apimName
  location: location
  tags: tags
  sku: { name: sku, capacity: 1 }
  identity: {
    type: 'SystemAssigned, UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    publisherEmail: publisherEmail
    publisherName: publisherName
    // TLS 1.0/1.1 and SSL 3.0 off on the classic tiers. The v2 tiers manage protocol settings
    // themselves and are not sent these switches (VERIFY on a live v2 deployment).
    customProperties: isV2 ? {} : {
      'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls10': 'false'
      'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls11': 'false'
      'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls10': 'false'
      'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls11': 'false'
      'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Ssl30': 'false'
    }
  }
}

resource logger 'Microsoft.ApiManagement/service/loggers@2024-05-01' = {
  parent: apim
  name: 'appinsights'
  properties: {
    loggerType: 'applicationInsights'
    resourceId: applicationInsightsId
    credentials: {
      // With identityClientId the gateway authenticates to App Insights with its identity (the
      // component has local auth disabled); the connection string only locates the component.
      connectionString: applicationInsightsConnectionString
      identityClientId: identityClientId
    }
  }
}

// Query parameters that carry OAuth secrets or one-time values; hidden in every logged URL.
var hiddenQueryParams = [
  'code'
  'state'
  'session_state'
  'code_verifier'
  'code_challenge'
  'token'
  'access_token'
  'refresh_token'
  'id_token'
  'client_assertion'
  'client_secret'
]

var noContent = {
  headers: []
  body: { bytes: 0 }
  dataMasking: {
    queryParams: [for p in hiddenQueryParams: { value: p, mode: 'Hide' }]
  }
}

resource diagnostics 'Microsoft.ApiManagement/service/diagnostics@2024-05-01' = {
  parent: apim
  name: 'applicationinsights'
  properties: {
    loggerId: logger.id
    alwaysLog: 'allErrors'
    logClientIp: false
    httpCorrelationProtocol: 'W3C'
    verbosity: 'information'
    operationNameFormat: 'Name'
    metrics: true
    sampling: { samplingType: 'fixed', percentage: 100 }
    frontend: { request: noContent, response: noContent }
    backend: { request: noContent, response: noContent }
  }
}

output apimName string = apim.name
@description('Principal id of the system-assigned identity; Key Vault grants it Secrets User on the named-value secrets.')
output systemPrincipalId string = apim.identity.principalId
output gatewayUrl string = apim.properties.gatewayUrl
