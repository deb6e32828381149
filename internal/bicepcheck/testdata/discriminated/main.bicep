// Microsoft.Web/sites/config is discriminated by its name: each name has its own properties.
param siteName string
param settingName string

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: siteName
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: {
    LOG_LEVEL: 'info'
    ENABLED: true // want `properties.ENABLED: expects string, got bool`
  }
}

resource web 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'web'
  properties: {
    minTlsVersion: '1.2'
    ftpsState: 'Disabled'
    http20Enabeld: true // want `properties.http20Enabeld: SiteConfig has no property "http20Enabeld" (did you mean "http20Enabled"?)`
  }
}

resource unknownVariant 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsetings' // want `name selects the variant of microsoft.web/sites/config, and 'appsetings' is not one of 'appsettings', 'authsettings'`
  properties: {}
}

// A name that is not a literal selects no variant: only the common properties are checked.
resource computed 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: settingName
  properties: { anything: 'goes' }
}

output setting string = appSettings.properties.LOG_LEVEL
