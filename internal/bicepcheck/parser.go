package bicepcheck

import (
	"fmt"
	"strconv"
	"strings"
)

// Parse parses Bicep source. It accepts the language the project writes — declarations with
// decorators, object and array literals over several lines, interpolated and triple-quoted multi-line
// strings, operators including ?? and safe access (.? and [?]), lambdas, for-expressions,
// conditions and nested resources — and reports the first syntax error with its line and column.
func Parse(path, src string) (f *File, err error) {
	toks, err := lex(src)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	p := &parser{toks: toks}
	f = &File{Path: path}
	defer func() {
		if r := recover(); r != nil {
			pe, ok := r.(parseError)
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("%s:%d:%d: %s", path, pe.pos.Line, pe.pos.Col, pe.msg)
			f = nil
		}
	}()
	for {
		p.skipNL()
		if p.peek().kind == tEOF {
			return f, nil
		}
		f.Decls = append(f.Decls, p.decl())
	}
}

type parseError struct {
	pos Pos
	msg string
}

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) fail(t token, format string, a ...any) {
	panic(parseError{t.pos, fmt.Sprintf(format, a...)})
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of input"
	case tNewline:
		return "end of line"
	case tString:
		return "string"
	}
	return strconv.Quote(t.text)
}

func (p *parser) skipNL() {
	for p.peek().kind == tNewline {
		p.i++
	}
}

func (p *parser) isPunct(s string) bool {
	t := p.peek()
	return t.kind == tPunct && t.text == s
}

func (p *parser) isWord(s string) bool {
	t := p.peek()
	return t.kind == tIdent && t.text == s
}

func (p *parser) accept(s string) bool {
	if p.isPunct(s) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expect(s string) token {
	t := p.next()
	if t.kind != tPunct || t.text != s {
		p.fail(t, "expected %q, found %s", s, describe(t))
	}
	return t
}

func (p *parser) ident() token {
	t := p.next()
	if t.kind != tIdent {
		p.fail(t, "expected an identifier, found %s", describe(t))
	}
	return t
}

// endOfStatement requires a line break (or the end of input) after a declaration.
func (p *parser) endOfStatement() {
	t := p.peek()
	if t.kind != tNewline && t.kind != tEOF {
		p.fail(t, "expected a new line after the declaration, found %s", describe(t))
	}
}

func (p *parser) decorators() []*Decorator {
	var ds []*Decorator
	for p.isPunct("@") {
		at := p.next()
		e := p.postfix(p.primary())
		c, ok := e.(*Call)
		if !ok {
			p.fail(at, "a decorator must be a function call")
		}
		ds = append(ds, &Decorator{P: at.pos, Name: c.Name, Args: c.Args})
		p.skipNL()
	}
	return ds
}

func (p *parser) decl() Decl {
	ds := p.decorators()
	t := p.peek()
	if t.kind != tIdent {
		p.fail(t, "expected a declaration, found %s", describe(t))
	}
	var d Decl
	switch t.text {
	case "param":
		p.next()
		d = &Param{P: t.pos, Name: p.ident().text, Type: p.typeExpr(), Decorators: ds}
		if p.accept("=") {
			d.(*Param).Default = p.expr()
		}
	case "var":
		p.next()
		v := &Var{P: t.pos, Name: p.ident().text, Decorators: ds}
		if !p.isPunct("=") {
			p.typeExpr()
		}
		p.expect("=")
		v.Value = p.expr()
		d = v
	case "output":
		p.next()
		o := &Output{P: t.pos, Name: p.ident().text, Type: p.typeExpr(), Decorators: ds}
		p.expect("=")
		o.Value = p.expr()
		d = o
	case "resource":
		d = p.resource(ds, nil)
	case "module":
		p.next()
		m := &Module{P: t.pos, Name: p.ident().text, Decorators: ds}
		s := p.next()
		if s.kind != tString || len(s.holes) > 0 {
			p.fail(s, "expected the module path as a string without ${}")
		}
		m.Path, m.PathPos = s.parts[0], s.pos
		p.expect("=")
		m.Value = p.declValue()
		d = m
	case "targetScope":
		p.next()
		p.expect("=")
		d = &TargetScope{P: t.pos, Value: p.expr()}
	case "extension", "provider", "import":
		d = p.extensionOrImport()
	case "type":
		p.next()
		td := &TypeDecl{P: t.pos, Name: p.ident().text, Decorators: ds}
		p.expect("=")
		td.Type = p.typeExpr()
		d = td
	case "func":
		p.next()
		fn := &Func{P: t.pos, Name: p.ident().text}
		p.expect("(")
		for !p.accept(")") {
			p.skipNL()
			fn.Params = append(fn.Params, p.ident().text)
			p.typeExpr()
			p.skipNL()
			p.accept(",")
			p.skipNL()
		}
		p.typeExpr()
		p.expect("=>")
		p.skipNL()
		fn.Body = p.expr()
		d = fn
	case "metadata", "assert":
		p.next()
		p.ident()
		p.expect("=")
		d = &Other{P: t.pos, Kind: t.text, Value: p.expr()}
	default:
		p.fail(t, "unknown declaration %q", t.text)
	}
	p.endOfStatement()
	return d
}

// extensionOrImport parses `extension`, `provider` and `import` statements. Compile-time imports
// (`import {a} from 'f'`, `import * as x from 'f'`) declare no resources and are kept as Other.
func (p *parser) extensionOrImport() Decl {
	t := p.next()
	if t.text == "import" && (p.isPunct("{") || p.isPunct("*")) {
		for p.peek().kind != tNewline && p.peek().kind != tEOF {
			p.next()
		}
		return &Other{P: t.pos, Kind: "import"}
	}
	e := &Extension{P: t.pos}
	ref := p.next()
	switch {
	case ref.kind == tIdent:
		e.Ref = ref.text
	case ref.kind == tString && len(ref.holes) == 0:
		e.Ref, e.Quoted = ref.parts[0], true
	default:
		p.fail(ref, "expected an extension name or reference, found %s", describe(ref))
	}
	if p.isWord("with") {
		p.next()
		e.Config = p.expr()
	}
	if p.isWord("as") {
		p.next()
		e.Alias = p.ident().text
	}
	return e
}

// resource parses a resource declaration; parent is set for one nested in a parent's body.
func (p *parser) resource(ds []*Decorator, parent *Resource) *Resource {
	t := p.next() // "resource"
	r := &Resource{P: t.pos, Name: p.ident().text, Decorators: ds, Parent: parent}
	s := p.next()
	if s.kind != tString || len(s.holes) > 0 {
		p.fail(s, "expected the resource type as a string without ${}")
	}
	r.Type, r.TypePos = s.parts[0], s.pos
	if p.isWord("existing") {
		p.next()
		r.Existing = true
	}
	p.expect("=")
	r.Value = p.declValue()
	if body := bodyObject(r.Value); body != nil {
		for _, c := range body.Resources {
			c.Parent = r // nested: its type is relative to r's
		}
	}
	return r
}

// bodyObject returns the object literal of a resource or module value (through if and for).
func bodyObject(v Expr) *ObjectLit {
	switch v := v.(type) {
	case *ObjectLit:
		return v
	case *IfExpr:
		return bodyObject(v.Body)
	case *ArrayLit:
		if len(v.Items) == 1 {
			if f, ok := v.Items[0].(*ForExpr); ok {
				return bodyObject(f.Body)
			}
		}
	case *ForExpr:
		return bodyObject(v.Body)
	}
	return nil
}

// declValue parses the value of a resource or module: an object, `if (c) {...}` or a for-expression.
func (p *parser) declValue() Expr {
	if p.isWord("if") {
		return p.ifExpr()
	}
	return p.expr()
}

func (p *parser) ifExpr() Expr {
	t := p.next()
	p.expect("(")
	p.skipNL()
	cond := p.expr()
	p.skipNL()
	p.expect(")")
	return &IfExpr{P: t.pos, Cond: cond, Body: p.expr()}
}

// typeExpr parses a type: unions of postfix types.
func (p *parser) typeExpr() *TypeExpr {
	first := p.typeSingle()
	if !p.isPunct("|") {
		return first
	}
	u := &TypeExpr{P: first.P, Kind: "union", Elems: []*TypeExpr{first}}
	for p.accept("|") {
		p.skipNL()
		u.Elems = append(u.Elems, p.typeSingle())
	}
	return u
}

func (p *parser) typeSingle() *TypeExpr {
	t := p.peek()
	var ty *TypeExpr
	switch {
	case p.accept("|"): // a leading | of a multi-line union
		p.skipNL()
		return p.typeSingle()
	case t.kind == tIdent && t.text == "resource":
		p.next()
		ty = &TypeExpr{P: t.pos, Kind: "resource", Lit: p.primary()}
	case t.kind == tIdent && (t.text == "true" || t.text == "false" || t.text == "null"):
		ty = &TypeExpr{P: t.pos, Kind: "literal", Lit: p.primary()}
	case t.kind == tIdent:
		p.next()
		name := t.text
		for p.isPunct(".") && p.peekAt(1).kind == tIdent {
			p.next()
			name += "." + p.next().text
		}
		ty = &TypeExpr{P: t.pos, Kind: "name", Name: name}
	case t.kind == tString || t.kind == tInt || p.isPunct("-") || p.isPunct("!"):
		ty = &TypeExpr{P: t.pos, Kind: "literal", Lit: p.unary()}
	case p.isPunct("{"):
		ty = p.objectType()
	case p.isPunct("["):
		p.next()
		ty = &TypeExpr{P: t.pos, Kind: "tuple"}
		for {
			p.skipNL()
			p.accept(",")
			p.skipNL()
			if p.accept("]") {
				break
			}
			p.decorators()
			ty.Elems = append(ty.Elems, p.typeExpr())
		}
	case p.isPunct("("):
		p.next()
		p.skipNL()
		ty = p.typeExpr()
		p.skipNL()
		p.expect(")")
	default:
		p.fail(t, "expected a type, found %s", describe(t))
	}
	for {
		switch {
		case p.isPunct("[") && p.peekAt(1).kind == tPunct && p.peekAt(1).text == "]":
			p.next()
			p.next()
			ty = &TypeExpr{P: ty.P, Kind: "array", Item: ty}
		case p.isPunct("[") || p.isPunct("."):
			// Type access (foo.bar, foo[*], foo[0]): the checker does not resolve it.
			if p.accept(".") {
				if !p.accept("*") {
					p.ident()
				}
			} else {
				p.next()
				if !p.accept("*") {
					p.next()
				}
				p.expect("]")
			}
			ty = &TypeExpr{P: ty.P, Kind: "access", Item: ty}
		case p.isPunct("?"):
			p.next()
			ty.Nullable = true
		default:
			return ty
		}
	}
}

func (p *parser) objectType() *TypeExpr {
	t := p.expect("{")
	ty := &TypeExpr{P: t.pos, Kind: "object"}
	for {
		p.skipNL()
		p.accept(",")
		p.skipNL()
		if p.accept("}") {
			return ty
		}
		p.decorators()
		k := p.next()
		var name string
		switch {
		case k.kind == tIdent:
			name = k.text
		case k.kind == tString && len(k.holes) == 0:
			name = k.parts[0]
		case k.kind == tPunct && k.text == "*":
			name = "*"
		default:
			p.fail(k, "expected a property name, found %s", describe(k))
		}
		opt := p.accept("?")
		p.expect(":")
		ty.Props = append(ty.Props, &TypeProp{Name: name, Optional: opt, Type: p.typeExpr()})
	}
}

// Expressions, lowest precedence first.

func (p *parser) expr() Expr {
	cond := p.binary(0)
	if !p.isPunct("?") {
		return cond
	}
	q := p.next()
	p.skipNL()
	then := p.expr()
	p.skipNL()
	p.expect(":")
	p.skipNL()
	return &Ternary{P: q.pos, Cond: cond, Then: then, Else: p.expr()}
}

// binaryLevels lists the binary operators by increasing precedence.
var binaryLevels = [][]string{
	{"??"},
	{"||"},
	{"&&"},
	{"==", "!=", "=~", "!~"},
	{"<", "<=", ">", ">="},
	{"+", "-"},
	{"*", "/", "%"},
}

func (p *parser) binary(level int) Expr {
	if level == len(binaryLevels) {
		return p.unary()
	}
	l := p.binary(level + 1)
	for {
		t := p.peek()
		matched := false
		if t.kind == tPunct {
			for _, op := range binaryLevels[level] {
				if t.text == op {
					matched = true
				}
			}
		}
		if !matched {
			return l
		}
		p.next()
		p.skipNL()
		l = &Binary{P: t.pos, Op: t.text, L: l, R: p.binary(level + 1)}
	}
}

func (p *parser) unary() Expr {
	t := p.peek()
	if t.kind == tPunct && (t.text == "!" || t.text == "-" || t.text == "+") {
		p.next()
		return &Unary{P: t.pos, Op: t.text, X: p.unary()}
	}
	return p.postfix(p.primary())
}

func (p *parser) postfix(x Expr) Expr {
	for {
		t := p.peek()
		if t.kind != tPunct {
			return x
		}
		switch t.text {
		case ".", ".?":
			p.next()
			name := p.ident()
			if t.text == "." && p.isPunct("(") {
				x = &Call{P: name.pos, Recv: x, Name: name.text, Args: p.args()}
				continue
			}
			x = &Member{P: name.pos, X: x, Name: name.text, Safe: t.text == ".?"}
		case "[":
			p.next()
			safe := p.accept("?")
			p.skipNL()
			idx := p.expr()
			p.skipNL()
			p.expect("]")
			x = &Index{P: t.pos, X: x, Index: idx, Safe: safe}
		case "::":
			p.next()
			x = &NestedRef{P: t.pos, X: x, Name: p.ident().text}
		case "!":
			p.next()
			x = &NonNull{P: t.pos, X: x}
		default:
			return x
		}
	}
}

// args parses `(a, b, ...)`; line breaks are allowed anywhere inside.
func (p *parser) args() []Expr {
	p.expect("(")
	var out []Expr
	for {
		p.skipNL()
		if p.accept(")") {
			return out
		}
		out = append(out, p.expr())
		p.skipNL()
		if !p.accept(",") && !p.isPunct(")") {
			p.fail(p.peek(), "expected \",\" or \")\", found %s", describe(p.peek()))
		}
	}
}

func (p *parser) primary() Expr {
	t := p.peek()
	switch t.kind {
	case tString:
		p.next()
		return p.stringLit(t)
	case tInt:
		p.next()
		v, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			p.fail(t, "integer out of range")
		}
		return &IntLit{P: t.pos, Value: v}
	case tIdent:
		switch t.text {
		case "true", "false":
			p.next()
			return &BoolLit{P: t.pos, Value: t.text == "true"}
		case "null":
			p.next()
			return &NullLit{P: t.pos}
		}
		if n := p.peekAt(1); n.kind == tPunct && n.text == "=>" {
			p.next()
			p.next()
			p.skipNL()
			return &Lambda{P: t.pos, Params: []string{t.text}, Body: p.expr()}
		}
		p.next()
		if p.isPunct("(") {
			return &Call{P: t.pos, Name: t.text, Args: p.args()}
		}
		return &Ident{P: t.pos, Name: t.text}
	case tPunct:
		switch t.text {
		case "(":
			if params, ok := p.lambdaParams(); ok {
				p.skipNL()
				return &Lambda{P: t.pos, Params: params, Body: p.expr()}
			}
			p.next()
			p.skipNL()
			x := p.expr()
			p.skipNL()
			p.expect(")")
			return &Paren{P: t.pos, X: x}
		case "{":
			return p.object()
		case "[":
			return p.array()
		}
	}
	p.fail(t, "expected an expression, found %s", describe(t))
	return nil
}

// lambdaParams recognises `(a, b) =>` and consumes it; otherwise it consumes nothing.
func (p *parser) lambdaParams() ([]string, bool) {
	j := p.i + 1
	var params []string
	for {
		for p.toks[j].kind == tNewline {
			j++
		}
		t := p.toks[j]
		if t.kind == tPunct && t.text == ")" {
			j++
			break
		}
		if t.kind != tIdent {
			return nil, false
		}
		params = append(params, t.text)
		j++
		for p.toks[j].kind == tNewline {
			j++
		}
		if p.toks[j].kind == tPunct && p.toks[j].text == "," {
			j++
		}
	}
	if t := p.toks[j]; t.kind != tPunct || t.text != "=>" {
		return nil, false
	}
	p.i = j + 1
	return params, true
}

func (p *parser) stringLit(t token) *StringLit {
	s := &StringLit{P: t.pos, Parts: t.parts}
	for _, h := range t.holes {
		sub := &parser{toks: h}
		sub.skipNL()
		s.Holes = append(s.Holes, sub.expr())
		sub.skipNL()
		if e := sub.peek(); e.kind != tEOF {
			sub.fail(e, "unexpected %s in ${}", describe(e))
		}
	}
	return s
}

// separator consumes what may follow an item of an object or array: a comma or line breaks.
func (p *parser) separator(closing string) {
	t := p.peek()
	if p.accept(",") || t.kind == tNewline || p.isPunct(closing) {
		return
	}
	p.fail(t, "expected \",\", a new line or %q, found %s", closing, describe(t))
}

func (p *parser) object() Expr {
	open := p.expect("{")
	o := &ObjectLit{P: open.pos}
	for {
		p.skipNL()
		if p.accept("}") {
			return o
		}
		ds := p.decorators()
		t := p.peek()
		if t.kind == tIdent && t.text == "resource" && p.peekAt(1).kind == tIdent {
			r := p.resource(ds, nil)
			o.Resources = append(o.Resources, r)
			p.separator("}")
			continue
		}
		if p.accept("...") {
			o.Spreads = append(o.Spreads, p.expr())
			p.separator("}")
			continue
		}
		k := p.next()
		var key *StringLit
		switch k.kind {
		case tIdent:
			key = &StringLit{P: k.pos, Parts: []string{k.text}}
		case tString:
			key = p.stringLit(k)
		default:
			p.fail(k, "expected a property name, found %s", describe(k))
		}
		p.expect(":")
		o.Props = append(o.Props, &Prop{P: k.pos, Key: key, Value: p.expr()})
		p.separator("}")
	}
}

func (p *parser) array() Expr {
	open := p.expect("[")
	a := &ArrayLit{P: open.pos}
	p.skipNL()
	if p.isWord("for") {
		a.Items = []Expr{p.forExpr()}
		p.skipNL()
		p.expect("]")
		return a
	}
	for {
		p.skipNL()
		if p.accept("]") {
			return a
		}
		if t := p.peek(); p.accept("...") {
			a.Items = append(a.Items, &Spread{P: t.pos, X: p.expr()})
		} else {
			a.Items = append(a.Items, p.expr())
		}
		p.separator("]")
	}
}

func (p *parser) forExpr() Expr {
	t := p.next() // "for"
	f := &ForExpr{P: t.pos}
	if p.accept("(") {
		f.Item = p.ident().text
		if p.accept(",") {
			f.IndexVar = p.ident().text
		}
		p.expect(")")
	} else {
		f.Item = p.ident().text
	}
	if in := p.ident(); in.text != "in" {
		p.fail(in, "expected \"in\", found %s", describe(in))
	}
	f.Source = p.expr()
	p.expect(":")
	p.skipNL()
	if p.isWord("if") {
		f.Body = p.ifExpr()
	} else {
		f.Body = p.expr()
	}
	return f
}

// equalFold compares Bicep identifiers and property names, which are case-insensitive.
func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
