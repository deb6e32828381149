// Module bodies: params exist in the module file, required ones are present, values have the
// declared kind and, when literal, an allowed value; outputs read exist.
param location string

module ok 'modules/child.bicep' = {
  name: 'ok'
  params: {
    location: location
    count: 2
  }
}

module bad 'modules/child.bicep' = { // want `module bad params.count: modules/child.bicep requires the parameter "count" (it has no default)`
  name: 'bad'
  params: {
    location: location
    size: 'medium' // want `module bad params.size: 'medium' is not one of the allowed values 'small', 'large'`
    tags: 'none' // want `module bad params.tags: expects object, got 'none'`
    locaton: location // want `module bad params.locaton: modules/child.bicep declares no parameter "locaton" (did you mean "location"?)`
  }
  dependsOn: [ ok ]
  condition: true // want `module bad condition: a module body takes only name, scope, params, dependsOn and identity`
}

module looped 'modules/child.bicep' = [for i in range(0, 2): if (i > 0) {
  name: 'looped${i}'
  params: {
    location: location
    count: i
  }
}]

module missingFile 'modules/nothere.bicep' = { // want `module missingFile: cannot read the module file`
  name: 'missing'
}

output id string = ok.outputs.id
output wrong string = ok.outputs.ident // want `ok.outputs.ident: ok.outputs has no property "ident"; it has id (Bicep error BCP053)`
output looped string = looped[1].outputs.id
