package infracheck

import (
	"fmt"
	"regexp"
	"strings"
)

// ModuleDecl is one `module sym 'path' = [if (cond)] {…}` declaration.
type ModuleDecl struct {
	Symbol, Path, Condition string
	Line                    int
	Body                    string // the object literal, braces included
}

var moduleDeclRE = regexp.MustCompile(`(?m)^module\s+([A-Za-z_][A-Za-z0-9_]*)\s+'([^']+)'\s*=\s*(?:if\s*\(([^)]*)\)\s*)?\{`)

// Modules lists the top-level module declarations of a Bicep file.
func Modules(src string) []ModuleDecl {
	var out []ModuleDecl
	for _, m := range moduleDeclRE.FindAllStringSubmatchIndex(src, -1) {
		if !inCode(src, m[0]) {
			continue
		}
		d := ModuleDecl{Symbol: src[m[2]:m[3]], Path: src[m[4]:m[5]], Line: lineAt(src, m[0])}
		if m[6] >= 0 {
			d.Condition = strings.TrimSpace(src[m[6]:m[7]])
		}
		if end, err := matchBracket(src, m[1]-1); err == nil {
			d.Body = src[m[1]-1 : end+1]
		}
		out = append(out, d)
	}
	return out
}

// CheckKeyVaultReader encodes who reads the Key Vault-backed named values and when it is granted.
//
// Without the vault firewall the gateway's user-assigned identity reads them: it exists from the
// first minute of the deployment, so its role assignment (keyvault-readers.bicep) must not wait for
// API Management, and RBAC has propagated by the time the named values are created after API
// Management, the app registration and the function app. With the firewall (enableVnet) API
// Management may only use its system-assigned identity ("Requirements for Key Vault firewall"),
// granted once the service exists. Either way the gateway module waits for the grant.
func CheckKeyVaultReader(gatewayBicep, serviceBicep, mainBicep string) []string {
	const gw, svc, mainFile = "infra/modules/apim-gateway.bicep", "infra/modules/apim-service.bicep", "infra/main.bicep"
	var problems []string
	block, line, err := Block(gatewayBicep, "keyVault", '{')
	switch {
	case err != nil:
		problems = append(problems, gw+": no keyVault block for the secret named values: "+err.Error())
	case !regexp.MustCompile(`(?m)^\s*identityClientId:\s*empty\(keyVaultIdentityClientId\)\s*\?\s*null\s*:\s*keyVaultIdentityClientId\s*$`).MatchString(codeText(block, 0, len(block))):
		problems = append(problems, fmt.Sprintf("%s:%d: Key Vault named values must set identityClientId: empty(keyVaultIdentityClientId) ? null : keyVaultIdentityClientId (main.bicep chooses the reader)", gw, line))
	}
	if !regexp.MustCompile(`(?m)^\s*type:\s*'SystemAssigned, UserAssigned'`).MatchString(serviceBicep) {
		problems = append(problems, svc+": API Management needs identity type 'SystemAssigned, UserAssigned' (system: Key Vault behind its firewall; user-assigned: Key Vault otherwise, federated credential, App Insights)")
	}
	if !regexp.MustCompile(`(?m)^output systemPrincipalId string = apim\.identity\.principalId`).MatchString(serviceBicep) {
		problems = append(problems, svc+": output systemPrincipalId string = apim.identity.principalId is missing")
	}
	if !regexp.MustCompile(`(?m)^\s*keyVaultIdentityClientId:\s*enableVnet\s*\?\s*''\s*:\s*identities\.outputs\.apimIdentityClientId\s*$`).MatchString(mainBicep) {
		problems = append(problems, mainFile+": the apimGateway module must pass keyVaultIdentityClientId: enableVnet ? '' : identities.outputs.apimIdentityClientId (behind the vault firewall only the system-assigned identity may read)")
	}

	modules := Modules(mainBicep)
	readers := map[string]ModuleDecl{}
	for _, m := range modules {
		if m.Path == "modules/keyvault-readers.bicep" {
			readers[m.Condition] = m
		}
	}
	// reader checks the keyvault-readers module declared under condition: it exists and grants
	// principal (granted reports both).
	reader := func(condition, who, principal string) (r ModuleDecl, granted bool) {
		r, ok := readers[condition]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: no `module … 'modules/keyvault-readers.bicep' = if (%s)` granting %s", mainFile, condition, who))
		case !strings.Contains(r.Body, "principalId: "+principal):
			problems = append(problems, fmt.Sprintf("%s:%d: %s must grant %s", mainFile, r.Line, r.Symbol, principal))
		default:
			granted = true
		}
		return r, granted
	}
	early, granted := reader("!enableVnet", "the gateway's user-assigned identity", "identities.outputs.apimIdentityPrincipalId")
	if granted && strings.Contains(early.Body, "apimService") {
		problems = append(problems, fmt.Sprintf("%s:%d: %s must not depend on apimService: the grant has to start at the beginning of the deployment so that it has propagated when the named values are created", mainFile, early.Line, early.Symbol))
	}
	late, _ := reader("enableVnet", "API Management's system-assigned identity", "apimService.outputs.systemPrincipalId")
	for _, m := range modules {
		if m.Path != "modules/apim-gateway.bicep" {
			continue
		}
		deps := regexp.MustCompile(`(?m)^\s*dependsOn:\s*\[([^\]]*)\]`).FindStringSubmatch(m.Body)
		for _, r := range []ModuleDecl{early, late} {
			if r.Symbol != "" && (deps == nil || !regexp.MustCompile(`\b`+r.Symbol+`\b`).MatchString(deps[1])) {
				problems = append(problems, fmt.Sprintf("%s:%d: %s must list %s in dependsOn: the named values need their reader's role assignment", mainFile, m.Line, m.Symbol, r.Symbol))
			}
		}
	}
	return problems
}
