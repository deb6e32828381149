package bicepcheck

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"example.com/graphmcp/internal/spelling"
)

// Resource and module declarations checked against the definitions and module files.

// shape is the set of properties an object literal is checked against.
type shape struct {
	props   map[string]*Property
	add     *Type  // additionalProperties, nil when closed
	name    string // type name for messages
	lenient bool   // unresolved discriminator: only known properties are checked
}

func objectShape(t *Type) shape { return shape{props: t.Properties, add: t.Additional, name: t.Name} }

// variantShape merges a discriminated type's base properties with one variant's.
func variantShape(t, variant *Type) shape {
	s := shape{props: map[string]*Property{}, add: variant.Additional, name: variant.Name}
	for k, p := range t.Properties {
		s.props[k] = p
	}
	for k, p := range variant.Properties {
		s.props[k] = p
	}
	return s
}

// topMode says how the top level of a resource body is checked.
type topMode struct {
	resource bool // the body of a resource declaration
	existing bool
	parented bool // has parent: or is nested: the name is one segment of the definition's name type
	graph    bool
}

func (c *checker) checkResource(fi *fileInfo, r *Resource, sc *scope) {
	typ, ver, ok := fullType(r)
	if !ok {
		c.report(fi, r.TypePos, "resource "+r.Name, "the type %q must be written 'Namespace/type@apiVersion'", r.Type)
		return
	}
	label := typ + "@" + ver
	def := c.types.Lookup(typ, ver)
	if def == nil {
		if vs := c.types.Versions(typ); len(vs) > 0 {
			c.report(fi, r.TypePos, label, "API version %s of %s is not in the type definitions (vendored: %s): use that version, or regenerate internal/bicepcheck/types (see its README)", ver, typ, strings.Join(vs, ", "))
		} else {
			c.report(fi, r.TypePos, label, "resource type %s is not in the type definitions: check its spelling, or regenerate internal/bicepcheck/types (see its README)", typ)
		}
		return
	}
	if def.Extension == "microsoftGraph" && !fi.graph {
		c.report(fi, r.TypePos, label, "Microsoft Graph types need the Graph extension in this file: add `extension microsoftGraphV1` (the alias in bicepconfig.json)")
	}
	body, bsc := c.declBody(r.Value, sc)
	if body == nil {
		return
	}
	mode := topMode{resource: true, existing: r.Existing, parented: r.Parent != nil, graph: def.Extension != ""}
	if p := body.Prop("parent"); p != nil {
		mode.parented = true
		c.checkParent(fi, r, typ, label, p)
	}
	if def.Extension == "" {
		c.checkName(fi, typ, label, body, mode.parented)
	}
	t := def.Body
	switch t.Kind {
	case "ObjectType":
		c.checkObject(fi, body, objectShape(t), label, bsc, mode)
	case "DiscriminatedObjectType":
		c.checkObject(fi, body, c.discriminate(fi, body, t, label), label, bsc, mode)
	}
}

// declBody unwraps a resource or module value (if, for, for-if) to its object literal and the
// scope its loop variables live in.
func (c *checker) declBody(v Expr, sc *scope) (*ObjectLit, *scope) {
	switch v := v.(type) {
	case *ObjectLit:
		return v, sc
	case *IfExpr:
		return c.declBody(v.Body, sc)
	case *ArrayLit:
		if len(v.Items) == 1 {
			if f, ok := v.Items[0].(*ForExpr); ok {
				return c.declBody(f.Body, c.loopScope(f, sc))
			}
		}
	}
	return nil, sc
}

// discriminate resolves a discriminated object by the literal its discriminator property has.
func (c *checker) discriminate(fi *fileInfo, o *ObjectLit, t *Type, path string) shape {
	base := shape{props: t.Properties, name: t.Name, lenient: true}
	p := o.Prop(t.Discriminator)
	if p == nil {
		return base
	}
	s, ok := p.Value.(*StringLit)
	if !ok {
		return base
	}
	v, ok := s.Literal()
	if !ok {
		return base
	}
	variant := lookupVariant(t, v)
	if variant == nil {
		var vs []string
		for k := range t.Variants {
			vs = append(vs, quote(k))
		}
		sort.Strings(vs)
		c.report(fi, p.P, path+" "+t.Discriminator, "%s selects the variant of %s, and %s is not one of %s", t.Discriminator, t.Name, quote(v), strings.Join(vs, ", "))
		return base
	}
	return variantShape(t, variant)
}

// checkParent: `parent:` names a resource whose type is the child's minus its last segment.
func (c *checker) checkParent(fi *fileInfo, r *Resource, typ, label string, p *Prop) {
	if r.Parent != nil {
		c.report(fi, p.P, label+" parent", "a nested resource has its parent already; remove `parent:`")
		return
	}
	pr := c.resourceRef(fi, p.Value)
	if pr == nil {
		return
	}
	ptyp, _, ok := fullType(pr)
	if !ok {
		return
	}
	want := parentType(typ)
	if want == "" {
		c.report(fi, p.P, label+" parent", "%s is a top-level type and cannot have a parent", typ)
		return
	}
	if !strings.EqualFold(ptyp, want) {
		c.report(fi, p.P, label+" parent", "the parent %s is a %s, but a %s needs a parent of type %s", pr.Name, ptyp, typ, want)
	}
}

// resourceRef resolves `sym` or `sym[i]` to a resource declaration of the file.
func (c *checker) resourceRef(fi *fileInfo, e Expr) *Resource {
	switch e := e.(type) {
	case *Ident:
		return fi.res[e.Name]
	case *Index:
		return c.resourceRef(fi, e.X)
	case *Paren:
		return c.resourceRef(fi, e.X)
	}
	return nil
}

// parentType is a type minus its last segment, "" for a top-level type.
func parentType(typ string) string {
	segs := strings.Split(typ, "/")
	if len(segs) <= 2 {
		return ""
	}
	return strings.Join(segs[:len(segs)-1], "/")
}

// checkName: an ARM resource's name has one segment per type segment, or exactly one when the
// parent is given by `parent:` or nesting. Only literal parts are counted: a ${} may add
// segments, never remove them.
func (c *checker) checkName(fi *fileInfo, typ, label string, body *ObjectLit, parented bool) {
	np := body.Prop("name")
	if np == nil {
		return
	}
	s, ok := np.Value.(*StringLit)
	if !ok {
		return
	}
	slashes := 0
	for _, part := range s.Parts {
		slashes += strings.Count(part, "/")
	}
	_, literal := s.Literal()
	want := strings.Count(typ, "/") - 1
	switch {
	case parented && slashes > 0:
		c.report(fi, np.Value.Pos(), label+" name", "a resource with a parent (parent: or nesting) has a one-segment name, without \"/\" (Bicep error BCP170)")
	case !parented && (slashes > want || (literal && slashes < want)):
		c.report(fi, np.Value.Pos(), label+" name", "the name must have %d \"/\" (one segment per level of %s) without parent:, found %d (Bicep error BCP169)", want, typ, slashes)
	}
}

// checkObject checks an object literal against a shape: unknown, read-only, mistyped and missing
// properties. At the top of a resource body it also applies Bicep's own keys and the rules of
// `existing`.
func (c *checker) checkObject(fi *fileInfo, o *ObjectLit, s shape, path string, sc *scope, mode topMode) {
	join := func(k string) string {
		if mode.resource {
			return path + " " + k
		}
		return path + "." + k
	}
	written := map[string]bool{}
	for _, p := range o.Props {
		k, ok := p.Key.Literal()
		if !ok {
			// A computed key: only the additional-properties type can apply.
			if s.add != nil {
				c.checkValue(fi, p.Value, s.add, join("*"), sc)
			}
			continue
		}
		written[strings.ToLower(k)] = true
		if mode.resource {
			switch strings.ToLower(k) {
			case "parent", "scope", "dependson":
				continue // Bicep's own keys, not part of the definitions
			}
		}
		prop, known := s.props[strings.ToLower(k)]
		if !known {
			if s.add != nil {
				c.checkValue(fi, p.Value, s.add, join(k), sc)
				continue
			}
			if !s.lenient {
				c.report(fi, p.P, join(k), "%s has no property %q%s", typeLabel(s, path), k, suggest(k, s.props))
			}
			continue
		}
		if prop.Name != k {
			c.report(fi, p.P, join(k), "the property is spelled %q in the definitions", prop.Name)
		}
		switch {
		case mode.existing && !strings.EqualFold(k, "name") && prop.Flags&flagIdentifier == 0:
			c.report(fi, p.P, join(k), "an existing resource is looked up, not written: it takes only name, scope and parent (or, for Graph, an identifier such as uniqueName or appId)")
			continue
		case prop.Flags&flagReadOnly != 0 && prop.Flags&flagRequired == 0:
			c.report(fi, p.P, join(k), "the property is read-only: Azure sets it, a template cannot write it")
			continue
		}
		t := prop.Type
		if mode.resource && strings.EqualFold(k, "name") && !mode.parented {
			// Without a parent the name is the full a/b/c name; Bicep checks only that it is a string.
			t = &Type{Kind: "StringType"}
		}
		c.checkValue(fi, p.Value, t, join(prop.Name), sc)
	}
	if s.lenient || len(o.Spreads) > 0 || (mode.existing && mode.graph) {
		return
	}
	var missing []string
	for k, p := range s.props {
		if p.Flags&flagRequired != 0 && p.Flags&flagReadOnly == 0 && !written[k] {
			if mode.existing && k != "name" {
				continue
			}
			missing = append(missing, p.Name)
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		c.report(fi, o.P, join(m), "%s requires the property %q", typeLabel(s, path), m)
	}
}

func typeLabel(s shape, path string) string {
	if s.name != "" {
		return s.name
	}
	return path
}

// checkValue checks an expression against a definition type. Object and array literals (also
// through variables, ternary branches and both sides of ??) are checked item by item; anything
// else by its value type.
func (c *checker) checkValue(fi *fileInfo, e Expr, t *Type, path string, sc *scope) {
	if t == nil || t.Kind == "AnyType" {
		return
	}
	switch e := e.(type) {
	case *Paren:
		c.checkValue(fi, e.X, t, path, sc)
		return
	case *Ternary:
		c.checkValue(fi, e.Then, t, path, sc)
		c.checkValue(fi, e.Else, t, path, sc)
		return
	case *Binary:
		if e.Op == "??" {
			c.checkValue(fi, e.L, t, path, sc)
			c.checkValue(fi, e.R, t, path, sc)
			return
		}
	case *NullLit:
		return
	case *Ident:
		if _, local := sc.local(e.Name); !local {
			if v, ok := fi.vars[e.Name]; ok {
				key := fmt.Sprintf("%s\x00%s\x00%p\x00%s", fi.abs, e.Name, t, path)
				if c.checking == nil {
					c.checking = map[string]bool{}
				}
				if !c.checking[key] {
					c.checking[key] = true
					c.checkValue(fi, v.Value, t, path, &scope{fi: fi})
				}
				return
			}
		}
	case *ObjectLit:
		c.checkObjectValue(fi, e, t, path, sc)
		return
	case *ArrayLit:
		at := memberOfKind(t, "ArrayType")
		if at == nil {
			c.mismatch(fi, e.P, path, t, "array")
			return
		}
		if len(e.Items) == 1 {
			if f, ok := e.Items[0].(*ForExpr); ok {
				body := f.Body
				if i, ok := body.(*IfExpr); ok {
					body = i.Body
				}
				c.checkValue(fi, body, at.Item, path+"[*]", c.loopScope(f, sc))
				return
			}
		}
		for i, it := range e.Items {
			if _, ok := it.(*Spread); ok {
				continue // a spread array's items are not tracked
			}
			c.checkValue(fi, it, at.Item, path+"["+strconv.Itoa(i)+"]", sc)
		}
		return
	}
	c.checkVType(fi, e.Pos(), c.infer(e, sc), t, path)
}

// memberOfKind returns t, or the single member of a union t, of the given definition kind.
func memberOfKind(t *Type, kinds ...string) *Type {
	is := func(x *Type) bool {
		for _, k := range kinds {
			if x.Kind == k {
				return true
			}
		}
		return false
	}
	if is(t) {
		return t
	}
	if t.Kind != "UnionType" {
		return nil
	}
	var found *Type
	for _, e := range t.Elements {
		if is(e) {
			if found != nil {
				return &Type{Kind: "AnyType"} // several candidates: not decidable here
			}
			found = e
		}
	}
	return found
}

func (c *checker) checkObjectValue(fi *fileInfo, o *ObjectLit, t *Type, path string, sc *scope) {
	ot := memberOfKind(t, "ObjectType", "DiscriminatedObjectType")
	switch {
	case ot == nil:
		c.mismatch(fi, o.P, path, t, "object")
	case ot.Kind == "ObjectType":
		c.checkObject(fi, o, objectShape(ot), path, sc, topMode{})
	case ot.Kind == "DiscriminatedObjectType":
		c.checkObject(fi, o, c.discriminate(fi, o, ot, path), path, sc, topMode{})
	}
}

func (c *checker) mismatch(fi *fileInfo, pos Pos, path string, t *Type, got string) {
	if t.Kind == "AnyType" {
		return
	}
	c.report(fi, pos, path, "expects %s, got %s", describeType(t), got)
}

// checkVType checks a value type against a definition type: the kind, and for a string literal
// the literal set of a closed union (a union with no plain string member).
func (c *checker) checkVType(fi *fileInfo, pos Pos, v *vt, t *Type, path string) {
	if v.kind == vAny || v.kind == vNull || t.Kind == "AnyType" {
		return
	}
	if v.kind == vUnion {
		for _, m := range v.members {
			c.checkVType(fi, pos, m, t, path)
		}
		return
	}
	got := v.kindName()
	if got == "" {
		return
	}
	switch t.Kind {
	case "StringLiteralType", "UnionType":
		lits, open, kinds := literalSet(t)
		if !kinds[got] && !kinds[""] {
			c.mismatch(fi, pos, path, t, v.render())
			return
		}
		if got == "string" && v.hasLit && !open && len(lits) > 0 && !contains(lits, v.str) {
			c.report(fi, pos, path, "%s is not one of %s%s", quote(v.str), quoteAll(lits), suggestLiteral(v.str, lits))
		}
	default:
		if want := defKind(t); want != "" && want != got {
			c.mismatch(fi, pos, path, t, v.render())
		}
	}
}

// literalSet returns the string literals a type accepts, whether it also accepts any string, and
// the kinds it accepts ("" meaning any kind).
func literalSet(t *Type) (lits []string, open bool, kinds map[string]bool) {
	kinds = map[string]bool{}
	var visit func(t *Type)
	visit = func(t *Type) {
		switch t.Kind {
		case "StringLiteralType":
			lits = append(lits, t.Value)
			kinds["string"] = true
		case "StringType":
			open = true
			kinds["string"] = true
		case "UnionType":
			for _, e := range t.Elements {
				visit(e)
			}
		case "NullType":
		default:
			kinds[defKind(t)] = true
		}
	}
	visit(t)
	return lits, open, kinds
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func quoteAll(list []string) string {
	var qs []string
	for _, s := range list {
		qs = append(qs, quote(s))
	}
	if len(qs) > 12 {
		qs = append(qs[:12], fmt.Sprintf("... (%d in all)", len(list)))
	}
	return strings.Join(qs, ", ")
}

// suggest names the closest known property, for a misspelling.
func suggest(k string, props map[string]*Property) string {
	var names []string
	for _, p := range props {
		names = append(names, p.Name)
	}
	if best := closest(k, names); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

func suggestLiteral(v string, lits []string) string {
	if best := closest(v, lits); best != "" {
		return fmt.Sprintf(" (did you mean %s?)", quote(best))
	}
	return ""
}

// closest returns the candidate nearest to s, ignoring case, or "" when none is near enough to be
// a likely misspelling (two edits, or a third of the word).
func closest(s string, candidates []string) string {
	sort.Strings(candidates)
	lower := make([]string, len(candidates))
	for i, c := range candidates {
		lower[i] = strings.ToLower(c)
	}
	best, d := spelling.Nearest(strings.ToLower(s), lower)
	if d < 0 || (d > 2 && d > len(s)/3) {
		return ""
	}
	for i, l := range lower {
		if l == best {
			return candidates[i]
		}
	}
	return ""
}

// checkDeclared checks a param default or output value against its declared type's kind.
func (c *checker) checkDeclared(fi *fileInfo, e Expr, t *TypeExpr, label string, sc *scope) {
	c.checkAgainst(fi, e.Pos(), label, c.infer(e, sc), declaredType(t))
}

// checkAgainst checks a value type against a declared value type (a kind, or a union of allowed
// literals); only literals are compared with allowed values.
func (c *checker) checkAgainst(fi *fileInfo, pos Pos, path string, v, want *vt) {
	if v.kind == vAny || v.kind == vNull || want.kind == vAny {
		return
	}
	if v.kind == vUnion {
		for _, m := range v.members {
			c.checkAgainst(fi, pos, path, m, want)
		}
		return
	}
	wantKind := want.kindName()
	if want.kind == vUnion {
		allowed := map[string]bool{}
		for _, m := range want.members {
			allowed[m.render()] = true
			wantKind = m.kindName()
		}
		if v.hasLit && v.kindName() == wantKind && !allowed[v.render()] {
			var as []string
			for _, m := range want.members {
				as = append(as, m.render())
			}
			c.report(fi, pos, path, "%s is not one of the allowed values %s", v.render(), strings.Join(as, ", "))
			return
		}
	}
	if got := v.kindName(); got != "" && wantKind != "" && got != wantKind {
		c.report(fi, pos, path, "expects %s, got %s", wantKind, v.render())
	}
}

// moduleKeys are the properties a module body may have.
var moduleKeys = setOf("name", "scope", "params", "dependsOn", "identity")

// checkModule checks a module's body keys and, against the module file, its params: each one
// exists with the right kind (and an allowed value when literal), and every required one is given.
func (c *checker) checkModule(fi *fileInfo, m *Module, sc *scope) {
	label := "module " + m.Name
	mf := c.moduleFile(fi, m)
	body, bsc := c.declBody(m.Value, sc)
	if body == nil {
		return
	}
	for _, p := range body.Props {
		if k, ok := p.Key.Literal(); ok && !moduleKeys[k] {
			c.report(fi, p.P, label+" "+k, "a module body takes only name, scope, params, dependsOn and identity")
		}
	}
	if mf == nil || mf.file == nil {
		return
	}
	given := map[string]bool{}
	open := false
	if pp := body.Prop("params"); pp != nil {
		obj, ok := pp.Value.(*ObjectLit)
		if !ok || len(obj.Spreads) > 0 {
			open = true
		} else {
			names := map[string]*Property{}
			for n := range mf.params {
				names[n] = &Property{Name: n}
			}
			for _, p := range obj.Props {
				k, ok := p.Key.Literal()
				if !ok {
					open = true
					continue
				}
				given[k] = true
				param, found := mf.params[k]
				if !found {
					c.report(fi, p.P, label+" params."+k, "%s declares no parameter %q%s", mf.rel, k, suggest(k, names))
					continue
				}
				c.checkAgainst(fi, p.Value.Pos(), label+" params."+k, c.infer(p.Value, bsc), paramType(param))
			}
		}
	}
	if open {
		return
	}
	var missing []string
	for n, p := range mf.params {
		if p.Default == nil && (p.Type == nil || !p.Type.Nullable) && !given[n] {
			missing = append(missing, n)
		}
	}
	sort.Strings(missing)
	for _, n := range missing {
		c.report(fi, body.P, label+" params."+n, "%s requires the parameter %q (it has no default)", mf.rel, n)
	}
}

// render prints an expression compactly for finding paths and messages.
func render(e Expr) string {
	switch e := e.(type) {
	case *Ident:
		return e.Name
	case *StringLit:
		var b strings.Builder
		b.WriteString("'")
		for i, p := range e.Parts {
			b.WriteString(p)
			if i < len(e.Holes) {
				b.WriteString("${" + render(e.Holes[i]) + "}")
			}
		}
		b.WriteString("'")
		return b.String()
	case *IntLit:
		return strconv.FormatInt(e.Value, 10)
	case *BoolLit:
		return strconv.FormatBool(e.Value)
	case *NullLit:
		return "null"
	case *ObjectLit:
		return "{...}"
	case *ArrayLit:
		return "[...]"
	case *Call:
		var args []string
		for _, a := range e.Args {
			args = append(args, render(a))
		}
		prefix := ""
		if e.Recv != nil {
			prefix = render(e.Recv) + "."
		}
		return prefix + e.Name + "(" + strings.Join(args, ", ") + ")"
	case *Member:
		if e.Safe {
			return render(e.X) + ".?" + e.Name
		}
		return render(e.X) + "." + e.Name
	case *Index:
		q := ""
		if e.Safe {
			q = "?"
		}
		return render(e.X) + "[" + q + render(e.Index) + "]"
	case *NestedRef:
		return render(e.X) + "::" + e.Name
	case *NonNull:
		return render(e.X) + "!"
	case *Unary:
		return e.Op + render(e.X)
	case *Binary:
		return render(e.L) + " " + e.Op + " " + render(e.R)
	case *Ternary:
		return render(e.Cond) + " ? " + render(e.Then) + " : " + render(e.Else)
	case *Paren:
		return "(" + render(e.X) + ")"
	case *Lambda:
		return "(" + strings.Join(e.Params, ", ") + ") => " + render(e.Body)
	case *Spread:
		return "..." + render(e.X)
	}
	return "..."
}
