package infracheck

import (
	"strings"
	"testing"
)

// TestResourceTypesAndAPIVersionsVerified: every resource in infra/ uses a type and API version that
// was checked against the template reference (VerifiedAPIVersions), and none needs a running
// Functions host at provision time.
func TestResourceTypesAndAPIVersionsVerified(t *testing.T) {
	r := loadRepo(t)
	report(t, CheckAPIVersions(r.bicep, VerifiedAPIVersions))
	// The allow-list must not rot: every entry is still used somewhere.
	used := map[string]bool{}
	for _, src := range r.bicep {
		for _, d := range Resources(src) {
			used[d.Type+"@"+d.Version] = true
		}
	}
	for typ, versions := range VerifiedAPIVersions {
		for _, v := range versions {
			if !used[typ+"@"+v] {
				t.Errorf("VerifiedAPIVersions lists %s@%s, which no Bicep file uses any more; remove it", typ, v)
			}
		}
	}
}

// TestGraphResourcesFollowTheExtension: Microsoft.Graph declarations use the forms the extension
// supports, and the federated credentials trust the managed identities as Entra documents.
func TestGraphResourcesFollowTheExtension(t *testing.T) {
	r := loadRepo(t)
	const entra = "infra/modules/entra.bicep"
	report(t, CheckGraphDeclarations(entra, r.src(t, entra)))
	fics := 0
	for _, d := range Resources(r.src(t, entra)) {
		if d.Type == "Microsoft.Graph/applications/federatedIdentityCredentials" {
			fics++
		}
	}
	if fics == 0 {
		t.Errorf("%s declares no federated identity credential; the managed identities could not act as the app", entra)
	}
}

// TestKeyVaultReaderIsGrantedEarly: see CheckKeyVaultReader.
func TestKeyVaultReaderIsGrantedEarly(t *testing.T) {
	r := loadRepo(t)
	report(t, CheckKeyVaultReader(r.src(t, "infra/modules/apim-gateway.bicep"), r.src(t, "infra/modules/apim-service.bicep"), r.src(t, "infra/main.bicep")))
}

func TestResourcesResolvesNestedTypes(t *testing.T) {
	src := `resource app 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: 'x'
  resource fics 'federatedIdentityCredentials@v1.0' = [for f in list: {
    name: '${app.uniqueName}/${f}'
  }]
}
// resource commented 'Microsoft.Nope/x@1' = {}
resource later 'Microsoft.Web/sites@2024-04-01' existing = {
  name: 'y'
}
`
	got := Resources(src)
	if len(got) != 3 {
		t.Fatalf("got %d resources, want 3: %+v", len(got), got)
	}
	if got[1].Type != "Microsoft.Graph/applications/federatedIdentityCredentials" || got[1].Line != 3 {
		t.Errorf("nested resource: %+v", got[1])
	}
	if got[2].Type != "Microsoft.Web/sites" || !got[2].Existing || got[2].Line != 8 {
		t.Errorf("top-level after nested: %+v", got[2])
	}
}

func TestCheckAPIVersionsCatchesFaults(t *testing.T) {
	files := map[string]string{"infra/x.bicep": `resource ok 'Microsoft.Web/sites@2024-04-01' = {
  name: 'a'
}
resource typo 'Microsoft.Web/sites@2024-04-10' = {
  name: 'b'
}
resource unknown 'Microsoft.Cache/redis@2024-03-01' = {
  name: 'c'
}
resource key 'Microsoft.Web/sites/host/functionKeys@2024-04-01' = {
  name: 'a/default/k'
}
`}
	verified := map[string][]string{"Microsoft.Web/sites": {"2024-04-01"}, "Microsoft.Web/sites/host/functionKeys": {"2024-04-01"}}
	expectProblems(t, CheckAPIVersions(files, verified),
		"infra/x.bicep:4: Microsoft.Web/sites@2024-04-10 is not a verified API version",
		"infra/x.bicep:7: resource unknown has type Microsoft.Cache/redis",
		"infra/x.bicep:10: Microsoft.Web/sites/host/functionKeys cannot be provisioned before the package is deployed")
}

func TestCheckGraphDeclarationsCatchesFaults(t *testing.T) {
	good := `var issuer = '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
resource app 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: 'u'
  identifierUris: [ 'api://${base.appId}' ]
  resource fics 'federatedIdentityCredentials@v1.0' = [for fi in ids: {
    name: '${app.uniqueName}/${fi.name}'
    issuer: issuer
    subject: fi.principalId
    audiences: [ ficAudience ]
  }]
}
`
	if p := CheckGraphDeclarations("e.bicep", good); len(p) != 0 {
		t.Fatalf("good fixture: %v", p)
	}
	bad := strings.NewReplacer(
		"var issuer = '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'", "var issuer = 'https://login.microsoftonline.com/${tenant().tenantId}/'",
		"name: '${app.uniqueName}/${fi.name}'", "name: fi.name",
		"subject: fi.principalId", "subject: fi.clientId",
		"audiences: [ ficAudience ]", "audiences: [ 'api://AzureADTokenExchange' ]",
		"identifierUris: [ 'api://${base.appId}' ]", "identifierUris: [ 'api://mcp' ]",
	).Replace(good)
	expectProblems(t, CheckGraphDeclarations("e.bicep", bad),
		"e.bicep:5: fics must be named '${<app>.uniqueName}/<name>'",
		"e.bicep:5: fics: issuer must be `issuer`",
		"e.bicep:5: fics: subject must be the managed identity's principal",
		"e.bicep:5: fics: audiences must be the per-cloud parameter",
		"e.bicep: the app registration must declare identifierUris")

	withParent := `resource fic 'Microsoft.Graph/applications/federatedIdentityCredentials@v1.0' = {
  parent: app
  name: 'x'
}
`
	p := CheckGraphDeclarations("p.bicep", withParent)
	if len(p) == 0 || !strings.Contains(p[0], "p.bicep:1: fic uses `parent:`") {
		t.Errorf("parent: not reported: %v", p)
	}
}

func TestCheckKeyVaultReaderCatchesFaults(t *testing.T) {
	gateway := "properties: {\n  keyVault: {\n    secretIdentifier: 'x'\n    identityClientId: empty(keyVaultIdentityClientId) ? null : keyVaultIdentityClientId\n  }\n}\n"
	service := "  identity: {\n    type: 'SystemAssigned, UserAssigned'\n  }\noutput systemPrincipalId string = apim.identity.principalId\n"
	main := `module gatewayVaultReader 'modules/keyvault-readers.bicep' = if (!enableVnet) {
  params: {
    principalId: identities.outputs.apimIdentityPrincipalId
  }
}
module apimSystemVaultReader 'modules/keyvault-readers.bicep' = if (enableVnet) {
  params: {
    principalId: apimService.outputs.systemPrincipalId
  }
}
module apimGateway 'modules/apim-gateway.bicep' = {
  params: {
    keyVaultIdentityClientId: enableVnet ? '' : identities.outputs.apimIdentityClientId
  }
  dependsOn: [ gatewayVaultReader, apimSystemVaultReader ]
}
`
	if p := CheckKeyVaultReader(gateway, service, main); len(p) != 0 {
		t.Fatalf("good fixtures: %v", p)
	}
	expectProblems(t, CheckKeyVaultReader(
		strings.Replace(gateway, "    identityClientId: empty(keyVaultIdentityClientId) ? null : keyVaultIdentityClientId\n", "", 1),
		strings.Replace(service, "'SystemAssigned, UserAssigned'", "'UserAssigned'", 1),
		strings.NewReplacer(
			"principalId: identities.outputs.apimIdentityPrincipalId", "principalId: apimService.outputs.userPrincipalId",
			"keyVaultIdentityClientId: enableVnet ? '' : identities.outputs.apimIdentityClientId", "keyVaultIdentityClientId: identities.outputs.apimIdentityClientId",
			"dependsOn: [ gatewayVaultReader, apimSystemVaultReader ]", "dependsOn: [ gatewayVaultReader ]",
		).Replace(main)),
		"apim-gateway.bicep:2: Key Vault named values must set identityClientId",
		"apim-service.bicep: API Management needs identity type 'SystemAssigned, UserAssigned'",
		"main.bicep: the apimGateway module must pass keyVaultIdentityClientId: enableVnet ? ''",
		"main.bicep:1: gatewayVaultReader must grant identities.outputs.apimIdentityPrincipalId",
		"main.bicep:11: apimGateway must list apimSystemVaultReader in dependsOn")
	// A grant that waits for API Management is too late to propagate in time.
	late := strings.Replace(main, "principalId: identities.outputs.apimIdentityPrincipalId", "principalId: identities.outputs.apimIdentityPrincipalId\n    after: apimService.outputs.apimName", 1)
	expectProblems(t, CheckKeyVaultReader(gateway, service, late), "main.bicep:1: gatewayVaultReader must not depend on apimService")
}
