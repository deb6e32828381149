package infracheck

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Each Check* function returns problems as "file:line: what is wrong; what to do" strings, so the
// tests can run them on the repository and on fixtures that prove they catch what they claim.

var (
	namedValueRE  = regexp.MustCompile(`\{\{([A-Za-z0-9._-]+)\}\}`)
	nameFieldRE   = regexp.MustCompile(`name:\s*'([^']+)'`)
	valueFieldRE  = regexp.MustCompile(`value:\s*'([^']+)'`)
	pkFieldRE     = regexp.MustCompile(`partitionKey:\s*'([^']+)'`)
	secretishName = regexp.MustCompile(`(?i)(key|secret|password|token|connectionstring)$`)
)

// BicepNamedValues are the named values Bicep can create: plain values by name (main.bicep's
// plainValues) and Key Vault secrets by name (keyvault.bicep's secretValues).
type BicepNamedValues struct {
	Plain   map[string]int // name → line in infra/main.bicep
	Secrets map[string]int // name → line in infra/modules/keyvault.bicep
}

// ReadBicepNamedValues extracts the named-value sources from main.bicep and keyvault.bicep.
func ReadBicepNamedValues(mainBicep, keyVaultBicep string) (BicepNamedValues, error) {
	nv := BicepNamedValues{Plain: map[string]int{}, Secrets: map[string]int{}}
	plain, err := ObjectEntries(mainBicep, "plainValues")
	if err != nil {
		return nv, fmt.Errorf("infra/main.bicep: %w", err)
	}
	for _, e := range plain {
		nv.Plain[e.Key] = e.Line
	}
	values, err := ObjectEntries(keyVaultBicep, "secretValues")
	if err != nil {
		return nv, fmt.Errorf("infra/modules/keyvault.bicep: %w", err)
	}
	for _, e := range values {
		nv.Secrets[e.Key] = e.Line
	}
	// Every secret the vault creates (secretSpecs) needs a value, and every value a secret.
	block, _, err := Block(keyVaultBicep, "secretSpecs", '[')
	if err != nil {
		return nv, fmt.Errorf("infra/modules/keyvault.bicep: %w", err)
	}
	specs := map[string]bool{}
	for _, m := range nameFieldRE.FindAllStringSubmatch(block, -1) {
		specs[m[1]] = true
		if _, ok := nv.Secrets[m[1]]; !ok {
			return nv, fmt.Errorf("infra/modules/keyvault.bicep: secret %q is in secretSpecs but has no entry in secretValues", m[1])
		}
	}
	for name := range nv.Secrets {
		if !specs[name] {
			return nv, fmt.Errorf("infra/modules/keyvault.bicep: secretValues has %q, which secretSpecs does not create", name)
		}
	}
	return nv, nil
}

// CheckNamedValues: every {{name}} a deployed policy uses and every manifest named value has a
// source in Bicep of the right kind (secret ⇔ Key Vault). policies maps manifest-relative paths to content.
func CheckNamedValues(m *Manifest, policies map[string]string, nv BicepNamedValues) []string {
	var problems []string
	howTo := func(name string) string {
		return fmt.Sprintf("add '%s' to plainValues in infra/main.bicep or, for a secret, to secretValues in infra/modules/keyvault.bicep (with its key in cmd/azdkeys), and declare it in %s namedValues", name, ManifestPath)
	}
	for _, path := range sortedMapKeys(policies) {
		src := policies[path]
		for _, mm := range namedValueRE.FindAllStringSubmatchIndex(src, -1) {
			name := src[mm[2]:mm[3]]
			if _, ok := nv.Plain[name]; ok {
				continue
			}
			if _, ok := nv.Secrets[name]; ok {
				continue
			}
			problems = append(problems, fmt.Sprintf("apim-policies/%s:%d uses {{%s}}, which Bicep does not create; %s", path, lineAt(src, mm[0]), name, howTo(name)))
		}
	}
	for _, v := range m.NamedValues {
		_, plain := nv.Plain[v.Name]
		_, secret := nv.Secrets[v.Name]
		switch {
		case v.Secret && !secret:
			problems = append(problems, fmt.Sprintf("%s: named value %q is secret, but infra/modules/keyvault.bicep holds no secret %q for it to reference; add one to secretValues (and its key to cmd/azdkeys)", ManifestPath, v.Name, v.Name))
		case !v.Secret && !plain && secret:
			problems = append(problems, fmt.Sprintf("%s: named value %q is declared non-secret, but Bicep only has it as a Key Vault secret; mark it \"secret\": true", ManifestPath, v.Name))
		case !v.Secret && !plain:
			problems = append(problems, fmt.Sprintf("%s: named value %q has no value in infra/main.bicep plainValues; %s", ManifestPath, v.Name, howTo(v.Name)))
		}
	}
	return problems
}

// CheckBackends: every manifest backend has a URL in main.bicep's backendUrls.
func CheckBackends(m *Manifest, mainBicep string) []string {
	entries, err := ObjectEntries(mainBicep, "backendUrls")
	if err != nil {
		return []string{"infra/main.bicep: " + err.Error()}
	}
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Key] = true
	}
	var problems []string
	for _, b := range m.Backends {
		if !have[b.ID] {
			problems = append(problems, fmt.Sprintf("%s: backend %q has no URL in infra/main.bicep backendUrls; add `%s: <url>`", ManifestPath, b.ID, b.ID))
		}
	}
	return problems
}

// Variable mirrors handler/config.Variable (kept separate so that the checks can run on fixtures).
type Variable struct {
	Name     string
	Required bool
	Default  string
	Desc     string
}

// forbiddenFlexSettings are app settings Flex Consumption rejects or ignores.
var forbiddenFlexSettings = []string{"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE",
	"WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "WEBSITE_CONTENTSHARE", "SCM_DO_BUILD_DURING_DEPLOYMENT", "ENABLE_ORYX_BUILD",
	"WEBSITE_TIME_ZONE", "TZ", "linuxFxVersion"}

// CheckHandlerSettings: main.bicep's handlerSettings sets every required handler variable and only
// variables the handler reads; optional ones carry a default or a description; no setting Flex forbids.
func CheckHandlerSettings(mainBicep, functionBicep string, vars []Variable) []string {
	settings, err := ObjectEntries(mainBicep, "handlerSettings")
	if err != nil {
		return []string{"infra/main.bicep: " + err.Error()}
	}
	known := map[string]Variable{}
	for _, v := range vars {
		known[v.Name] = v
	}
	set := map[string]bool{}
	var problems []string
	for _, s := range settings {
		set[s.Key] = true
		if _, ok := known[s.Key]; !ok {
			problems = append(problems, fmt.Sprintf("infra/main.bicep:%d: handlerSettings sets %s, which handler/config does not read (config.Variables); fix the name or add the variable there", s.Line, s.Key))
		}
	}
	for _, v := range vars {
		switch {
		case v.Required && !set[v.Name]:
			problems = append(problems, fmt.Sprintf("infra/main.bicep: handler/config requires %s but handlerSettings does not set it; the function would exit at start", v.Name))
		case !v.Required && !set[v.Name] && v.Default == "" && strings.TrimSpace(v.Desc) == "":
			problems = append(problems, fmt.Sprintf("handler/config: optional %s is neither set by infra/main.bicep nor documented (no default, no description)", v.Name))
		}
	}
	for _, name := range forbiddenFlexSettings {
		re := regexp.MustCompile(`(?m)^\s*'?` + regexp.QuoteMeta(name) + `'?\s*:`)
		for file, src := range map[string]string{"infra/main.bicep": mainBicep, "infra/modules/function.bicep": functionBicep} {
			if loc := re.FindStringIndex(src); loc != nil {
				problems = append(problems, fmt.Sprintf("%s:%d: %s must not be set on Flex Consumption (runtime and package live in functionAppConfig)", file, lineAt(src, loc[0]), name))
			}
		}
	}
	sort.Strings(problems)
	return problems
}

// Route is one HTTP function of functions/<name>/function.json.
type Route struct {
	Function  string
	Template  string
	AuthLevel string
	re        *regexp.Regexp
}

// ParseFunctionJSON reads the httpTrigger binding of a function.json.
func ParseFunctionJSON(name string, raw []byte) (Route, error) {
	var fj struct {
		Bindings []struct {
			Type      string `json:"type"`
			Direction string `json:"direction"`
			AuthLevel string `json:"authLevel"`
			Route     string `json:"route"`
		} `json:"bindings"`
	}
	if err := json.Unmarshal(raw, &fj); err != nil {
		return Route{}, fmt.Errorf("functions/%s/function.json: %w", name, err)
	}
	for _, b := range fj.Bindings {
		if b.Type == "httpTrigger" {
			r := Route{Function: name, Template: b.Route, AuthLevel: b.AuthLevel}
			if r.Template == "" {
				r.Template = name
			}
			r.re = routeRegexp(r.Template)
			return r, nil
		}
	}
	return Route{}, fmt.Errorf("functions/%s/function.json: no httpTrigger binding", name)
}

// routeRegexp turns an ASP.NET-style template into a path regexp: {x} is one segment, {*x} the rest.
func routeRegexp(tmpl string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^/")
	for i, seg := range strings.Split(strings.Trim(tmpl, "/"), "/") {
		if i > 0 {
			b.WriteString("/")
		}
		switch {
		case strings.HasPrefix(seg, "{*"):
			b.WriteString(".*")
		case strings.HasPrefix(seg, "{"):
			b.WriteString("[^/]+")
		default:
			b.WriteString(regexp.QuoteMeta(seg))
		}
	}
	b.WriteString("/?$")
	return regexp.MustCompile(b.String())
}

// Matches reports whether the function serves path (a prefix path ending in "/" matches when the
// route accepts anything below it).
func (r Route) Matches(path string) bool {
	if strings.HasSuffix(path, "/") && r.re.MatchString(path+"x") {
		return true
	}
	return r.re.MatchString(path)
}

// BackendPath is a path the gateway sends to the function, with where it was found.
type BackendPath struct {
	Path  string
	Where string
}

var (
	functionURLRE  = regexp.MustCompile(`\{\{function-base-url\}\}([^"'<>\s)&]*)`)
	baseURLAttrRE  = regexp.MustCompile(`base-url\s*=\s*"\{\{function-base-url\}\}([^"]*)"`)
	rewriteURIRE   = regexp.MustCompile(`<rewrite-uri\s[^>]*template\s*=\s*"([^"]*)"`)
	templateParmRE = regexp.MustCompile(`\{[^}]+\}`)
)

// GatewayBackendPaths lists the function paths the gateway calls:
//   - URLs built from {{function-base-url}} (send-request set-url), as written;
//   - set-backend-service base-url="{{function-base-url}}<p>": p joined with the rewrite-uri
//     template of the same file, or else with the URL templates of the operations the file serves;
//   - operations of APIs whose backendId is one of functionBackends.
func GatewayBackendPaths(m *Manifest, policies map[string]string, functionBackends map[string]bool) []BackendPath {
	var out []BackendPath
	// opsOf: the URL templates a policy file applies to (API-level files cover all their operations).
	opsOf := map[string][]string{}
	apiPolicy := map[string]string{}
	for _, a := range m.APIs {
		apiPolicy[a.Name] = a.Policy
	}
	for _, o := range m.Operations {
		if o.Policy != "" {
			opsOf[o.Policy] = append(opsOf[o.Policy], o.URLTemplate)
		}
		if p := apiPolicy[o.API]; p != "" {
			opsOf[p] = append(opsOf[p], o.URLTemplate)
		}
	}
	join := func(base, rest string) string {
		p := strings.TrimSuffix(base, "/") + "/" + strings.TrimPrefix(rest, "/")
		return templateParmRE.ReplaceAllString(p, "x")
	}
	for _, path := range sortedMapKeys(policies) {
		src := policies[path]
		inBaseURL := map[int]bool{}
		for _, mm := range baseURLAttrRE.FindAllStringSubmatchIndex(src, -1) {
			base := src[mm[2]:mm[3]]
			where := fmt.Sprintf("apim-policies/%s:%d", path, lineAt(src, mm[0]))
			inBaseURL[strings.Index(src[mm[0]:], "{{")+mm[0]] = true
			rewrites := rewriteURIRE.FindAllStringSubmatch(src, -1)
			switch {
			case len(rewrites) > 0:
				for _, rw := range rewrites {
					out = append(out, BackendPath{Path: join(base, rw[1]), Where: where + " (with rewrite-uri)"})
				}
			case len(opsOf[path]) > 0:
				for _, t := range opsOf[path] {
					out = append(out, BackendPath{Path: join(base, t), Where: where + " (operation " + t + ")"})
				}
			default:
				out = append(out, BackendPath{Path: join(base, ""), Where: where})
			}
		}
		for _, mm := range functionURLRE.FindAllStringSubmatchIndex(src, -1) {
			if inBaseURL[mm[0]] {
				continue
			}
			p := src[mm[2]:mm[3]]
			if p == "" {
				p = "/"
			}
			out = append(out, BackendPath{Path: p, Where: fmt.Sprintf("apim-policies/%s:%d", path, lineAt(src, mm[0]))})
		}
	}
	apis := map[string]bool{}
	for _, a := range m.APIs {
		if functionBackends[a.BackendID] {
			apis[a.Name] = true
		}
	}
	for _, o := range m.Operations {
		if apis[o.API] {
			out = append(out, BackendPath{Path: join("", o.URLTemplate), Where: fmt.Sprintf("%s operation %s/%s", ManifestPath, o.API, o.Name)})
		}
	}
	return out
}

// CheckRoutes: every path the gateway calls has a function route, every function route is called
// by the gateway, and every route needs the function key.
func CheckRoutes(routes []Route, paths []BackendPath) []string {
	var problems []string
	used := map[string]bool{}
	for _, p := range paths {
		matched := false
		for _, r := range routes {
			if r.Matches(p.Path) {
				matched, used[r.Function] = true, true
			}
		}
		if !matched {
			problems = append(problems, fmt.Sprintf("%s: the gateway calls the function at %s, but no functions/*/function.json route serves it", p.Where, p.Path))
		}
	}
	for _, r := range routes {
		if !used[r.Function] {
			problems = append(problems, fmt.Sprintf("functions/%s/function.json: route %q is never called by the gateway (no policy or API targets it); remove it or wire it in %s", r.Function, r.Template, ManifestPath))
		}
		if r.AuthLevel != "function" {
			problems = append(problems, fmt.Sprintf("functions/%s/function.json: authLevel %q, want \"function\": only the gateway, holding the function key, may call it", r.Function, r.AuthLevel))
		}
	}
	return problems
}

// CheckSecrets: no @secure() parameter has a default, no output or app setting carries a secure
// parameter, parameters that look secret are @secure(), and secure parameters come from the azd
// environment without defaults. files maps repository-relative paths to Bicep sources.
func CheckSecrets(files map[string]string, parametersJSON []byte, notSecret map[string]bool) []string {
	var problems []string
	for _, file := range sortedMapKeys(files) {
		src := files[file]
		var secure []string
		for _, p := range Params(src) {
			if p.Secure {
				secure = append(secure, p.Name)
				if p.HasDefault {
					problems = append(problems, fmt.Sprintf("%s:%d: @secure() parameter %s has a default; secrets come only from the azd environment", file, p.Line, p.Name))
				}
			} else if secretishName.MatchString(p.Name) && !notSecret[p.Name] {
				problems = append(problems, fmt.Sprintf("%s:%d: parameter %s looks secret but is not @secure(); mark it, or list it as not secret in the test", file, p.Line, p.Name))
			}
		}
		refs := func(expr string) string {
			for _, s := range secure {
				if regexp.MustCompile(`\b` + s + `\b`).MatchString(expr) {
					return s
				}
			}
			return ""
		}
		for _, o := range Outputs(src) {
			if s := refs(o.Expr); s != "" {
				problems = append(problems, fmt.Sprintf("%s:%d: output %s exposes @secure() parameter %s (outputs are stored in deployment history and the azd environment)", file, o.Line, o.Name, s))
			}
			if secretishName.MatchString(o.Name) && !notSecret[o.Name] {
				problems = append(problems, fmt.Sprintf("%s:%d: output %s is named like a secret; outputs must hold none", file, o.Line, o.Name))
			}
		}
		for _, block := range []string{"handlerSettings", "platformSettings"} {
			entries, err := ObjectEntries(src, block)
			if err != nil {
				continue
			}
			for _, e := range entries {
				if s := refs(e.Value); s != "" {
					problems = append(problems, fmt.Sprintf("%s:%d: app setting %s holds @secure() parameter %s; app settings are readable by anyone with read access to the site", file, e.Line, e.Key, s))
				}
			}
		}
	}

	var pf struct {
		Parameters map[string]struct {
			Value any `json:"value"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(parametersJSON, &pf); err != nil {
		return append(problems, "infra/main.parameters.json: "+err.Error())
	}
	mainParams := map[string]Param{}
	for _, p := range Params(files["infra/main.bicep"]) {
		mainParams[p.Name] = p
	}
	envRef := regexp.MustCompile(`^\$\{[A-Z][A-Z0-9_]*\}$`)
	for _, name := range sortedMapKeys(pf.Parameters) {
		p, ok := mainParams[name]
		if !ok {
			problems = append(problems, fmt.Sprintf("infra/main.parameters.json: parameter %s is not declared in infra/main.bicep", name))
			continue
		}
		v, _ := pf.Parameters[name].Value.(string)
		if p.Secure && !envRef.MatchString(v) {
			problems = append(problems, fmt.Sprintf("infra/main.parameters.json: @secure() parameter %s must be exactly ${VAR} from the azd environment (no literal, no =default)", name))
		}
	}
	for _, p := range Params(files["infra/main.bicep"]) {
		if _, ok := pf.Parameters[p.Name]; !ok && !p.HasDefault {
			problems = append(problems, fmt.Sprintf("infra/main.bicep:%d: parameter %s has no default and no value in infra/main.parameters.json; azd would prompt for it", p.Line, p.Name))
		}
	}
	return problems
}

// keyMaterialPatterns must not occur in deployment artefacts: account keys, connection strings
// with keys, and the functions that fetch them.
var keyMaterialPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\blist(Keys|ConnectionStrings|Secrets|AccountSas|ServiceSas)\s*\(`),
	regexp.MustCompile(`(?i)AccountKey\s*=`),
	regexp.MustCompile(`(?i)SharedAccessKey\s*=`),
	regexp.MustCompile(`(?i)DefaultEndpointsProtocol\s*=`),
	regexp.MustCompile(`(?i)\bprimary(Master)?Key\b`),
	regexp.MustCompile(`(?i)\bmasterKey\b`),
	regexp.MustCompile(`(?i)allowSharedKeyAccess:\s*true`),
	regexp.MustCompile(`(?i)disableLocalAuth:\s*false`),
}

// CheckNoKeyMaterial scans deployment artefacts for account keys and connection strings with keys.
func CheckNoKeyMaterial(files map[string]string) []string {
	var problems []string
	for _, file := range sortedMapKeys(files) {
		src := files[file]
		for _, re := range keyMaterialPatterns {
			for _, loc := range re.FindAllStringIndex(src, -1) {
				if !strings.HasSuffix(file, ".bicep") || !inComment(src, loc[0]) {
					problems = append(problems, fmt.Sprintf("%s:%d: %q: no account key, master key or connection string with a key may be used; use a managed identity and RBAC", file, lineAt(src, loc[0]), src[loc[0]:loc[1]]))
				}
			}
		}
	}
	return problems
}

func sortedMapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// CheckFunctionKeySent: every policy file that calls the function also sends the function key
// (its routes are authLevel function; without x-functions-key the host answers 401).
func CheckFunctionKeySent(policies map[string]string) []string {
	var problems []string
	for _, path := range sortedMapKeys(policies) {
		src := policies[path]
		if i := strings.Index(src, "{{function-base-url}}"); i >= 0 && !strings.Contains(src, "{{function-key}}") {
			problems = append(problems, fmt.Sprintf("apim-policies/%s:%d calls the function without {{function-key}}; set the x-functions-key header in the same policy", path, lineAt(src, i)))
		}
	}
	return problems
}

var (
	outputRefRE  = regexp.MustCompile(`\b([A-Za-z_][A-Za-z0-9_]*)\.outputs\.([A-Za-z_][A-Za-z0-9_]*)`)
	paramsOpenRE = regexp.MustCompile(`(?m)^\s*params:\s*\{`)
)

// CheckModuleWiring does the part of Bicep's compile-time checking that text can: every module a
// file declares exists, receives only parameters it declares and every parameter it requires, and
// every <module>.outputs.<name> reference names an output the module declares. files maps
// repository-relative slash paths to sources.
func CheckModuleWiring(files map[string]string) []string {
	var problems []string
	for _, file := range sortedMapKeys(files) {
		src := files[file]
		modules := map[string]string{} // symbol → module file
		for _, m := range moduleDeclRE.FindAllStringSubmatchIndex(src, -1) {
			symbol, rel := src[m[2]:m[3]], src[m[4]:m[5]]
			line := lineAt(src, m[0])
			target := pathJoin(file, rel)
			modSrc, ok := files[target]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s:%d: module %s refers to %s, which does not exist", file, line, symbol, rel))
				continue
			}
			modules[symbol] = target
			end, err := matchBracket(src, m[1]-1)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s:%d: %v", file, line, err))
				continue
			}
			body := src[m[1]-1 : end+1]
			passed := map[string]bool{}
			if loc := paramsOpenRE.FindStringIndex(body); loc != nil {
				entries, err := ObjectEntries(body[loc[0]:], "params")
				if err == nil {
					for _, e := range entries {
						passed[e.Key] = true
					}
				}
			}
			declared := map[string]Param{}
			for _, p := range Params(modSrc) {
				declared[p.Name] = p
			}
			for _, name := range sortedMapKeys(passed) {
				if _, ok := declared[name]; !ok {
					problems = append(problems, fmt.Sprintf("%s:%d: module %s passes %s, which %s does not declare", file, line, symbol, name, target))
				}
			}
			for _, name := range sortedMapKeys(declared) {
				p := declared[name]
				if !p.HasDefault && !strings.HasSuffix(p.Type, "?") && !passed[name] {
					problems = append(problems, fmt.Sprintf("%s:%d: module %s does not pass %s, which %s requires (no default)", file, line, symbol, name, target))
				}
			}
		}
		for _, m := range outputRefRE.FindAllStringSubmatchIndex(src, -1) {
			symbol, out := src[m[2]:m[3]], src[m[4]:m[5]]
			target, ok := modules[symbol]
			if !ok || !inCode(src, m[0]) {
				continue
			}
			found := false
			for _, o := range Outputs(files[target]) {
				if o.Name == out {
					found = true
				}
			}
			if !found {
				problems = append(problems, fmt.Sprintf("%s:%d: %s.outputs.%s: %s has no output %s", file, lineAt(src, m[0]), symbol, out, target, out))
			}
		}
	}
	return problems
}

// pathJoin resolves a module path relative to the file that declares it (slash paths).
func pathJoin(file, rel string) string {
	dir := file[:strings.LastIndex(file, "/")+1]
	parts := strings.Split(dir+rel, "/")
	var out []string
	for _, p := range parts {
		switch p {
		case ".", "":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, p)
		}
	}
	return strings.Join(out, "/")
}
