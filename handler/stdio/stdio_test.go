package stdio

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"example.com/graphmcp/handler/config"
	"example.com/graphmcp/handler/graphtools"
)

func names(tools []graphtools.Tool) []string {
	var out []string
	for _, t := range tools {
		out = append(out, t.Name)
	}
	return out
}

// TestEnabledTools: tools with an app role are off unless allowed; the local identity holds
// exactly the roles of the allowed ones, so each tool's own role check agrees.
func TestEnabledTools(t *testing.T) {
	all := graphtools.Tools()
	tools, id, err := enabledTools(all, "")
	if err != nil || slices.Contains(names(tools), "list_recent_mail") || len(id.Roles) != 0 || len(tools) != len(all)-1 {
		t.Fatalf("default: %v, roles %v, %v", names(tools), id.Roles, err)
	}
	for _, allow := range []string{"list_recent_mail", " all "} {
		tools, id, err = enabledTools(all, allow)
		if err != nil || len(tools) != len(all) || !slices.Equal(id.Roles, []string{graphtools.MailRole}) {
			t.Fatalf("--allow-tools %q: %v, roles %v, %v", allow, names(tools), id.Roles, err)
		}
		for _, tl := range tools {
			if !tl.Allowed(id) {
				t.Errorf("%s is enabled but its role check refuses the local identity", tl.Name)
			}
		}
	}
	if _, _, err := enabledTools(all, "list_recent_mail,send_mail"); err == nil || !strings.Contains(err.Error(), `unknown tool "send_mail"`) {
		t.Fatalf("unknown tool: %v", err)
	}
}

// TestREADMEClientConfigs: the VS Code, Claude Desktop and Cursor configurations in README's
// "Local (stdio) mode" are valid JSON that start `<binary> stdio` with flags that exist and
// set every required variable of local mode, and only known ones.
func TestREADMEClientConfigs(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "## Local (stdio) mode")
	end := strings.Index(text[start+1:], "\n## ")
	if start < 0 || end < 0 {
		t.Fatal(`README.md has no "## Local (stdio) mode" section`)
	}
	section := text[start : start+1+end]
	known := map[string]bool{}
	for _, v := range config.LocalVariables {
		known[v.Name] = true
	}
	flags := map[string]bool{"--allow-tools": true, "--account": true, "--device-code": true}
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(section, -1)
	if len(blocks) != 3 {
		t.Fatalf("found %d JSON blocks, want 3 (VS Code, Claude Desktop, Cursor)", len(blocks))
	}
	for _, b := range blocks {
		var doc map[string]map[string]struct {
			Command string            `json:"command"`
			Args    []string          `json:"args"`
			Env     map[string]string `json:"env"`
		}
		if err := json.Unmarshal([]byte(b[1]), &doc); err != nil {
			t.Fatalf("invalid JSON (%v):\n%s", err, b[1])
		}
		for _, servers := range doc {
			for name, s := range servers {
				if s.Command == "" || len(s.Args) == 0 || s.Args[0] != "stdio" {
					t.Errorf("%s: command %q args %v, want <binary> stdio …", name, s.Command, s.Args)
				}
				for _, a := range s.Args[1:] {
					if strings.HasPrefix(a, "--") && !flags[a] {
						t.Errorf("%s: unknown flag %s", name, a)
					}
				}
				for k := range s.Env {
					if !known[k] {
						t.Errorf("%s: env %s is not a variable of local mode", name, k)
					}
				}
				for _, v := range config.LocalVariables {
					if _, ok := s.Env[v.Name]; v.Required && !ok {
						t.Errorf("%s: env lacks the required %s", name, v.Name)
					}
				}
			}
		}
	}
}
