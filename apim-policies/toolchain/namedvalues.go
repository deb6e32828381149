package toolchain

import (
	"strconv"
	"strings"
)

// Named values inside string literals are compiled as run-time lookups
// (Apim.Policies.Generated.NamedValues.Get("name")) rather than pasted into the code. The
// compiled assembly then does not depend on the values — the emulator starts without recompiling
// when only a key or a URL changes, and no secret is written into a build artefact. This is exact
// whenever pasting the value into the literal would have produced the same string, which
// liftable checks; otherwise (a reference outside a string, in a char literal or in a literal
// that must be a compile-time constant — case label, const, `is` pattern — or a value containing
// a quote, a backslash, a brace in an interpolated string or a newline) the expression is
// compiled with the value pasted in, exactly as APIM does. A lifted regular or verbatim literal
// is parenthesised, so "{{n}}".Split(',') still calls Split on the whole value.

type literalKind int

const (
	litRegular              literalKind = iota // "..."
	litVerbatim                                // @"..."
	litInterpolated                            // $"..."
	litInterpolatedVerbatim                    // $@"..." or @$"..."
)

// nvRef is one {{name}} found in expression code.
type nvRef struct {
	start, end int // byte offsets of "{{" and just after "}}"
	name       string
	kind       literalKind
	inString   bool
	// constant: the literal sits where C# needs a compile-time constant (case label, const
	// declaration, `is` constant pattern); a run-time lookup would not compile there, so the
	// value is pasted, as APIM does.
	constant bool
	// litStart and litEnd delimit the enclosing literal (prefix to closing quote, inclusive), so
	// a lifted reference can parenthesise it: "a{{n}}".Trim() must stay one operand.
	litStart, litEnd int
}

// scanNamedValues lexes C# just enough to tell in which kind of string literal (if any) each
// {{name}} sits: strings, verbatim and interpolated strings (with nested holes), char literals
// and comments.
func scanNamedValues(code string) []nvRef {
	var refs []nvRef
	type frame struct {
		kind  literalKind
		str   bool // in the literal part (false: in an interpolation hole)
		depth int  // brace depth inside a hole
		start int  // offset of the literal's first character (its $ or @ prefix, or quote)
		refs  []int
		// constant: a regular or verbatim literal in a constant context (see nvRef.constant).
		constant bool
	}
	var stack []frame // empty: top-level code
	i := 0
	// Constant contexts, tracked in code: from `case` to its ':' and from `const` to its ';',
	// and the literal right after `is`.
	var constUntil byte
	afterIs := false
	push := func(kind literalKind, at int) {
		c := (constUntil != 0 || afterIs) && (kind == litRegular || kind == litVerbatim)
		stack = append(stack, frame{kind: kind, str: true, start: at, constant: c})
		afterIs = false
	}
	matchRef := func(at int) (nvRef, bool) {
		if !strings.HasPrefix(code[at:], "{{") {
			return nvRef{}, false
		}
		end := strings.Index(code[at+2:], "}}")
		if end < 0 {
			return nvRef{}, false
		}
		name := code[at+2 : at+2+end]
		if !namedValueName.MatchString(name) {
			return nvRef{}, false
		}
		return nvRef{start: at, end: at + 2 + end + 2, name: name}, true
	}
	inCode := func() bool { return len(stack) == 0 || !stack[len(stack)-1].str }
	for i < len(code) {
		if inCode() {
			if r, ok := matchRef(i); ok {
				refs = append(refs, r)
				i = r.end
				continue
			}
			switch {
			case strings.HasPrefix(code[i:], "//"):
				if j := strings.IndexByte(code[i:], '\n'); j >= 0 {
					i += j
				} else {
					i = len(code)
				}
				continue
			case strings.HasPrefix(code[i:], "/*"):
				if j := strings.Index(code[i+2:], "*/"); j >= 0 {
					i += j + 4
				} else {
					i = len(code)
				}
				continue
			case strings.HasPrefix(code[i:], `$@"`), strings.HasPrefix(code[i:], `@$"`):
				push(litInterpolatedVerbatim, i)
				i += 3
				continue
			case strings.HasPrefix(code[i:], `$"`):
				push(litInterpolated, i)
				i += 2
				continue
			case strings.HasPrefix(code[i:], `@"`):
				push(litVerbatim, i)
				i += 2
				continue
			case code[i] == '"':
				push(litRegular, i)
				i++
				continue
			case code[i] == '\'':
				// A reference inside a char literal is pasted (it compiles only if the value is one
				// character, as in APIM); a char literal never spans a line.
				afterIs = false
				i++
				for i < len(code) && code[i] != '\'' && code[i] != '\n' {
					if r, ok := matchRef(i); ok {
						refs = append(refs, r)
						i = r.end
						continue
					}
					if code[i] == '\\' {
						i++
					}
					i++
				}
				i++
				continue
			case code[i] == '@' && i+1 < len(code) && isIdentByte(code[i+1]):
				// @case is an identifier, not the keyword.
				j := i + 1
				for j < len(code) && isIdentByte(code[j]) {
					j++
				}
				afterIs, i = false, j
				continue
			case isIdentByte(code[i]):
				j := i
				for j < len(code) && isIdentByte(code[j]) {
					j++
				}
				switch code[i:j] {
				case "case":
					constUntil = ':'
				case "const":
					constUntil = ';'
				}
				afterIs, i = code[i:j] == "is", j
				continue
			case strings.HasPrefix(code[i:], "::"):
				afterIs = false
				i += 2
				continue
			case code[i] == ':' && constUntil == ':', code[i] == ';':
				constUntil = 0
			}
			if !isSpaceByte(code[i]) {
				afterIs = false
			}
			switch {
			case code[i] == '{' && len(stack) > 0:
				stack[len(stack)-1].depth++
			case code[i] == '}' && len(stack) > 0:
				if stack[len(stack)-1].depth == 0 {
					stack[len(stack)-1].str = true // end of the hole: back in the literal
				} else {
					stack[len(stack)-1].depth--
				}
			}
			i++
			continue
		}
		f := &stack[len(stack)-1]
		if r, ok := matchRef(i); ok {
			r.kind, r.inString, r.litStart, r.constant = f.kind, true, f.start, f.constant
			f.refs = append(f.refs, len(refs))
			refs = append(refs, r)
			i = r.end
			continue
		}
		verbatim := f.kind == litVerbatim || f.kind == litInterpolatedVerbatim
		interpolated := f.kind == litInterpolated || f.kind == litInterpolatedVerbatim
		switch {
		case !verbatim && code[i] == '\\':
			i += 2
		case verbatim && strings.HasPrefix(code[i:], `""`):
			i += 2
		case code[i] == '"':
			for _, ri := range f.refs {
				refs[ri].litEnd = i + 1
			}
			stack = stack[:len(stack)-1]
			i++
		case interpolated && (strings.HasPrefix(code[i:], "{{") || strings.HasPrefix(code[i:], "}}")):
			i += 2
		case interpolated && code[i] == '{':
			f.str, f.depth = false, 0
			i++
		default:
			i++
		}
	}
	return refs
}

// liftable reports whether a value read at run time equals the value pasted into that literal.
func liftable(r nvRef, value string) bool {
	// C# line terminators (U+0085, U+2028, U+2029 too) cannot appear in a literal: pasting fails
	// to compile in APIM, so lifting would accept what APIM rejects.
	if !r.inString || r.constant || strings.ContainsAny(value, "\r\n\u0085\u2028\u2029") {
		return false
	}
	switch r.kind {
	case litRegular:
		return !strings.ContainsAny(value, `\"`)
	case litVerbatim:
		return !strings.Contains(value, `"`)
	case litInterpolated:
		return !strings.ContainsAny(value, `\"{}`)
	default:
		return !strings.ContainsAny(value, `"{}`)
	}
}

// lowerNamedValues rewrites an expression's {{name}} references: lifted to run-time lookups where
// exact, pasted otherwise. values nil means checking mode: every reference that cannot be lifted
// is pasted as its own name.
func lowerNamedValues(code string, values map[string]string) string {
	refs := scanNamedValues(code)
	value := func(r nvRef) (string, bool) {
		if values == nil {
			return r.name, true
		}
		v, ok := values[r.name]
		return v, ok
	}
	// A literal with a lifted reference in it is parenthesised as a whole.
	open, closeAt := map[int]bool{}, map[int]bool{}
	for _, r := range refs {
		if v, ok := value(r); ok && liftable(r, v) && r.litEnd > 0 && (r.kind == litRegular || r.kind == litVerbatim) {
			open[r.litStart], closeAt[r.litEnd] = true, true
		}
	}
	var b strings.Builder
	ri := 0
	for i := 0; i <= len(code); {
		if closeAt[i] {
			b.WriteByte(')')
			delete(closeAt, i)
		}
		if open[i] {
			b.WriteByte('(')
			delete(open, i)
		}
		if i == len(code) {
			break
		}
		if ri < len(refs) && refs[ri].start == i {
			r := refs[ri]
			ri++
			i = r.end
			v, known := value(r)
			switch {
			case !known:
				b.WriteString(code[r.start:r.end]) // undeclared: the structure check reports it
			case !liftable(r, v):
				b.WriteString(v)
			default:
				lookup := "global::Apim.Policies.Generated.NamedValues.Get(" + strconv.Quote(r.name) + ")"
				switch r.kind {
				case litRegular:
					b.WriteString(`" + ` + lookup + ` + "`)
				case litVerbatim:
					b.WriteString(`" + ` + lookup + ` + @"`)
				default:
					b.WriteString("{" + lookup + "}")
				}
			}
			continue
		}
		b.WriteByte(code[i])
		i++
	}
	return b.String()
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 0x80 || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
