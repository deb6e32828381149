package infracheck

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"example.com/graphmcp/internal/testdeps"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

// azdSchemaURL is the $id of the vendored azd schema (testdata/azd, provenance in its README).
const azdSchemaURL = "https://raw.githubusercontent.com/Azure/azure-dev/main/schemas/v1.0/azure.yaml.json"

// azdExtensionSchemas are the schemas the azd schema $refs for AI-extension hosts. They cannot be
// fetched offline and apply only to hosts this project does not use, so they accept anything.
var azdExtensionSchemas = []string{
	"https://raw.githubusercontent.com/Azure/azure-dev/huimiu/foundry-azure-yaml/cli/azd/extensions/azure.ai.agents/schemas/azure.ai.agent.json",
	"https://raw.githubusercontent.com/Azure/azure-dev/huimiu/foundry-azure-yaml/cli/azd/extensions/azure.ai.agents/schemas/microsoft.foundry.json",
	"https://raw.githubusercontent.com/Azure/azure-dev/main/cli/azd/extensions/azure.ai.connections/schemas/azure.ai.connection.json",
	"https://raw.githubusercontent.com/Azure/azure-dev/main/cli/azd/extensions/azure.ai.projects/schemas/azure.ai.project.json",
	"https://raw.githubusercontent.com/Azure/azure-dev/main/cli/azd/extensions/azure.ai.routines/schemas/azure.ai.routine.json",
	"https://raw.githubusercontent.com/Azure/azure-dev/main/cli/azd/extensions/azure.ai.skills/schemas/azure.ai.skill.json",
	"https://raw.githubusercontent.com/Azure/azure-dev/main/cli/azd/extensions/azure.ai.toolboxes/schemas/azure.ai.toolbox.json",
}

// azdSchema compiles the vendored testdata/azd/azure.yaml.schema.json, so the test needs nothing
// outside the clone.
func azdSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	path := filepath.Join(testdeps.RepoRoot(t), "internal", "infracheck", "testdata", "azd", "azure.yaml.schema.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the vendored azd schema is missing at %s (%v): restore it from git (provenance in testdata/azd/README.md)", path, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(azdSchemaURL, doc); err != nil {
		t.Fatal(err)
	}
	for _, u := range azdExtensionSchemas {
		if err := c.AddResource(u, map[string]any{}); err != nil {
			t.Fatal(err)
		}
	}
	sch, err := c.Compile(azdSchemaURL)
	if err != nil {
		t.Fatalf("compiling the azd schema: %v", err)
	}
	return sch
}

func validateAzureYAML(sch *jsonschema.Schema, src []byte) error {
	js, err := yaml.YAMLToJSON(src)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

func TestAzureYAMLMatchesTheAzdSchema(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(testdeps.RepoRoot(t), "azure.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := validateAzureYAML(azdSchema(t), src); err != nil {
		t.Errorf("azure.yaml does not match the azd schema:\n%v", err)
	}
}

// TestAzdSchemaRejectsBrokenFiles shows the validation has teeth: each mutation of the real file
// breaks a rule the schema states.
func TestAzdSchemaRejectsBrokenFiles(t *testing.T) {
	sch := azdSchema(t)
	src, err := os.ReadFile(filepath.Join(testdeps.RepoRoot(t), "azure.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(string) string{
		"name with capitals":         func(s string) string { return strings.Replace(s, "name: mcp-graph-gateway", "name: MCP_Gateway", 1) },
		"function without project":   func(s string) string { return strings.Replace(s, "    project: .\n", "", 1) },
		"unknown hook shell":         func(s string) string { return strings.Replace(s, "shell: pwsh", "shell: cmd", 1) },
		"unknown service hook event": func(s string) string { return strings.Replace(s, "      prepackage:", "      prebake:", 1) },
		"image on a function service": func(s string) string {
			return strings.Replace(s, "    host: function\n", "    host: function\n    image: x\n", 1)
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			broken := mutate(string(src))
			if broken == string(src) {
				t.Fatal("the mutation did not apply; update the test to the current azure.yaml")
			}
			if err := validateAzureYAML(sch, []byte(broken)); err == nil {
				t.Error("the schema accepted it")
			}
		})
	}
}

type azureYAML struct {
	Name     string `json:"name"`
	Services map[string]struct {
		Project  string               `json:"project"`
		Host     string               `json:"host"`
		Language string               `json:"language"`
		Dist     string               `json:"dist"`
		Hooks    map[string]azdHookYM `json:"hooks"`
	} `json:"services"`
	Hooks map[string]azdHookYM `json:"hooks"`
}

type azdHookYM struct {
	Run   string `json:"run"`
	Posix *struct {
		Shell string `json:"shell"`
		Run   string `json:"run"`
	} `json:"posix"`
	Windows *struct {
		Shell string `json:"shell"`
		Run   string `json:"run"`
	} `json:"windows"`
}

var goRunRE = regexp.MustCompile(`go run \./(cmd/[a-z0-9]+)`)

// TestAzureYAMLWiring checks what the schema cannot: hooks for every OS, Go commands that exist,
// the service name Bicep tags the function app with, the zip the hook writes, and the outputs the
// hooks read.
func TestAzureYAMLWiring(t *testing.T) {
	root := testdeps.RepoRoot(t)
	src, err := os.ReadFile(filepath.Join(root, "azure.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var ay azureYAML
	if err := yaml.Unmarshal(src, &ay); err != nil {
		t.Fatal(err)
	}
	mainBicep := readFile(t, root, "infra/main.bicep")
	outputs := map[string]bool{}
	for _, o := range Outputs(mainBicep) {
		outputs[o.Name] = true
	}

	m := regexp.MustCompile(`(?m)^var serviceName = '([^']+)'`).FindStringSubmatch(mainBicep)
	if m == nil {
		t.Fatal("infra/main.bicep: no `var serviceName = '...'` (the azd-service-name tag)")
	}
	svc, ok := ay.Services[m[1]]
	if !ok {
		t.Fatalf("azure.yaml has no service %q, the azd-service-name Bicep tags the function app with", m[1])
	}
	if svc.Project != "." {
		t.Errorf("service %s: project %q, want \".\": its hooks run in that folder and use root-relative paths", m[1], svc.Project)
	}
	if svc.Host != "function" || svc.Language != "custom" {
		t.Errorf("service %s: host %q language %q, want function + custom (azd must not build it; the hook does)", m[1], svc.Host, svc.Language)
	}

	hooks := map[string]azdHookYM{}
	for n, h := range ay.Hooks {
		hooks["project "+n] = h
	}
	for n, h := range svc.Hooks {
		hooks["service "+n] = h
	}
	for _, want := range []string{"project preprovision", "project postdeploy", "project postdown", "service prepackage", "service postdeploy"} {
		if _, ok := hooks[want]; !ok {
			t.Errorf("azure.yaml lacks the %s hook", want)
		}
	}
	// Bicep cannot create the gateway's host key (no Functions host before the first deploy; see
	// ProvisionTimeForbidden), so the handler's postdeploy hook must set it.
	if post, ok := svc.Hooks["postdeploy"]; ok && post.Posix != nil && post.Windows != nil {
		for _, run := range []string{post.Posix.Run, post.Windows.Run} {
			if !strings.Contains(run, "go run ./cmd/azdkeys -set-function-key") {
				t.Errorf("service postdeploy hook %q must run `go run ./cmd/azdkeys -set-function-key` (sets the gateway's host key)", run)
			}
		}
	}
	// `azd down` leaves the app registration (it is in the tenant, not the resource group): the
	// postdown hook deletes the one this environment recorded, by the id main.bicep outputs.
	if down, ok := ay.Hooks["postdown"]; ok && down.Posix != nil && down.Windows != nil {
		for _, run := range []string{down.Posix.Run, down.Windows.Run} {
			if run != "go run ./cmd/appcleanup" {
				t.Errorf("postdown hook %q must be `go run ./cmd/appcleanup` (deletes only the recorded app registration)", run)
			}
		}
		for _, o := range []string{"ENTRA_APP_OBJECT_ID", "ENTRA_APP_CLIENT_ID", "MICROSOFT_GRAPH_ENDPOINT"} {
			if !outputs[o] {
				t.Errorf("cmd/appcleanup reads %s, which infra/main.bicep does not output", o)
			}
		}
	}
	for name, h := range hooks {
		if h.Posix == nil || h.Windows == nil || h.Posix.Shell != "sh" || h.Windows.Shell != "pwsh" {
			t.Errorf("%s hook: needs a posix (sh) and a windows (pwsh) variant so it runs on Linux, macOS and Windows", name)
			continue
		}
		for _, run := range []string{h.Posix.Run, h.Windows.Run} {
			// azd runs project hooks in the project root and this service's hooks in its `project`
			// folder, which must be the root too: then `go run ./cmd/...` and root-relative paths hold
			// wherever `azd up` was started (cmd/funcpackage resolves its own paths against the root).
			if !strings.HasPrefix(run, "go run ./cmd/") || strings.Contains(run, "..") || strings.Contains(run, "cd ") {
				t.Errorf("%s hook %q: run a Go command from the project root (`go run ./cmd/<name> ...`) with root-relative paths only", name, run)
			}
			for _, mm := range goRunRE.FindAllStringSubmatch(run, -1) {
				if pending[mm[1]] {
					continue
				}
				if gofiles, _ := filepath.Glob(filepath.Join(root, mm[1], "*.go")); len(gofiles) == 0 {
					t.Errorf("%s hook runs ./%s, which has no Go files", name, mm[1])
				}
			}
			for _, v := range regexp.MustCompile(`\$(?:env:)?\{?([A-Z][A-Z0-9_]+)`).FindAllStringSubmatch(run, -1) {
				if !outputs[v[1]] {
					t.Errorf("%s hook reads $%s, which infra/main.bicep does not output", name, v[1])
				}
			}
		}
	}
	if pre, ok := svc.Hooks["prepackage"]; ok && pre.Posix != nil {
		if !strings.Contains(pre.Posix.Run, "-out "+svc.Dist) || !strings.Contains(pre.Windows.Run, "-out "+svc.Dist) {
			t.Errorf("prepackage hook must write the zip azd deploys (dist: %s)", svc.Dist)
		}
	}
}

// pending lists hook commands another task delivers; remove an entry when its command lands.
var pending = map[string]bool{}

func readFile(t *testing.T, root, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s does not exist", rel)
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
