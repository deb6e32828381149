package infracheck

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// The checks in this file encode what a review of infra/ against the documented template reference
// found (Microsoft Learn "azure/templates" pages for ARM types, the Microsoft Graph Bicep reference
// and known-issues pages for Microsoft.Graph types, the API Management and Functions docs for the
// rules the template reference cannot express). The Bicep compiler cannot run offline, so each class
// of mistake found there gets a check that keeps it from coming back:
//
//   - a type or API version nobody verified (typos such as 2024-04-10 compile only against ARM);
//   - a resource that needs a running Functions host at provision time (host keys, functions):
//     a Flex Consumption app without a package has none, so the first `azd up` fails;
//   - Microsoft.Graph child resources declared with `parent:` or a short name (the extension
//     supports neither) and federated credentials that do not trust the managed identity the way
//     Entra documents it (issuer <login endpoint><tenant>/v2.0, subject = principal id);
//   - Key Vault-backed named values read through a user-assigned identity, which API Management
//     refuses once the vault firewall is on, or created before their reader's role assignment has
//     had time to propagate (keyvault.go).

// ReferenceCheckedOn is the date the allow-list below was last checked against the template reference.
const ReferenceCheckedOn = "2026-11-23"

// VerifiedAPIVersions lists, per resource type, the API versions whose reference page was read and
// whose properties, casing, nesting and allowed values match what infra/ sets. Adding a type or
// bumping a version means reading its page again and recording it here (and in infra/README.md).
var VerifiedAPIVersions = map[string][]string{
	"Microsoft.Resources/resourceGroups":                            {"2024-03-01"},
	"Microsoft.ManagedIdentity/userAssignedIdentities":              {"2023-01-31"},
	"Microsoft.Authorization/roleAssignments":                       {"2022-04-01"},
	"Microsoft.OperationalInsights/workspaces":                      {"2023-09-01"},
	"Microsoft.Insights/components":                                 {"2020-02-02"},
	"Microsoft.Storage/storageAccounts":                             {"2023-05-01"},
	"Microsoft.Storage/storageAccounts/blobServices":                {"2023-05-01"},
	"Microsoft.Storage/storageAccounts/blobServices/containers":     {"2023-05-01"},
	"Microsoft.DocumentDB/databaseAccounts":                         {"2024-11-15"},
	"Microsoft.DocumentDB/databaseAccounts/sqlDatabases":            {"2024-11-15"},
	"Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers": {"2024-11-15"},
	"Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments":      {"2024-11-15"},
	"Microsoft.KeyVault/vaults":                                     {"2023-07-01"},
	"Microsoft.KeyVault/vaults/secrets":                             {"2023-07-01"},
	"Microsoft.Web/serverfarms":                                     {"2024-04-01"},
	"Microsoft.Web/sites":                                           {"2024-04-01"},
	"Microsoft.Web/sites/config":                                    {"2024-04-01"},
	"Microsoft.ApiManagement/service":                               {"2024-05-01"},
	"Microsoft.ApiManagement/service/loggers":                       {"2024-05-01"},
	"Microsoft.ApiManagement/service/diagnostics":                   {"2024-05-01"},
	"Microsoft.ApiManagement/service/namedValues":                   {"2024-05-01"},
	"Microsoft.ApiManagement/service/backends":                      {"2024-05-01"},
	"Microsoft.ApiManagement/service/policyFragments":               {"2024-05-01"},
	"Microsoft.ApiManagement/service/policies":                      {"2024-05-01"},
	"Microsoft.ApiManagement/service/apis":                          {"2024-05-01"},
	"Microsoft.ApiManagement/service/apis/policies":                 {"2024-05-01"},
	"Microsoft.ApiManagement/service/apis/operations":               {"2024-05-01"},
	"Microsoft.ApiManagement/service/apis/operations/policies":      {"2024-05-01"},
	"Microsoft.Network/virtualNetworks":                             {"2024-05-01"},
	"Microsoft.Network/privateEndpoints":                            {"2024-05-01"},
	"Microsoft.Network/privateEndpoints/privateDnsZoneGroups":       {"2024-05-01"},
	"Microsoft.Network/privateDnsZones":                             {"2024-06-01"},
	"Microsoft.Network/privateDnsZones/virtualNetworkLinks":         {"2024-06-01"},
	"Microsoft.Graph/applications":                                  {"v1.0"},
	"Microsoft.Graph/applications/federatedIdentityCredentials":     {"v1.0"},
	"Microsoft.Graph/servicePrincipals":                             {"v1.0"},
	"Microsoft.Graph/oauth2PermissionGrants":                        {"v1.0"},
}

// ProvisionTimeForbidden are resource types that call into the Functions host: they cannot be
// created before the package is deployed (azure-functions-host #11379 for Flex Consumption), so
// `azd provision` must not declare them. The gateway's host key is set by the postdeploy hook.
var ProvisionTimeForbidden = map[string]string{
	"Microsoft.Web/sites/host":              "needs a running Functions host",
	"Microsoft.Web/sites/host/functionKeys": "needs a running Functions host; the handler's postdeploy hook (go run ./cmd/azdkeys -set-function-key) sets the key",
	"Microsoft.Web/sites/host/systemKeys":   "needs a running Functions host",
	"Microsoft.Web/sites/functions":         "needs a running Functions host; functions come from the deployed package",
	"Microsoft.Web/sites/functions/keys":    "needs a running Functions host",
}

// ResourceDecl is one `resource` declaration with its type resolved (nested declarations carry the
// enclosing resource's type as prefix, as ARM names them).
type ResourceDecl struct {
	Symbol   string
	Type     string
	Version  string
	Existing bool
	Line     int
	Body     string // the object literal, braces included (empty when it could not be read)
}

var resourceRE = regexp.MustCompile(`(?m)^([ \t]*)resource\s+([A-Za-z_][A-Za-z0-9_]*)\s+'([^'@]+)@([^']+)'\s*(existing)?`)

// Resources lists the resource declarations of a Bicep file.
func Resources(src string) []ResourceDecl {
	var out []ResourceDecl
	type open struct {
		typ      string
		from, to int
	}
	var stack []open
	for _, m := range resourceRE.FindAllStringSubmatchIndex(src, -1) {
		if !inCode(src, m[0]+len(src[m[2]:m[3]])) {
			continue
		}
		d := ResourceDecl{Symbol: src[m[4]:m[5]], Type: src[m[6]:m[7]], Version: src[m[8]:m[9]], Existing: m[10] >= 0, Line: lineAt(src, m[0])}
		for len(stack) > 0 && m[0] >= stack[len(stack)-1].to {
			stack = stack[:len(stack)-1]
		}
		if !strings.Contains(d.Type, "/") && len(stack) > 0 {
			d.Type = stack[len(stack)-1].typ + "/" + d.Type
		}
		// The body is the first `{` after `=` (a `[for …: {` loop or an `if (…) {` included).
		if eq := strings.Index(src[m[1]:], "="); eq >= 0 {
			if ob := strings.Index(src[m[1]+eq:], "{"); ob >= 0 {
				start := m[1] + eq + ob
				if end, err := matchBracket(src, start); err == nil {
					d.Body = src[start : end+1]
					stack = append(stack, open{d.Type, start, end + 1})
				}
			}
		}
		out = append(out, d)
	}
	return out
}

// CheckAPIVersions: every resource type and API version in files is one VerifiedAPIVersions lists.
func CheckAPIVersions(files map[string]string, verified map[string][]string) []string {
	var problems []string
	for _, file := range sortedMapKeys(files) {
		for _, d := range Resources(files[file]) {
			versions, ok := verified[d.Type]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("%s:%d: resource %s has type %s, which nobody checked against the template reference; read its page and add it to VerifiedAPIVersions (internal/infracheck/reference.go)", file, d.Line, d.Symbol, d.Type))
			case !slices.Contains(versions, d.Version):
				problems = append(problems, fmt.Sprintf("%s:%d: %s@%s is not a verified API version (verified: %s); use one of them or check the reference page of %s and record it", file, d.Line, d.Type, d.Version, strings.Join(versions, ", "), d.Version))
			}
			if why, bad := ProvisionTimeForbidden[d.Type]; bad && !d.Existing {
				problems = append(problems, fmt.Sprintf("%s:%d: %s cannot be provisioned before the package is deployed (%s)", file, d.Line, d.Type, why))
			}
		}
	}
	return problems
}

var (
	parentPropRE = regexp.MustCompile(`(?m)^\s*parent\s*:`)
	namePropRE   = regexp.MustCompile(`(?m)^\s*name\s*:\s*'([^'\n]*)'`)
)

// CheckGraphDeclarations: Microsoft.Graph resources follow what the extension supports and
// federated credentials trust a managed identity the documented way.
//   - no `parent:` (the extension rejects it) and child names in the full `<parent uniqueName>/<name>`
//     form ("Invalid identifier format" otherwise);
//   - a federated credential's issuer is <environment().authentication.loginEndpoint><tenant>/v2.0,
//     its subject a principal id, its audience the per-cloud value (never a literal), and the app's
//     identifier URI is api://<appId>.
func CheckGraphDeclarations(file, src string) []string {
	var problems []string
	issuerVar := regexp.MustCompile(`(?m)^var issuer = '\$\{environment\(\)\.authentication\.loginEndpoint\}\$\{tenant\(\)\.tenantId\}/v2\.0'\s*$`).MatchString(src)
	sawFIC := false
	for _, d := range Resources(src) {
		if !strings.HasPrefix(d.Type, "Microsoft.Graph/") {
			continue
		}
		if parentPropRE.MatchString(topLevelText(d.Body)) {
			problems = append(problems, fmt.Sprintf("%s:%d: %s uses `parent:`, which Microsoft Graph Bicep types do not support; nest it in the parent or give the full name '<parent uniqueName>/<name>'", file, d.Line, d.Symbol))
		}
		if strings.Count(d.Type, "/") < 2 {
			continue
		}
		name := namePropRE.FindStringSubmatch(topLevelText(d.Body))
		if name == nil || !regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*\.uniqueName\}/.+`).MatchString(name[1]) {
			problems = append(problems, fmt.Sprintf("%s:%d: %s must be named '${<app>.uniqueName}/<name>' (the Graph extension only accepts the full name of a child resource)", file, d.Line, d.Symbol))
		}
		if d.Type != "Microsoft.Graph/applications/federatedIdentityCredentials" {
			continue
		}
		sawFIC = true
		body := d.Body // a federated credential has no nested objects; its arrays matter here
		if !regexp.MustCompile(`(?m)^\s*issuer\s*:\s*issuer\s*$`).MatchString(body) || !issuerVar {
			problems = append(problems, fmt.Sprintf("%s:%d: %s: issuer must be `issuer`, declared as var issuer = '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0' (sovereign-cloud aware, v2 issuer)", file, d.Line, d.Symbol))
		}
		if !regexp.MustCompile(`(?m)^\s*subject\s*:\s*[A-Za-z_][A-Za-z0-9_.]*\.principalId\s*$`).MatchString(body) {
			problems = append(problems, fmt.Sprintf("%s:%d: %s: subject must be the managed identity's principal (object) id", file, d.Line, d.Symbol))
		}
		if m := regexp.MustCompile(`(?m)^\s*audiences\s*:\s*\[([^\]]*)\]`).FindStringSubmatch(body); m == nil || strings.Contains(m[1], "'") {
			problems = append(problems, fmt.Sprintf("%s:%d: %s: audiences must be the per-cloud parameter (api://AzureADTokenExchange only in the public cloud), not a literal", file, d.Line, d.Symbol))
		}
	}
	if sawFIC && !strings.Contains(src, "identifierUris: [ 'api://${") {
		problems = append(problems, fmt.Sprintf("%s: the app registration must declare identifierUris: [ 'api://${<app>.appId}' ] (the default URI Entra always allows)", file))
	}
	return problems
}

// topLevelText is the inside of body with nested brackets emptied (newlines kept): properties of
// nested resources or objects do not count as the resource's own.
func topLevelText(body string) string {
	if len(body) < 2 {
		return body
	}
	var b strings.Builder
	depth := 0
	scan(body, 1, len(body)-1, func(i int, k byteKind) bool {
		c := body[i]
		opening := k == kindCode && (c == '{' || c == '[' || c == '(')
		closing := k == kindCode && (c == '}' || c == ']' || c == ')')
		switch {
		case opening:
			if depth == 0 {
				b.WriteByte(c)
			}
			depth++
		case closing:
			depth--
			if depth == 0 {
				b.WriteByte(c)
			}
		case depth == 0 || c == '\n':
			b.WriteByte(c)
		}
		return true
	})
	return b.String()
}
