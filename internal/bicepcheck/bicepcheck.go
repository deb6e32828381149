// Package bicepcheck type-checks Bicep files offline against the published resource type
// definitions (bicep-types JSON of Azure Resource Manager and the Microsoft Graph extension,
// vendored in types/ for exactly the types and API versions infra/ declares), because the Bicep
// compiler itself cannot run here.
//
//	ts, err := bicepcheck.LoadVendored()
//	...
//	findings, err := bicepcheck.Check(ts, "infra", []string{"main.bicep", "modules/function.bicep"})
//	...
//	for _, f := range findings {
//		fmt.Println(f)
//		// modules/function.bicep:50: Microsoft.Web/sites@2024-04-01 properties.httpsOnyl:
//		//   SiteProperties has no property "httpsOnyl" (did you mean "httpsOnly"?)
//	}
//
// It parses the Bicep the project writes (parser.go) and, for every resource, module and
// expression, checks what the compiler would: the type and API version exist; every property
// written exists (or the object allows additional properties), has the right kind and, for a
// closed set of string literals, one of them; required properties are present and read-only
// ones are not written; discriminated objects resolve by their discriminator; child resource
// names and parents have the right shape; a module's params exist and the required ones are
// given; and an index or property access whose key has a literal type names a key the closed
// object has (Bicep's BCP053, the class of error that loadJsonContent's literal types expose).
// Whatever cannot be evaluated offline (function results, parameters without allowed values,
// any()) is skipped, never guessed. infra/README.md says where this and `bicep build` may differ.
package bicepcheck

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Finding is one type error: where, the type path (resource type and property path, or the
// expression), and what is wrong.
type Finding struct {
	File string
	Line int
	Path string
	Msg  string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", f.File, f.Line, f.Path, f.Msg)
}

// Check parses and checks files (paths relative to root; findings name them the same way).
// Modules they reference are read for their parameters and outputs.
func Check(ts *Types, root string, files []string) ([]Finding, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	c := &checker{types: ts, root: root, files: map[string]*fileInfo{}, loaded: map[string]*vt{}, seen: map[string]bool{}}
	for _, f := range files {
		fi, err := c.file(filepath.Join(root, f))
		if err != nil {
			return nil, err
		}
		if fi.file != nil {
			c.checkFile(fi)
		}
	}
	sort.SliceStable(c.findings, func(i, j int) bool {
		a, b := c.findings[i], c.findings[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return c.findings, nil
}

type checker struct {
	types    *Types
	root     string
	files    map[string]*fileInfo // by absolute path
	loaded   map[string]*vt       // loadJsonContent/loadYamlContent results by absolute path
	findings []Finding
	seen     map[string]bool
	checking map[string]bool // var/type pairs being checked (recursion guard)
}

// fileInfo is a parsed file with its symbol table.
type fileInfo struct {
	abs, rel  string
	file      *File
	params    map[string]*Param
	vars      map[string]*Var
	res       map[string]*Resource
	mods      map[string]*Module
	outputs   map[string]*Output
	graph     bool // declares the Microsoft Graph extension (resolved through bicepconfig.json)
	varTypes  map[string]*vt
	inferring map[string]bool
}

// declares reports whether a name is a file-level symbol, a namespace (sys, az, an extension or
// its alias) or may come from a compile-time import, which the checker does not follow.
func (fi *fileInfo) declares(name string) bool {
	if fi.params[name] != nil || fi.vars[name] != nil || fi.res[name] != nil || fi.mods[name] != nil || name == "sys" || name == "az" {
		return true
	}
	for _, d := range fi.file.Decls {
		switch d := d.(type) {
		case *Extension:
			if d.Ref == name || d.Alias == name {
				return true
			}
		case *Other:
			if d.Kind == "import" {
				return true
			}
		case *Func:
			if d.Name == name {
				return true
			}
		}
	}
	return false
}

func (c *checker) report(fi *fileInfo, pos Pos, path, format string, a ...any) {
	f := Finding{File: fi.rel, Line: pos.Line, Path: path, Msg: fmt.Sprintf(format, a...)}
	if k := f.String(); !c.seen[k] {
		c.seen[k] = true
		c.findings = append(c.findings, f)
	}
}

// file parses a file once. A syntax error becomes a finding (fi.file stays nil).
func (c *checker) file(path string) (*fileInfo, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if fi, ok := c.files[abs]; ok {
		return fi, nil
	}
	rel, err := filepath.Rel(c.root, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		rel = path
	}
	fi := &fileInfo{abs: abs, rel: filepath.ToSlash(rel), params: map[string]*Param{}, vars: map[string]*Var{},
		res: map[string]*Resource{}, mods: map[string]*Module{}, outputs: map[string]*Output{},
		varTypes: map[string]*vt{}, inferring: map[string]bool{}}
	c.files[abs] = fi
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Parse(fi.rel, string(src))
	if err != nil {
		line := 0
		fmt.Sscanf(strings.TrimPrefix(err.Error(), fi.rel+":"), "%d", &line)
		c.report(fi, Pos{Line: line}, "syntax", "%v", err)
		return fi, nil
	}
	fi.file = f
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *Param:
			fi.params[d.Name] = d
		case *Var:
			fi.vars[d.Name] = d
		case *Resource:
			fi.res[d.Name] = d
		case *Module:
			fi.mods[d.Name] = d
		case *Output:
			fi.outputs[d.Name] = d
		}
	}
	return fi, nil
}

func (c *checker) checkFile(fi *fileInfo) {
	sc := &scope{fi: fi}
	for _, d := range fi.file.Decls {
		if e, ok := d.(*Extension); ok {
			c.checkExtension(fi, e)
		}
	}
	for _, d := range fi.file.Decls {
		switch d := d.(type) {
		case *Param:
			if d.Default != nil {
				c.walk(d.Default, sc)
				c.checkDeclared(fi, d.Default, d.Type, "param "+d.Name, sc)
			}
		case *Var:
			c.walk(d.Value, sc)
		case *Output:
			c.walk(d.Value, sc)
			c.checkDeclared(fi, d.Value, d.Type, "output "+d.Name, sc)
		case *Resource:
			c.walk(d.Value, sc)
			c.checkResource(fi, d, sc)
		case *Module:
			c.walk(d.Value, sc)
			c.checkModule(fi, d, sc)
		case *TargetScope:
			c.walk(d.Value, sc)
		case *Other:
			if d.Value != nil {
				c.walk(d.Value, sc)
			}
		}
	}
}

// checkExtension resolves `extension alias` through the nearest bicepconfig.json and accepts the
// Microsoft Graph extension whose definitions are vendored.
func (c *checker) checkExtension(fi *fileInfo, e *Extension) {
	ref := e.Ref
	if !e.Quoted {
		aliases, where := bicepConfigExtensions(filepath.Dir(fi.abs))
		r, ok := aliases[e.Ref]
		if !ok {
			c.report(fi, e.P, "extension "+e.Ref, "no bicepconfig.json (%s) declares the extension alias %q: add it under \"extensions\"", where, e.Ref)
			return
		}
		ref = r
	}
	low := strings.ToLower(ref)
	switch {
	case low == "az" || strings.HasPrefix(low, "az@") || low == "sys":
	case strings.Contains(low, "microsoftgraph/"):
		if !c.types.hasGraph(low) {
			c.report(fi, e.P, "extension "+e.Ref, "no vendored type definitions for %s (have %s): regenerate internal/bicepcheck/types", ref, strings.Join(c.types.graphRefs, ", "))
			return
		}
		fi.graph = true
	default:
		c.report(fi, e.P, "extension "+e.Ref, "extension %s has no vendored type definitions", ref)
	}
}

// bicepConfigExtensions reads "extensions" of the bicepconfig.json nearest to dir, as Bicep does.
func bicepConfigExtensions(dir string) (map[string]string, string) {
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "bicepconfig.json")
		if raw, err := os.ReadFile(p); err == nil {
			var cfg struct {
				Extensions map[string]string `json:"extensions"`
			}
			if err := json.Unmarshal(raw, &cfg); err != nil {
				return nil, p + ": " + err.Error()
			}
			return cfg.Extensions, p
		}
		if filepath.Dir(d) == d {
			return nil, "none found above " + dir
		}
	}
}

// symbolType is the value type of a file-level symbol.
func (c *checker) symbolType(fi *fileInfo, name string) *vt {
	if p, ok := fi.params[name]; ok {
		return paramType(p)
	}
	if v, ok := fi.vars[name]; ok {
		if t, ok := fi.varTypes[name]; ok {
			return t
		}
		if fi.inferring[name] {
			return anyT
		}
		fi.inferring[name] = true
		t := c.infer(v.Value, &scope{fi: fi})
		delete(fi.inferring, name)
		fi.varTypes[name] = t
		return t
	}
	if r, ok := fi.res[name]; ok {
		return c.resourceValueType(r)
	}
	if m, ok := fi.mods[name]; ok {
		return c.moduleValueType(fi, m)
	}
	return anyT
}

// paramType: a parameter with @allowed literals has their union; otherwise its declared kind.
func paramType(p *Param) *vt {
	for _, d := range p.Decorators {
		if d.Name != "allowed" || len(d.Args) != 1 {
			continue
		}
		if a, ok := d.Args[0].(*ArrayLit); ok {
			var ms []*vt
			for _, it := range a.Items {
				switch it := it.(type) {
				case *StringLit:
					if s, ok := it.Literal(); ok {
						ms = append(ms, strLit(s))
						continue
					}
				case *IntLit:
					ms = append(ms, &vt{kind: vInt, hasLit: true, num: it.Value})
					continue
				}
				return declaredType(p.Type)
			}
			return union(ms...)
		}
	}
	return declaredType(p.Type)
}

// declaredType is the value type of a declared type; only the primitive kinds are used.
func declaredType(t *TypeExpr) *vt {
	if t == nil || t.Nullable {
		return anyT
	}
	switch t.Kind {
	case "name":
		switch strings.TrimPrefix(t.Name, "sys.") {
		case "string":
			return &vt{kind: vString}
		case "int":
			return &vt{kind: vInt}
		case "bool":
			return &vt{kind: vBool}
		case "array":
			return &vt{kind: vArray, item: anyT}
		case "object":
			return &vt{kind: vObject, props: map[string]*vt{}}
		}
	case "array":
		return &vt{kind: vArray, item: anyT}
	}
	return anyT
}

// resourceValueType: a resource symbol is its body type (an array of them for a loop).
func (c *checker) resourceValueType(r *Resource) *vt {
	t := anyT
	if typ, ver, ok := fullType(r); ok {
		if d := c.types.Lookup(typ, ver); d != nil {
			t = &vt{kind: vDef, def: resolveBody(d.Body, bodyObject(r.Value))}
		}
	}
	if a, ok := r.Value.(*ArrayLit); ok && len(a.Items) == 1 {
		if _, ok := a.Items[0].(*ForExpr); ok {
			return &vt{kind: vArray, item: t}
		}
	}
	return t
}

// resolveBody picks the variant of a discriminated body by the literal the body writes.
func resolveBody(t *Type, body *ObjectLit) *Type {
	if t.Kind != "DiscriminatedObjectType" || body == nil {
		return t
	}
	if p := body.Prop(t.Discriminator); p != nil {
		if s, ok := p.Value.(*StringLit); ok {
			if v, ok := s.Literal(); ok {
				if variant := lookupVariant(t, v); variant != nil {
					return variant
				}
			}
		}
	}
	return t
}

func lookupVariant(t *Type, v string) *Type {
	if x, ok := t.Variants[v]; ok {
		return x
	}
	for k, x := range t.Variants {
		if strings.EqualFold(k, v) {
			return x
		}
	}
	return nil
}

// moduleValueType: `outputs` is closed (the module file's outputs); the rest is not checked.
func (c *checker) moduleValueType(fi *fileInfo, m *Module) *vt {
	mf := c.moduleFile(fi, m)
	if mf == nil || mf.file == nil {
		return anyT
	}
	outs := &vt{kind: vObject, props: map[string]*vt{}, closed: true}
	for _, d := range mf.file.Decls {
		if o, ok := d.(*Output); ok {
			outs.props[strings.ToLower(o.Name)] = declaredType(o.Type)
			outs.keys = append(outs.keys, o.Name)
		}
	}
	t := &vt{kind: vObject, props: map[string]*vt{"outputs": outs}}
	if a, ok := m.Value.(*ArrayLit); ok && len(a.Items) == 1 {
		if _, ok := a.Items[0].(*ForExpr); ok {
			return &vt{kind: vArray, item: t}
		}
	}
	return t
}

// moduleFile parses a local module; registry modules (br:, ts:) are not checked.
func (c *checker) moduleFile(fi *fileInfo, m *Module) *fileInfo {
	if strings.Contains(m.Path, ":") {
		return nil
	}
	mf, err := c.file(filepath.Join(filepath.Dir(fi.abs), filepath.FromSlash(m.Path)))
	if err != nil {
		c.report(fi, m.PathPos, "module "+m.Name, "cannot read the module file: %v", err)
		return nil
	}
	return mf
}

// walk visits every expression and reports indexes and property accesses that a closed object
// cannot satisfy (BCP053), with loop variables and lambda parameters in scope.
func (c *checker) walk(e Expr, sc *scope) {
	switch e := e.(type) {
	case *StringLit:
		for _, h := range e.Holes {
			c.walk(h, sc)
		}
	case *Ident:
		if _, ok := sc.local(e.Name); !ok && !sc.fi.declares(e.Name) {
			c.report(sc.fi, e.P, e.Name, "no parameter, variable, resource, module or loop variable is named %q (Bicep error BCP057)", e.Name)
		}
	case *ObjectLit:
		if len(e.Resources) > 0 {
			// Nested resources are visible by name throughout their parent's body.
			names := map[string]*vt{}
			for _, r := range e.Resources {
				names[r.Name] = c.resourceValueType(r)
			}
			sc = sc.with(names)
		}
		for _, p := range e.Props {
			for _, h := range p.Key.Holes {
				c.walk(h, sc)
			}
			c.walk(p.Value, sc)
		}
		for _, s := range e.Spreads {
			c.walk(s, sc)
		}
		for _, r := range e.Resources {
			c.walk(r.Value, sc)
			c.checkResource(sc.fi, r, sc)
		}
	case *ArrayLit:
		for _, it := range e.Items {
			c.walk(it, sc)
		}
	case *ForExpr:
		c.walk(e.Source, sc)
		c.walk(e.Body, c.loopScope(e, sc))
	case *IfExpr:
		c.walk(e.Cond, sc)
		c.walk(e.Body, sc)
	case *Call:
		if e.Recv != nil {
			c.walk(e.Recv, sc)
		}
		for _, a := range e.Args {
			if l, ok := a.(*Lambda); ok {
				c.walk(l.Body, c.lambdaScope(e, l, sc))
				continue
			}
			c.walk(a, sc)
		}
		if n := builtinName(e); (n == "loadJsonContent" || n == "loadYamlContent") && len(e.Args) == 1 {
			if _, err := c.loadContent(sc.fi, e); err != nil {
				c.report(sc.fi, e.P, n, "cannot load the file: %v", err)
			}
		}
	case *Lambda:
		names := map[string]*vt{}
		for _, p := range e.Params {
			names[p] = anyT
		}
		c.walk(e.Body, sc.with(names))
	case *Member:
		c.walk(e.X, sc)
		if !e.Safe {
			x := c.infer(e.X, sc)
			if _, missing := memberType(x, e.Name); missing {
				c.report(sc.fi, e.P, render(e), "%s has no property %q%s %s", render(e.X), e.Name, available(x), bcp053(x))
			}
		}
	case *Index:
		c.walk(e.X, sc)
		c.walk(e.Index, sc)
		if !e.Safe {
			x, idx := c.infer(e.X, sc), c.infer(e.Index, sc)
			if _, missing := c.indexType(x, idx); missing {
				c.report(sc.fi, e.Index.Pos(), render(e), "the key %s has the literal type %s, which is not a property of %s%s %s",
					render(e.Index), idx.render(), render(e.X), available(x), bcp053(x))
			}
		}
	case *NestedRef:
		c.walk(e.X, sc)
	case *Spread:
		c.walk(e.X, sc)
	case *NonNull:
		c.walk(e.X, sc)
	case *Unary:
		c.walk(e.X, sc)
	case *Binary:
		c.walk(e.L, sc)
		c.walk(e.R, sc)
	case *Ternary:
		c.walk(e.Cond, sc)
		c.walk(e.Then, sc)
		c.walk(e.Else, sc)
	case *Paren:
		c.walk(e.X, sc)
	}
}

// bcp053 names the Bicep diagnostic: an error on object literals, loaded JSON/YAML and module
// outputs; Bicep only warns for resource types, whose definitions it does not fully trust.
func bcp053(x *vt) string {
	if x.kind == vDef {
		return "(Bicep BCP053, a warning there for resource types)"
	}
	return "(Bicep error BCP053)"
}

// available lists an object's keys for a message.
func available(x *vt) string {
	var keys []string
	switch x.kind {
	case vObject:
		keys = append(keys, x.keys...)
	case vDef:
		if x.def.Kind == "ObjectType" {
			for _, p := range x.def.Properties {
				keys = append(keys, p.Name)
			}
		}
	}
	if len(keys) == 0 {
		return ""
	}
	sort.Strings(keys)
	if len(keys) > 8 {
		keys = append(keys[:8], "...")
	}
	return "; it has " + strings.Join(keys, ", ")
}
