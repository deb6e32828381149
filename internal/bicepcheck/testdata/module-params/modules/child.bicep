param location string
@allowed([ 'small', 'large' ])
param size string = 'small'
param tags object = {}
param optionalName string?
param count int

output id string = 'id-${location}'
