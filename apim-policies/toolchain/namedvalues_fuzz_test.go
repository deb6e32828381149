package toolchain

import (
	"strings"
	"testing"
)

// Lowering must never panic, must keep every line where it was (so #line positions stay right),
// and must leave code without {{...}} untouched.
func FuzzLowerNamedValues(f *testing.F) {
	for _, seed := range []string{
		`"{{k}}".Split(' ')`, `$"a{{k}}b{ "x{{k}}" }"`, `@"p\{{k}}"`, `'"' + "{{k}}"`, `/* "{{k}} */ "{{k}}"`,
		"\"a\n{{k}}", `$@"{{{k}}}"`, `"\\"`, `$"{(1 > 0 ? "{{k}}" : $"{{k}}")}"`,
	} {
		f.Add(seed)
	}
	values := map[string]string{"k": "v", "q": `x"y`}
	f.Fuzz(func(t *testing.T, code string) {
		out := lowerNamedValues(code, values)
		if strings.Count(out, "\n") != strings.Count(code, "\n") {
			t.Fatalf("line count changed: %q -> %q", code, out)
		}
		if !strings.Contains(code, "{{") && out != code {
			t.Fatalf("code without named values changed: %q -> %q", code, out)
		}
		_ = lowerNamedValues(code, nil)
	})
}

// Parse must never panic on arbitrary input and must report positions within the input.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"<policies><inbound><base /></inbound></policies>",
		"<fragment>\n<set-variable name=\"a\" value=\"@(1 &lt; 2)\" />\n</fragment>",
		"<a b='1' c=\"2\">t<![CDATA[x]]></a>", "<a", "<!DOCTYPE x><a/>", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		root, err := Parse([]byte(doc), "f.xml")
		lines := strings.Count(doc, "\n") + 1
		if err != nil {
			for _, d := range err.(Diagnostics) {
				if d.Line < 0 || d.Line > lines {
					t.Fatalf("diagnostic line %d outside the %d-line input", d.Line, lines)
				}
			}
			return
		}
		var walk func(n *Node)
		walk = func(n *Node) {
			if n.Line < 1 || n.Line > lines {
				t.Fatalf("element line %d outside the %d-line input", n.Line, lines)
			}
			for _, c := range n.Children {
				walk(c)
			}
		}
		walk(root)
		_ = extractExpressions(root)
	})
}
