extension microsoftGraphV1

// The app registration of the handler's local (stdio) mode, `handler stdio`: a second, public-client
// app, separate from the API app of entra.bicep. It signs a developer in on their own machine with
// MSAL (authorization code + PKCE to http://localhost on any port, device code as fallback) and asks
// Microsoft Graph for the tools' delegated permissions directly.
//
// Why a second app (docs/security-model.md, "Local mode"): public-client flows have no client
// authentication, so enabling them on the API app would let anyone who knows its client id obtain
// tokens as that app through them; the API app stays confidential (federated credentials only). This
// app exposes no API, holds no credential, defines no app role, and can be deleted or disabled
// without touching the deployed server.

@description('Immutable unique name of the app registration (Graph extension alternate key).')
param uniqueName string
param displayName string
@description('Microsoft Graph delegated permissions (names such as User.Read) the tools need.')
param graphScopes array
@description('Grant tenant-wide admin consent for graphScopes. Needs a privileged deployer; default off.')
param grantAdminConsent bool = false

// Microsoft Graph has this appId in every cloud.
var graphAppId = '00000003-0000-0000-c000-000000000000'

resource graphSp 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: graphAppId
}

resource localApp 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: uniqueName
  displayName: displayName
  signInAudience: 'AzureADMyOrg'
  // "Allow public client flows": required by the device-code grant (without it Entra answers
  // AADSTS7000218). The browser flow needs only the publicClient redirect below.
  isFallbackPublicClient: true
  publicClient: {
    // Entra matches http://localhost on any port for public clients (RFC 8252 §7.3); MSAL's
    // loopback listener picks a free one.
    redirectUris: [ 'http://localhost' ]
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
}

resource localSp 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: localApp.appId
  appRoleAssignmentRequired: false
}

resource adminConsent 'Microsoft.Graph/oauth2PermissionGrants@v1.0' = if (grantAdminConsent) {
  clientId: localSp.id
  consentType: 'AllPrincipals'
  resourceId: graphSp.id
  scope: join(graphScopes, ' ')
}

output appId string = localApp.appId
// The postdown hook (cmd/appcleanup) deletes exactly this object, after checking its appId.
output objectId string = localApp.id
