package infracheck

import (
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"example.com/graphmcp/handler/config"
	"example.com/graphmcp/handler/graphtools"
	"example.com/graphmcp/handler/store/cosmos"
	"example.com/graphmcp/internal/testdeps"
)

var update = flag.Bool("update", false, "rewrite the generated policyXml block of infra/modules/apim-gateway.bicep")

// repo is the repository as the checks see it.
type repo struct {
	root     string
	bicep    map[string]string // repository-relative path → source
	manifest *Manifest
	policies map[string]string // manifest-relative path → content, for every file the manifest references
}

func loadRepo(t *testing.T) *repo {
	t.Helper()
	r := &repo{root: testdeps.RepoRoot(t), bicep: map[string]string{}, policies: map[string]string{}}
	for _, f := range bicepFiles(t, r.root) {
		rel, _ := filepath.Rel(r.root, f)
		r.bicep[filepath.ToSlash(rel)] = readFile(t, r.root, rel)
	}
	m, err := LoadManifest(r.root)
	if err != nil {
		t.Fatal(err)
	}
	r.manifest = m
	for _, p := range m.PolicyFiles() {
		b, err := os.ReadFile(filepath.Join(r.root, "apim-policies", filepath.FromSlash(p)))
		if err != nil {
			t.Errorf("%s references apim-policies/%s, which cannot be read: %v", ManifestPath, p, err)
			continue
		}
		r.policies[p] = string(b)
	}
	return r
}

func (r *repo) src(t *testing.T, rel string) string {
	t.Helper()
	s, ok := r.bicep[rel]
	if !ok {
		t.Fatalf("%s is missing", rel)
	}
	return s
}

func report(t *testing.T, problems []string) {
	t.Helper()
	for _, p := range problems {
		t.Error(p)
	}
}

// TestNamedValuesComeFromBicep: every {{named value}} a deployed policy uses, and every named value
// the manifest declares, is created by Bicep — secrets from Key Vault, the rest as plain values.
func TestNamedValuesComeFromBicep(t *testing.T) {
	r := loadRepo(t)
	nv, err := ReadBicepNamedValues(r.src(t, "infra/main.bicep"), r.src(t, "infra/modules/keyvault.bicep"))
	if err != nil {
		t.Fatal(err)
	}
	report(t, CheckNamedValues(r.manifest, r.policies, nv))
	report(t, CheckBackends(r.manifest, r.src(t, "infra/main.bicep")))
}

// policyFilesOnDisk lists the policy documents under apim-policies/ (toolchain, stub, emulator and
// test fixtures excluded), manifest-relative.
func policyFilesOnDisk(t *testing.T, root string) []string {
	t.Helper()
	base := filepath.Join(root, "apim-policies")
	skip := map[string]bool{"toolchain": true, "stub": true, "emulator": true, "testdata": true, "node_modules": true}
	var out []string
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (skip[d.Name()] || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".xml") {
			rel, _ := filepath.Rel(base, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestPolicyFileMap: the generated policyXml map in apim-gateway.bicep loads exactly the policy
// files the manifest references (refresh with -update), every load*Content target of every Bicep
// file exists, and every policy file on disk is deployed.
func TestPolicyFileMap(t *testing.T) {
	r := loadRepo(t)
	const gw = "infra/modules/apim-gateway.bicep"
	src := r.src(t, gw)
	want := GeneratedPolicyMap(r.manifest.PolicyFiles())
	got, err := Generated(src)
	if err != nil {
		t.Fatalf("%s: %v", gw, err)
	}
	if got != want {
		if *update {
			out, err := ReplaceGenerated(src, want)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(r.root, filepath.FromSlash(gw)), []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			r.bicep[gw] = out
			t.Logf("rewrote the policyXml block of %s", gw)
		} else {
			t.Errorf("%s: the generated policyXml block does not match %s; run `go test ./internal/infracheck -run TestPolicyFileMap -update`", gw, ManifestPath)
		}
	}

	for _, rel := range sortedMapKeys(r.bicep) {
		dir := filepath.Dir(filepath.Join(r.root, filepath.FromSlash(rel)))
		for _, e := range LoadPaths(r.bicep[rel]) {
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(e.Key))); err != nil {
				t.Errorf("%s:%d loads %s, which does not exist", rel, e.Line, e.Key)
			}
		}
	}

	deployed := map[string]bool{}
	for _, p := range r.manifest.PolicyFiles() {
		deployed[p] = true
	}
	for _, p := range policyFilesOnDisk(t, r.root) {
		if !deployed[p] {
			t.Errorf("apim-policies/%s is not referenced by %s, so Bicep never deploys it; reference it (operation, API, fragment or global policy) or move it out of apim-policies/", p, ManifestPath)
		}
	}
}

// TestHandlerEnvironmentSetByBicep: every variable handler/config reads is set by Bicep or is
// optional with a default or a description, and Bicep sets nothing the handler does not read.
func TestHandlerEnvironmentSetByBicep(t *testing.T) {
	r := loadRepo(t)
	var vars []Variable
	for _, v := range config.Variables {
		vars = append(vars, Variable{Name: v.Name, Required: v.Required, Default: v.Default, Desc: v.Description})
	}
	if len(vars) == 0 {
		t.Fatal("handler/config.Variables is empty")
	}
	report(t, CheckHandlerSettings(r.src(t, "infra/main.bicep"), r.src(t, "infra/modules/function.bicep"), vars))
}

// TestRoutesMatchBackends: the paths the gateway calls on the function and the function routes
// agree in both directions; host.json proxies with the exact key spelling and no route prefix.
func TestRoutesMatchBackends(t *testing.T) {
	r := loadRepo(t)
	fnFiles, _ := filepath.Glob(filepath.Join(r.root, "functions", "*", "function.json"))
	if len(fnFiles) == 0 {
		t.Fatal("no functions/*/function.json")
	}
	var routes []Route
	for _, f := range fnFiles {
		raw, _ := os.ReadFile(f)
		rt, err := ParseFunctionJSON(filepath.Base(filepath.Dir(f)), raw)
		if err != nil {
			t.Fatal(err)
		}
		routes = append(routes, rt)
	}
	backendURLs, err := ObjectEntries(r.src(t, "infra/main.bicep"), "backendUrls")
	if err != nil {
		t.Fatal(err)
	}
	fnBackends := map[string]bool{}
	for _, e := range backendURLs {
		if strings.Contains(e.Value, "function.outputs.baseUrl") {
			fnBackends[e.Key] = true
		}
	}
	report(t, CheckRoutes(routes, GatewayBackendPaths(r.manifest, r.policies, fnBackends)))
	report(t, CheckFunctionKeySent(r.policies))

	var host struct {
		Extensions struct {
			HTTP struct {
				RoutePrefix *string `json:"routePrefix"`
			} `json:"http"`
		} `json:"extensions"`
		CustomHandler map[string]json.RawMessage `json:"customHandler"`
	}
	raw := readFile(t, r.root, "host.json")
	if err := json.Unmarshal([]byte(raw), &host); err != nil {
		t.Fatalf("host.json: %v", err)
	}
	if p := host.Extensions.HTTP.RoutePrefix; p == nil || *p != "" {
		t.Error(`host.json: extensions.http.routePrefix must be "" so that /mcp is /mcp, not /api/mcp`)
	}
	if string(host.CustomHandler["enableProxyingHttpRequest"]) != "true" {
		t.Error("host.json: customHandler.enableProxyingHttpRequest must be true (exact spelling; streaming responses need the proxy mode)")
	}
	for _, typo := range []string{"enableHttpProxyingRequest", "enableForwardHttpRequest"} {
		if strings.Contains(raw, typo) {
			t.Errorf("host.json: %q is a known misspelling that binds to nothing", typo)
		}
	}
}

// notSecret lists parameter and output names that match the secret-name pattern but hold none.
// The App Insights connection string only locates the component: its local (instrumentation-key)
// auth is disabled, so ingestion needs an Entra token (infra/modules/monitoring.bicep).
var notSecret = map[string]bool{"tokenKeyId": true, "tokenPrevKeyId": true,
	"applicationInsightsConnectionString": true}

// TestNoSecretsInOutputsDefaultsOrSettings and TestNoAccountKeysOrConnectionStrings guard the
// "nothing secret leaves Key Vault" property across every deployment artefact.
func TestNoSecretsInOutputsDefaultsOrSettings(t *testing.T) {
	r := loadRepo(t)
	params := readFile(t, r.root, "infra/main.parameters.json")
	report(t, CheckSecrets(r.bicep, []byte(params), notSecret))
}

func TestNoAccountKeysOrConnectionStrings(t *testing.T) {
	r := loadRepo(t)
	files := map[string]string{}
	for k, v := range r.bicep {
		files[k] = v
	}
	for _, rel := range []string{"azure.yaml", "host.json", "infra/main.parameters.json", "infra/bicepconfig.json"} {
		files[rel] = readFile(t, r.root, rel)
	}
	fnFiles, _ := filepath.Glob(filepath.Join(r.root, "functions", "*", "function.json"))
	for _, f := range fnFiles {
		rel, _ := filepath.Rel(r.root, f)
		files[filepath.ToSlash(rel)] = readFile(t, r.root, rel)
	}
	files[ManifestPath] = readFile(t, r.root, ManifestPath)
	for p, src := range r.policies {
		files["apim-policies/"+p] = src
	}
	report(t, CheckNoKeyMaterial(files))

	// Identity-only access must be switched on explicitly where the default allows keys.
	required := map[string]string{
		"infra/modules/storage.bicep":    `allowSharedKeyAccess: false`,
		"infra/modules/cosmos.bicep":     `disableLocalAuth: true`,
		"infra/modules/monitoring.bicep": `DisableLocalAuth: true`,
		"infra/modules/keyvault.bicep":   `enableRbacAuthorization: true`,
	}
	for file, want := range required {
		if !strings.Contains(r.src(t, file), want) {
			t.Errorf("%s: must set %s", file, want)
		}
	}
}

// TestGraphPermissionsMatchTools: the app registration requests exactly the delegated Graph
// permissions the tools declare and defines exactly the app roles they require.
func TestGraphPermissionsMatchTools(t *testing.T) {
	r := loadRepo(t)
	mainBicep := r.src(t, "infra/main.bicep")
	scopes, err := StringArray(mainBicep, "toolGraphScopes")
	if err != nil {
		t.Fatal(err)
	}
	block, _, err := Block(mainBicep, "appRoles", '[')
	if err != nil {
		t.Fatal(err)
	}
	requested := map[string]int{}
	for _, s := range scopes {
		requested[s.Key] = s.Line
	}
	roles := map[string]bool{}
	for _, m := range valueFieldRE.FindAllStringSubmatch(block, -1) {
		roles[m[1]] = true
	}
	usedScopes, usedRoles := map[string]bool{}, map[string]bool{}
	for _, tool := range graphtools.Tools() {
		for _, s := range tool.Scopes {
			usedScopes[s] = true
			if _, ok := requested[s]; !ok {
				t.Errorf("tool %s needs the Graph permission %s, which infra/main.bicep toolGraphScopes does not request", tool.Name, s)
			}
		}
		if tool.Role != "" {
			usedRoles[tool.Role] = true
			if !roles[tool.Role] {
				t.Errorf("tool %s requires the app role %s, which infra/main.bicep appRoles does not define", tool.Name, tool.Role)
			}
		}
	}
	for s, line := range requested {
		if !usedScopes[s] {
			t.Errorf("infra/main.bicep:%d requests the Graph permission %s, which no tool uses (least privilege: remove it)", line, s)
		}
	}
	for role := range roles {
		if !usedRoles[role] {
			t.Errorf("infra/main.bicep defines the app role %s, which no tool requires", role)
		}
	}
}

// TestCosmosContainersMatchStore: Bicep creates exactly the containers the Cosmos store opens,
// partitioned by /id, in the database the handler is configured with.
func TestCosmosContainersMatchStore(t *testing.T) {
	r := loadRepo(t)
	src := r.src(t, "infra/modules/cosmos.bicep")
	block, _, err := Block(src, "containers", '[')
	if err != nil {
		t.Fatal(err)
	}
	bicep := map[string]bool{}
	for _, m := range nameFieldRE.FindAllStringSubmatch(block, -1) {
		bicep[m[1]] = true
	}
	for _, m := range pkFieldRE.FindAllStringSubmatch(block, -1) {
		if m[1] != "/id" {
			t.Errorf("infra/modules/cosmos.bicep: partition key %s, but the store addresses items by /id", m[1])
		}
	}
	store := map[string]bool{}
	for _, c := range cosmos.Containers {
		store[c] = true
		if !bicep[c] {
			t.Errorf("the Cosmos store uses container %q, which infra/modules/cosmos.bicep does not create", c)
		}
	}
	for c := range bicep {
		if !store[c] {
			t.Errorf("infra/modules/cosmos.bicep creates container %q, which the store never uses", c)
		}
	}
	if m := regexp.MustCompile(`var cosmosDatabaseName = '([^']+)'`).FindStringSubmatch(r.src(t, "infra/main.bicep")); m == nil || m[1] != "mcpgateway" {
		t.Error("infra/main.bicep: cosmosDatabaseName must be the store's default database, mcpgateway")
	}
}

// TestModuleWiring: main.bicep passes each module exactly the parameters it declares (all required
// ones included) and reads only outputs the modules declare — compile errors caught offline.
func TestModuleWiring(t *testing.T) {
	r := loadRepo(t)
	report(t, CheckModuleWiring(r.bicep))
}

// TestBicepExtensionsConfigured: every `extension <alias>` a Bicep file uses is declared in
// infra/bicepconfig.json with a pinned registry reference (the compiler refuses unknown aliases).
func TestBicepExtensionsConfigured(t *testing.T) {
	r := loadRepo(t)
	var cfg struct {
		Extensions map[string]string `json:"extensions"`
	}
	if err := json.Unmarshal([]byte(readFile(t, r.root, "infra/bicepconfig.json")), &cfg); err != nil {
		t.Fatalf("infra/bicepconfig.json: %v", err)
	}
	pinned := regexp.MustCompile(`^br:mcr\.microsoft\.com/bicep/extensions/[a-z0-9/.]+:\d+\.\d+\.\d+$`)
	extRE := regexp.MustCompile(`(?m)^extension\s+([A-Za-z_][A-Za-z0-9_]*)`)
	used := 0
	for _, rel := range sortedMapKeys(r.bicep) {
		for _, m := range extRE.FindAllStringSubmatch(r.bicep[rel], -1) {
			used++
			ref, ok := cfg.Extensions[m[1]]
			switch {
			case !ok:
				t.Errorf("%s uses extension %s, which infra/bicepconfig.json does not declare", rel, m[1])
			case !pinned.MatchString(ref):
				t.Errorf("infra/bicepconfig.json: extension %s = %q, want a pinned br:mcr.microsoft.com/... reference with an exact version", m[1], ref)
			}
		}
	}
	if used == 0 {
		t.Error("no Bicep file uses the Microsoft Graph extension; the Entra app registration must be created by infra/modules/entra.bicep")
	}
}
