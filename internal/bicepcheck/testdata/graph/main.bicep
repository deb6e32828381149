extension microsoftGraphV1

// Microsoft Graph extension resources: top-level properties, identifiers for `existing`, and
// nested child types relative to the parent.
resource graphSp 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: '00000003-0000-0000-c000-000000000000'
}

resource app 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: 'fixture-app'
  displayName: 'Fixture'
  signInAudience: 'AzureADMyOrg'
  appId: 'x' // want `Microsoft.Graph/applications@v1.0 appId: the property is read-only`
  api: {
    requestedAccessTokenVersion: '2' // want `api.requestedAccessTokenVersion: expects int, got '2'`
  }
  web: {
    redirectUri: 'https://example.com' // want `web.redirectUri: MicrosoftGraphWebApplication has no property "redirectUri" (did you mean "redirectUris"?)`
  }

  resource fic 'federatedIdentityCredentials@v1.0' = {
    name: '${app.uniqueName}/fic'
    issuer: 'https://login.example.com'
    subject: 'sub'
    audiences: [ 'api://AzureADTokenExchange' ]
  }
}

resource sp 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: app.appId
  accountEnabled: true
}

resource grant 'Microsoft.Graph/oauth2PermissionGrants@v1.0' = { // want `oauth2PermissionGrants@v1.0 resourceId: Microsoft.Graph/oauth2PermissionGrants requires the property "resourceId"`
  clientId: sp.id
  consentType: 'AllPrincipals'
}

output scopes array = graphSp.oauth2PermissionScopes
