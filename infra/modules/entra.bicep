extension microsoftGraphV1

// The Entra app registration the whole system acts as, created with the Microsoft Graph Bicep
// extension: an API (identifier URI api://<appId>, delegated scope, v2 access tokens), a confidential
// web client whose only redirect URI is the gateway's /oauth-callback and whose only credentials are
// federated identity credentials trusting the two user-assigned identities (no secret, no
// certificate), the Graph delegated permissions the tools declare, and the app roles that gate tools.
//
// Admin consent is granted only when grantAdminConsent is true (the deployer then needs a role that
// may grant tenant-wide consent). Otherwise each user consents to the user-consentable scopes at
// first sign-in, and a tool lacking consent tells the user what to do.

@description('Immutable unique name of the app registration (Graph extension alternate key).')
param uniqueName string
param displayName string
@description('The gateway\'s /oauth-callback URL, the app\'s only redirect URI.')
param redirectUri string
@description('Name of the delegated scope the API exposes (handler ENTRA_API_SCOPE).')
param apiScope string = 'access_as_user'
@description('Microsoft Graph delegated permissions (names such as User.Read) the tools need.')
param graphScopes array
@description('App roles for tool authorisation: [{ value, displayName, description }].')
param appRoles array
@description('User-assigned identities trusted as federated credentials: [{ name, principalId }].')
param federatedIdentities array
@description('Audience of managed-identity assertions in this cloud (api://AzureADTokenExchange in the public cloud).')
param ficAudience string
@description('Grant tenant-wide admin consent for graphScopes. Needs a privileged deployer; default off.')
param grantAdminConsent bool = false

// Microsoft Graph has this appId in every cloud.
var graphAppId = '00000003-0000-0000-c000-000000000000'
var issuer = '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'

// Permission ids are looked up by name on the Graph service principal of this tenant rather than
// hard-coded, so the template states permissions the way the tools declare them.
resource graphSp 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: graphAppId
}

// First declaration: creates the registration so that its appId exists; the second declaration of
// the same uniqueName then sets everything, including identifierUris = api://<appId>, which cannot
// be known before creation.
resource appBase 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: uniqueName
  displayName: displayName
  signInAudience: 'AzureADMyOrg'
}

resource app 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: uniqueName
  displayName: displayName
  signInAudience: 'AzureADMyOrg'
  identifierUris: [ 'api://${appBase.appId}' ]
  api: {
    requestedAccessTokenVersion: 2
    oauth2PermissionScopes: [
      {
        // Ids are derived from stable names: Entra refuses to change or remove an enabled scope or
        // role id, so a newGuid() default (as in the reference sample) breaks every re-provision.
        id: guid(uniqueName, 'scope', apiScope)
        value: apiScope
        type: 'User'
        isEnabled: true
        adminConsentDisplayName: 'Use the MCP server as the signed-in user'
        adminConsentDescription: 'Lets MCP clients connected through the gateway call the MCP server\'s tools on behalf of the signed-in user.'
        userConsentDisplayName: 'Use the MCP server as you'
        userConsentDescription: 'Lets MCP clients you connect call the MCP server\'s tools on your behalf.'
      }
    ]
  }
  appRoles: [for role in appRoles: {
    id: guid(uniqueName, 'role', role.value)
    value: role.value
    displayName: role.displayName
    description: role.description
    allowedMemberTypes: [ 'User' ]
    isEnabled: true
  }]
  web: {
    redirectUris: [ redirectUri ]
    implicitGrantSettings: {
      enableAccessTokenIssuance: false
      enableIdTokenIssuance: false
    }
  }
  requiredResourceAccess: [
    {
      resourceAppId: graphAppId
      resourceAccess: map(filter(graphSp.oauth2PermissionScopes, s => contains(graphScopes, s.value)), s => {
        id: s.id
        type: 'Scope'
      })
    }
  ]

  resource fics 'federatedIdentityCredentials@v1.0' = [for fi in federatedIdentities: {
    name: '${appBase.uniqueName}/${fi.name}'
    description: 'Trust the ${fi.name} user-assigned managed identity as a credential of this app'
    issuer: issuer
    subject: fi.principalId
    audiences: [ ficAudience ]
  }]
}

resource appSp 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: appBase.appId
  // Users need no assignment to sign in; app roles only narrow which tools they see.
  appRoleAssignmentRequired: false
  dependsOn: [ app ]
}

resource adminConsent 'Microsoft.Graph/oauth2PermissionGrants@v1.0' = if (grantAdminConsent) {
  clientId: appSp.id
  consentType: 'AllPrincipals'
  resourceId: graphSp.id
  scope: join(graphScopes, ' ')
}

output appId string = appBase.appId
// Object id of the registration: `azd down`'s postdown hook deletes exactly this object (cmd/appcleanup).
output objectId string = appBase.id
output identifierUri string = 'api://${appBase.appId}'
output apiScopeUri string = 'api://${appBase.appId}/${apiScope}'
output issuer string = issuer
