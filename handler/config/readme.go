package config

import (
	"fmt"
	"strings"
)

// Markers delimit the generated configuration table in README.md.
const (
	TableBegin = "<!-- config-table:begin (generated from handler/config.Variables; go test ./handler/config -run TestREADME -update) -->"
	TableEnd   = "<!-- config-table:end -->"
)

// Markers delimit the generated table of local mode's variables in README.md.
const (
	LocalTableBegin = "<!-- local-config-table:begin (generated from handler/config.LocalVariables; go test ./handler/config -run TestREADME -update) -->"
	LocalTableEnd   = "<!-- local-config-table:end -->"
)

// MarkdownTable renders [Variables] as README's configuration table.
func MarkdownTable() string { return markdownTable(Variables) }

// MarkdownLocalTable renders [LocalVariables] as README's table for local (stdio) mode.
func MarkdownLocalTable() string { return markdownTable(LocalVariables) }

func markdownTable(vars []Variable) string {
	var b strings.Builder
	b.WriteString("| Variable | Required | Default | Meaning |\n|---|---|---|---|\n")
	for _, v := range vars {
		req := "no"
		if v.Required {
			req = "**yes**"
		}
		def := ""
		if v.Default != "" {
			def = "`" + v.Default + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", v.Name, req, def, strings.ReplaceAll(v.Description, "|", "\\|"))
	}
	return b.String()
}
