package toolchain

import "strings"

// Expression is one @(...) or @{...} found in a policy file.
type Expression struct {
	File  string
	Line  int
	Code  string // the text inside @( ) or @{ }, XML-decoded, named values not yet substituted
	Block bool   // @{ statements } rather than @( expression )
	// Type is the C# type the value must have where APIM requires one ("bool" for conditions,
	// "int" for counts and codes); "" means any value (APIM converts it to text).
	Type  string
	Where string // e.g. `attribute "condition" of <when>`
}

// Key identifies an expression by its code as written (named values not substituted), so that
// the emulator, which reads the XML with .NET, finds the compiled delegate. Parse normalises
// attribute whitespace and line ends exactly as .NET's reader does, so the code is compared
// exactly (only trimmed): collapsing whitespace would make @("a  b") and @("a b") one key and
// bind both to whichever compiled first. emulator/Loader.cs mirrors this function.
func (e Expression) Key() string {
	kind := "("
	if e.Block {
		kind = "{"
	}
	return kind + strings.TrimSpace(e.Code)
}

// extractExpressions walks a document and returns its expressions in document order.
func extractExpressions(root *Node) []Expression {
	var out []Expression
	var walk func(n, parent *Node)
	walk = func(n, parent *Node) {
		spec, _ := lookupSpec(n, parent)
		for _, a := range n.Attrs {
			if !isExpression(a.Value) {
				continue
			}
			typ := ""
			switch spec.Attrs[a.Name].Kind {
			case kindBool:
				typ = "bool"
			case kindInt:
				typ = "int"
			}
			if e, ok := newExpression(n.File, a.Line, a.Value, typ); ok {
				e.Where = `attribute "` + a.Name + `" of <` + n.Name + `>`
				out = append(out, e)
			}
		}
		if t := strings.TrimSpace(n.Text); isExpression(t) && len(n.Children) == 0 {
			if e, ok := newExpression(n.File, n.TextLine, t, ""); ok {
				e.Where = "text of <" + n.Name + ">"
				out = append(out, e)
			}
		}
		for _, c := range n.Children {
			walk(c, n)
		}
	}
	walk(root, nil)
	return out
}

func lookupSpec(n, parent *Node) (elemSpec, bool) {
	if parent != nil {
		if s, ok := parts[parent.Name+"/"+n.Name]; ok {
			return s, true
		}
	}
	s, ok := policies[n.Name]
	return s, ok
}

func newExpression(file string, line int, v, typ string) (Expression, bool) {
	// Lines before the '@' (text content starting with a newline) are already in line.
	t := strings.TrimSpace(v)
	if len(t) < 3 {
		return Expression{}, false
	}
	switch {
	case strings.HasPrefix(t, "@(") && strings.HasSuffix(t, ")"):
		return Expression{File: file, Line: line, Code: t[2 : len(t)-1], Type: typ}, true
	case strings.HasPrefix(t, "@{") && strings.HasSuffix(t, "}"):
		return Expression{File: file, Line: line, Code: t[2 : len(t)-1], Block: true, Type: typ}, true
	}
	return Expression{}, false
}
