package infracheck

import (
	"fmt"
	"regexp"
	"strings"
)

// The Bicep scanner: just enough structure to cross-check the project's own templates (parameters,
// outputs, object literals, string arrays, load*Content paths). It understands strings, comments
// and bracket nesting; it is not a parser (tree-sitter-bicep checks syntax).

// Param is a `param` declaration.
type Param struct {
	Name       string
	Type       string
	Secure     bool
	HasDefault bool
	Default    string
	Line       int
}

// Output is an `output` declaration.
type Output struct {
	Name string
	Type string
	Expr string
	Line int
}

// Entry is one `key: value` of an object literal.
type Entry struct {
	Key   string
	Value string
	Line  int
}

var (
	paramRE  = regexp.MustCompile(`^param\s+([A-Za-z_][A-Za-z0-9_]*)\s+([A-Za-z_][A-Za-z0-9_.]*\??)\s*(=\s*(.*))?$`)
	outputRE = regexp.MustCompile(`^output\s+([A-Za-z_][A-Za-z0-9_]*)\s+([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$`)
	loadRE   = regexp.MustCompile(`load(?:Text|Json|FileAsBase64|Yaml)Content\(\s*'([^']+)'`)
	keyRE    = regexp.MustCompile(`^\s*('(?:[^'\\]|\\.)*'|[A-Za-z_][A-Za-z0-9_]*)\s*:\s*`)
)

// lineAt is the 1-based line of byte offset i.
func lineAt(src string, i int) int { return 1 + strings.Count(src[:i], "\n") }

// Params returns the parameters of a Bicep file with their decorators' @secure().
func Params(src string) []Param {
	var out []Param
	secure := false
	offset := 0
	for _, line := range strings.SplitAfter(src, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "@secure()"):
			secure = true
		case strings.HasPrefix(t, "@"), strings.HasPrefix(t, "//"), t == "":
		default:
			if m := paramRE.FindStringSubmatch(t); m != nil {
				p := Param{Name: m[1], Type: m[2], Secure: secure, Line: lineAt(src, offset)}
				if m[3] != "" {
					p.HasDefault = true
					p.Default = strings.TrimSpace(m[4])
				}
				out = append(out, p)
			}
			secure = false
		}
		offset += len(line)
	}
	return out
}

// Outputs returns the outputs of a Bicep file; Expr spans lines when it opens a bracket.
func Outputs(src string) []Output {
	var out []Output
	offset := 0
	for _, line := range strings.SplitAfter(src, "\n") {
		t := strings.TrimSpace(line)
		if m := outputRE.FindStringSubmatch(t); m != nil {
			expr := m[3]
			start := offset + strings.Index(line, m[3])
			if strings.HasPrefix(expr, "{") || strings.HasPrefix(expr, "[") {
				if end, err := matchBracket(src, start); err == nil {
					expr = src[start : end+1]
				}
			}
			out = append(out, Output{Name: m[1], Type: m[2], Expr: expr, Line: lineAt(src, offset)})
		}
		offset += len(line)
	}
	return out
}

// LoadPaths returns the literal paths of load*Content calls with their lines.
func LoadPaths(src string) []Entry {
	var out []Entry
	for _, m := range loadRE.FindAllStringSubmatchIndex(src, -1) {
		out = append(out, Entry{Key: src[m[2]:m[3]], Line: lineAt(src, m[0])})
	}
	return out
}

// ObjectEntries returns the top-level entries of the object literal that follows the first
// `<key>: {` (or `var <key> = {`) in src.
func ObjectEntries(src, key string) ([]Entry, error) {
	open, end, err := literalSpan(src, key, '{')
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, item := range topLevelItems(src, open+1, end) {
		text := codeText(src, item[0], item[1])
		m := keyRE.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		k := m[1]
		if strings.HasPrefix(k, "'") {
			k = strings.Trim(k, "'")
		}
		out = append(out, Entry{Key: k, Value: strings.TrimSpace(text[len(m[0]):]), Line: lineAt(src, item[0])})
	}
	return out, nil
}

// StringArray returns the string literals of the array literal that follows `var <name> = [`.
func StringArray(src, name string) ([]Entry, error) {
	open, end, err := literalSpan(src, name, '[')
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, item := range topLevelItems(src, open+1, end) {
		text := strings.TrimSpace(codeText(src, item[0], item[1]))
		if len(text) >= 2 && text[0] == '\'' && text[len(text)-1] == '\'' {
			out = append(out, Entry{Key: text[1 : len(text)-1], Line: lineAt(src, item[0])})
		}
	}
	return out, nil
}

// Block returns the text of the bracketed literal that follows `<name> = ` or `<name>: `.
func Block(src, name string, open byte) (string, int, error) {
	i, end, err := literalSpan(src, name, open)
	if err != nil {
		return "", 0, err
	}
	return src[i : end+1], lineAt(src, i), nil
}

// literalSpan returns the indexes of the opening and closing brackets of the literal that
// follows `name: <open>` or `var name = <open>`.
func literalSpan(src, name string, open byte) (start, end int, err error) {
	if start, err = findOpening(src, name, open); err != nil {
		return 0, 0, err
	}
	if end, err = matchBracket(src, start); err != nil {
		return 0, 0, err
	}
	return start, end, nil
}

// findOpening finds `name: <open>` or `var name = <open>` outside strings and comments.
func findOpening(src, name string, open byte) (int, error) {
	re := regexp.MustCompile(`(?m)(^|[\s{,])(?:var\s+)?` + regexp.QuoteMeta(name) + `\s*[:=]\s*` + regexp.QuoteMeta(string(open)))
	for _, m := range re.FindAllStringIndex(src, -1) {
		if !inCode(src, m[0]) {
			continue
		}
		return m[1] - 1, nil
	}
	return 0, fmt.Errorf("no `%s` followed by %q", name, string(open))
}

// codeText returns src[from:to] without its comments.
func codeText(src string, from, to int) string {
	var b strings.Builder
	scan(src, from, to, func(i int, kind byteKind) bool {
		if kind != kindComment {
			b.WriteByte(src[i])
		}
		return true
	})
	return b.String()
}

// inCode reports whether offset i is outside strings and comments.
func inCode(src string, i int) bool { return kindAt(src, i) == kindCode }

// inComment reports whether offset i is inside a comment.
func inComment(src string, i int) bool { return kindAt(src, i) == kindComment }

// kindAt says whether offset i is code, inside a string or inside a comment (code when i is
// past the end).
func kindAt(src string, i int) byteKind {
	k := kindCode
	scan(src, 0, len(src), func(j int, kind byteKind) bool {
		if j == i {
			k = kind
			return false
		}
		return true
	})
	return k
}

type byteKind int

const (
	kindCode byteKind = iota
	kindString
	kindComment
)

// scan walks src[from:to] calling visit(i, kind) for every byte; visit returns false to stop.
func scan(src string, from, to int, visit func(int, byteKind) bool) {
	span := func(i, stop int, kind byteKind) (int, bool) {
		if stop > to {
			stop = to
		}
		for ; i < stop; i++ {
			if !visit(i, kind) {
				return i, false
			}
		}
		return i - 1, true
	}
	var ok bool
	for i := from; i < to; i++ {
		switch {
		case strings.HasPrefix(src[i:], "//"):
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				end = len(src) - i
			}
			if i, ok = span(i, i+end, kindComment); !ok {
				return
			}
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			stop := len(src)
			if end >= 0 {
				stop = i + 2 + end + 2
			}
			if i, ok = span(i, stop, kindComment); !ok {
				return
			}
		case strings.HasPrefix(src[i:], "'''"):
			end := strings.Index(src[i+3:], "'''")
			stop := len(src)
			if end >= 0 {
				stop = i + 3 + end + 3
			}
			if i, ok = span(i, stop, kindString); !ok {
				return
			}
		case src[i] == '\'':
			j := i + 1
			for j < len(src) && src[j] != '\'' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			if i, ok = span(i, j+1, kindString); !ok {
				return
			}
		default:
			if !visit(i, kindCode) {
				return
			}
		}
	}
}

// matchBracket returns the index of the bracket closing the one at src[open].
func matchBracket(src string, open int) (int, error) {
	depth := 0
	result := -1
	scan(src, open, len(src), func(i int, kind byteKind) bool {
		if kind != kindCode {
			return true
		}
		switch src[i] {
		case '{', '[', '(':
			depth++
		case '}', ']', ')':
			depth--
			if depth == 0 {
				result = i
				return false
			}
		}
		return true
	})
	if result < 0 {
		return 0, fmt.Errorf("line %d: unbalanced %q", lineAt(src, open), string(src[open]))
	}
	return result, nil
}

// topLevelItems splits src[from:to] (the inside of an object or array literal) into items
// separated by newlines or commas at nesting depth 0, ignoring comment-only items; each item
// is [start, end).
func topLevelItems(src string, from, to int) [][2]int {
	var items [][2]int
	depth := 0
	start := from
	hasContent := false
	scan(src, from, to, func(i int, kind byteKind) bool {
		switch {
		case kind == kindComment:
		case kind == kindString:
			hasContent = true
		case src[i] == '{' || src[i] == '[' || src[i] == '(':
			depth++
			hasContent = true
		case src[i] == '}' || src[i] == ']' || src[i] == ')':
			depth--
		case (src[i] == '\n' || src[i] == ',') && depth == 0:
			if hasContent {
				items = append(items, [2]int{start, i})
			}
			start, hasContent = i+1, false
		case src[i] != ' ' && src[i] != '\t' && src[i] != '\r' && src[i] != '\n':
			hasContent = true
		}
		return true
	})
	if hasContent {
		items = append(items, [2]int{start, to})
	}
	return items
}
