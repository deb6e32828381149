// Object and array variables are checked where a resource property uses them, reported at the
// variable's own lines.
param location string

var noContent = {
  headers: []
  body: { bytes: '0' } // want `properties.frontend.request.body.bytes: expects int, got '0'`
  dataMasking: {
    queryParams: [for p in [ 'code', 'state' ]: { value: p, mode: 'Mask' }]
    headerz: [] // want `properties.frontend.request.dataMasking.headerz: DataMasking has no property "headerz" (did you mean "headers"?)`
  }
}

resource apim 'Microsoft.ApiManagement/service@2024-05-01' existing = {
  name: 'apim-fixture'
}

resource diagnostics 'Microsoft.ApiManagement/service/diagnostics@2024-05-01' = {
  parent: apim
  name: 'applicationinsights'
  properties: {
    loggerId: 'logger'
    frontend: { request: noContent }
    sampling: { samplingType: 'random', percentage: 100 } // an open union: any string is accepted
    logClientIp: 'no' // want `properties.logClientIp: expects bool, got 'no'`
  }
}

var locations = [ { locationName: location, failoverPriority: '0' } ] // want `properties.locations[0].failoverPriority: expects int, got '0'`

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  name: 'cosmos-fixture'
  location: location
  properties: {
    databaseAccountOfferType: 'Standard'
    locations: locations
  }
}
