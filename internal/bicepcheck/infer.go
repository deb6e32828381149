package bicepcheck

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// Value types: what the checker knows of an expression's value, the way Bicep types it. A string
// written as a literal, or read from a loadJsonContent/loadYamlContent file, has a literal type;
// an object literal or a loaded JSON object is closed (it has exactly its keys). Whatever cannot
// be evaluated offline is vAny and is never checked.

type vkind int

const (
	vAny vkind = iota
	vString
	vInt
	vBool
	vNull
	vObject
	vArray
	vUnion
	vDef // a value typed by the resource definitions (a resource symbol or one of its properties)
)

type vt struct {
	kind   vkind
	hasLit bool
	str    string
	num    int64
	boo    bool

	props  map[string]*vt // vObject, lower-case keys
	keys   []string       // vObject, keys as written, in order
	closed bool           // vObject: an object literal or a loaded JSON object

	item  *vt   // vArray
	elems []*vt // vArray: the items of an array literal (a tuple), nil when unknown

	members []*vt // vUnion

	def *Type // vDef
}

var anyT = &vt{kind: vAny}

func strLit(s string) *vt { return &vt{kind: vString, hasLit: true, str: s} }

func union(ts ...*vt) *vt {
	var out []*vt
	seen := map[string]bool{}
	for _, t := range ts {
		if t == nil {
			continue
		}
		if t.kind == vAny {
			return anyT
		}
		ms := []*vt{t}
		if t.kind == vUnion {
			ms = t.members
		}
		for _, m := range ms {
			if m.hasLit {
				k := m.render()
				if seen[k] {
					continue
				}
				seen[k] = true
			}
			out = append(out, m)
		}
	}
	switch len(out) {
	case 0:
		return anyT
	case 1:
		return out[0]
	}
	return &vt{kind: vUnion, members: out}
}

// nonNull removes null from a type (the `!` operator and the left side of `??`).
func nonNull(t *vt) *vt {
	if t.kind == vNull {
		return anyT
	}
	if t.kind != vUnion {
		return t
	}
	var ms []*vt
	for _, m := range t.members {
		if m.kind != vNull {
			ms = append(ms, m)
		}
	}
	return union(ms...)
}

// render writes a type for messages.
func (t *vt) render() string {
	switch t.kind {
	case vString:
		if t.hasLit {
			return quote(t.str)
		}
		return "string"
	case vInt:
		return "int"
	case vBool:
		return "bool"
	case vNull:
		return "null"
	case vObject:
		return "object"
	case vArray:
		return "array"
	case vUnion:
		var parts []string
		for _, m := range t.members {
			parts = append(parts, m.render())
		}
		return strings.Join(parts, " | ")
	case vDef:
		return describeType(t.def)
	}
	return "any"
}

// kindName is the ARM kind of a value type, "" when unknown or mixed.
func (t *vt) kindName() string {
	switch t.kind {
	case vString:
		return "string"
	case vInt:
		return "int"
	case vBool:
		return "bool"
	case vObject:
		return "object"
	case vArray:
		return "array"
	case vNull:
		return "null"
	case vDef:
		return defKind(t.def)
	}
	return ""
}

// defKind is the ARM kind a definition type accepts, "" when it accepts several or any.
func defKind(t *Type) string {
	switch t.Kind {
	case "StringType", "StringLiteralType":
		return "string"
	case "IntegerType":
		return "int"
	case "BooleanType":
		return "bool"
	case "ArrayType":
		return "array"
	case "ObjectType", "DiscriminatedObjectType":
		return "object"
	case "UnionType":
		k := ""
		for _, e := range t.Elements {
			ek := defKind(e)
			if ek == "" || (k != "" && ek != k) {
				return ""
			}
			k = ek
		}
		return k
	}
	return ""
}

// scope binds names to value types: loop variables and lambda parameters over a file's symbols.
type scope struct {
	fi     *fileInfo
	locals map[string]*vt
	parent *scope
}

func (s *scope) with(names map[string]*vt) *scope {
	return &scope{fi: s.fi, locals: names, parent: s}
}

func (s *scope) local(name string) (*vt, bool) {
	for c := s; c != nil; c = c.parent {
		if t, ok := c.locals[name]; ok {
			return t, true
		}
	}
	return nil, false
}

// itemOf is the item type of an array type.
func itemOf(t *vt) *vt {
	switch t.kind {
	case vArray:
		if t.item != nil {
			return t.item
		}
	case vDef:
		if t.def.Kind == "ArrayType" && t.def.Item != nil {
			return &vt{kind: vDef, def: t.def.Item}
		}
	case vUnion:
		var items []*vt
		for _, m := range t.members {
			items = append(items, itemOf(m))
		}
		return union(items...)
	}
	return anyT
}

// loopScope binds a for-expression's item and index variables.
func (c *checker) loopScope(f *ForExpr, sc *scope) *scope {
	names := map[string]*vt{f.Item: itemOf(c.infer(f.Source, sc))}
	if f.IndexVar != "" {
		names[f.IndexVar] = &vt{kind: vInt}
	}
	return sc.with(names)
}

// lambdaScope binds a lambda's parameters; for the array functions the first parameter is an
// item of the array argument.
func (c *checker) lambdaScope(call *Call, l *Lambda, sc *scope) *scope {
	names := map[string]*vt{}
	for _, p := range l.Params {
		names[p] = anyT
	}
	if len(call.Args) < 2 || call.Args[0] == Expr(l) || len(l.Params) == 0 {
		return sc.with(names)
	}
	item := func() *vt { return itemOf(c.infer(call.Args[0], sc)) }
	switch builtinName(call) {
	case "filter", "map", "groupBy", "toObject":
		names[l.Params[0]] = item()
	case "sort":
		for _, p := range l.Params {
			names[p] = item()
		}
	case "reduce":
		if len(l.Params) > 1 {
			names[l.Params[1]] = item()
		}
	}
	return sc.with(names)
}

// infer computes the value type of an expression. It reports nothing: walk does.
func (c *checker) infer(e Expr, sc *scope) *vt {
	switch e := e.(type) {
	case *Ident:
		if t, ok := sc.local(e.Name); ok {
			return t
		}
		return c.symbolType(sc.fi, e.Name)
	case *StringLit:
		if s, ok := e.Literal(); ok {
			return strLit(s)
		}
		return &vt{kind: vString}
	case *IntLit:
		return &vt{kind: vInt, hasLit: true, num: e.Value}
	case *BoolLit:
		return &vt{kind: vBool, hasLit: true, boo: e.Value}
	case *NullLit:
		return &vt{kind: vNull}
	case *ObjectLit:
		o := &vt{kind: vObject, props: map[string]*vt{}, closed: len(e.Spreads) == 0}
		for _, p := range e.Props {
			k, ok := p.Key.Literal()
			if !ok {
				o.closed = false
				continue
			}
			o.props[strings.ToLower(k)] = c.infer(p.Value, sc)
			o.keys = append(o.keys, k)
		}
		return o
	case *ArrayLit:
		if len(e.Items) == 1 {
			if f, ok := e.Items[0].(*ForExpr); ok {
				return &vt{kind: vArray, item: c.infer(f.Body, c.loopScope(f, sc))}
			}
		}
		a := &vt{kind: vArray, elems: []*vt{}}
		for _, it := range e.Items {
			if _, ok := it.(*Spread); ok {
				return &vt{kind: vArray, item: anyT} // the items of a spread are not tracked
			}
			a.elems = append(a.elems, c.infer(it, sc))
		}
		if len(a.elems) > 0 {
			a.item = union(a.elems...)
		}
		return a
	case *Call:
		return c.callType(e, sc)
	case *Member:
		t, _ := memberType(c.infer(e.X, sc), e.Name)
		return t
	case *Index:
		t, _ := c.indexType(c.infer(e.X, sc), c.infer(e.Index, sc))
		return t
	case *NonNull:
		return nonNull(c.infer(e.X, sc))
	case *Unary:
		x := c.infer(e.X, sc)
		switch {
		case e.Op == "!":
			if x.kind == vBool && x.hasLit {
				return &vt{kind: vBool, hasLit: true, boo: !x.boo}
			}
			return &vt{kind: vBool}
		case x.kind == vInt && x.hasLit && e.Op == "-":
			return &vt{kind: vInt, hasLit: true, num: -x.num}
		}
		return &vt{kind: vInt}
	case *Binary:
		switch e.Op {
		case "??":
			return union(nonNull(c.infer(e.L, sc)), c.infer(e.R, sc))
		case "+", "-", "*", "/", "%":
			return &vt{kind: vInt}
		}
		return &vt{kind: vBool}
	case *Ternary:
		return union(c.infer(e.Then, sc), c.infer(e.Else, sc))
	case *Paren:
		return c.infer(e.X, sc)
	case *IfExpr:
		return c.infer(e.Body, sc)
	}
	return anyT
}

// stringFuncs, boolFuncs and intFuncs are built-in functions whose result kind is fixed.
var (
	stringFuncs = setOf("string", "toLower", "toUpper", "uniqueString", "guid", "newGuid", "join",
		"replace", "format", "substring", "trim", "base64", "base64ToString", "uri", "uriComponent",
		"uriComponentToString", "dataUri", "dataUriToString", "utcNow", "dateTimeAdd",
		"resourceId", "subscriptionResourceId", "tenantResourceId", "extensionResourceId",
		"managementGroupResourceId", "loadTextContent", "loadFileAsBase64", "padLeft")
	boolFuncs = setOf("empty", "contains", "startsWith", "endsWith", "bool")
	intFuncs  = setOf("length", "int", "indexOf", "lastIndexOf")
)

func setOf(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		if n != "" {
			m[n] = true
		}
	}
	return m
}

// builtinName is the name of a call to a built-in function (`f()`, `sys.f()`, `az.f()`), "" for
// a call on a resource or a user function namespace.
func builtinName(e *Call) string {
	if e.Recv == nil {
		return e.Name
	}
	if id, ok := e.Recv.(*Ident); ok && (id.Name == "sys" || id.Name == "az") {
		return e.Name
	}
	return ""
}

func (c *checker) callType(e *Call, sc *scope) *vt {
	name := builtinName(e)
	switch {
	case name == "":
		return anyT
	case stringFuncs[name]:
		return &vt{kind: vString}
	case boolFuncs[name]:
		return &vt{kind: vBool}
	case intFuncs[name]:
		return &vt{kind: vInt}
	case name == "filter" && len(e.Args) == 2:
		return c.infer(e.Args[0], sc)
	case (name == "loadJsonContent" || name == "loadYamlContent") && len(e.Args) == 1:
		t, _ := c.loadContent(sc.fi, e)
		return t
	}
	return anyT
}

// loadContent types the file a loadJsonContent/loadYamlContent call reads, as Bicep does: every
// value is a literal, every object closed. The error says why the file could not be read.
func (c *checker) loadContent(fi *fileInfo, e *Call) (*vt, error) {
	s, ok := e.Args[0].(*StringLit)
	if !ok {
		return anyT, nil
	}
	p, ok := s.Literal()
	if !ok {
		return anyT, nil
	}
	abs := filepath.Join(filepath.Dir(fi.abs), filepath.FromSlash(p))
	if t, ok := c.loaded[abs]; ok {
		return t, nil
	}
	raw, err := os.ReadFile(abs)
	if err == nil && e.Name == "loadYamlContent" {
		raw, err = yaml.YAMLToJSON(raw)
	}
	var v any
	if err == nil {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		err = d.Decode(&v)
	}
	if err != nil {
		c.loaded[abs] = anyT
		return anyT, err
	}
	t := jsonType(v)
	c.loaded[abs] = t
	return t, nil
}

func jsonType(v any) *vt {
	switch v := v.(type) {
	case string:
		return strLit(v)
	case bool:
		return &vt{kind: vBool, hasLit: true, boo: v}
	case nil:
		return &vt{kind: vNull}
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return &vt{kind: vInt, hasLit: true, num: n}
		}
		return anyT
	case []any:
		a := &vt{kind: vArray, elems: []*vt{}}
		for _, x := range v {
			a.elems = append(a.elems, jsonType(x))
		}
		if len(a.elems) > 0 {
			a.item = union(a.elems...)
		}
		return a
	case map[string]any:
		o := &vt{kind: vObject, props: map[string]*vt{}, closed: true}
		for k, x := range v {
			o.props[strings.ToLower(k)] = jsonType(x)
			o.keys = append(o.keys, k)
		}
		sort.Strings(o.keys)
		return o
	}
	return anyT
}

// memberType is the type of x.name; missing reports that a closed object has no such property.
// As in Bicep, access on a union is not checked (its type is any).
func memberType(x *vt, name string) (t *vt, missing bool) {
	switch x.kind {
	case vObject:
		if p, ok := x.props[strings.ToLower(name)]; ok {
			return p, false
		}
		return anyT, x.closed
	case vDef:
		return defMember(x.def, name)
	}
	return anyT, false
}

// defMember is a property of a definition type: closed unless it has additionalProperties.
// Discriminated objects are not resolved here (Bicep types their properties as any).
func defMember(d *Type, name string) (*vt, bool) {
	if d.Kind != "ObjectType" {
		return anyT, false
	}
	if p, ok := d.Properties[strings.ToLower(name)]; ok {
		return &vt{kind: vDef, def: p.Type}, false
	}
	if d.Additional != nil {
		return &vt{kind: vDef, def: d.Additional}, false
	}
	return anyT, true
}

// indexType is the type of x[idx]. missing is set when idx has a string literal type (one
// literal: Bicep treats a union of literals as an expression) that a closed object lacks; on a
// union, when any member lacks it.
func (c *checker) indexType(x, idx *vt) (t *vt, missing bool) {
	switch x.kind {
	case vObject, vDef:
		if x.kind == vDef && x.def.Kind == "ArrayType" {
			return itemOf(x), false
		}
		if idx.kind == vString && idx.hasLit {
			return memberType(x, idx.str)
		}
		if x.kind == vDef && x.def.Kind == "ObjectType" && x.def.Additional != nil {
			return &vt{kind: vDef, def: x.def.Additional}, false
		}
		return anyT, false
	case vArray:
		if idx.kind == vInt && idx.hasLit && x.elems != nil && idx.num >= 0 && idx.num < int64(len(x.elems)) {
			return x.elems[idx.num], false
		}
		return itemOf(x), false
	case vUnion:
		var found []*vt
		for _, m := range x.members {
			t, miss := c.indexType(m, idx)
			if miss {
				return anyT, true
			}
			found = append(found, t)
		}
		return union(found...), false
	}
	return anyT, false
}
