package bicepcheck

// The syntax tree of a Bicep file: declarations and expressions with their source positions.
// It keeps what type checking needs (keys, values, positions) and nothing of the trivia.

// File is one parsed .bicep file.
type File struct {
	Path  string // as given to Parse; findings name it
	Decls []Decl
}

// Decl is a top-level declaration.
type Decl interface{ declPos() Pos }

// Decorator is `@name(args)` (or `@sys.name(args)`) before a declaration.
type Decorator struct {
	P    Pos
	Name string
	Args []Expr
}

// Param is `param name type [= default]`.
type Param struct {
	P          Pos
	Name       string
	Type       *TypeExpr
	Default    Expr // nil when absent
	Decorators []*Decorator
}

// Var is `var name [type] = value`.
type Var struct {
	P          Pos
	Name       string
	Value      Expr
	Decorators []*Decorator
}

// Output is `output name type = value`.
type Output struct {
	P          Pos
	Name       string
	Type       *TypeExpr
	Value      Expr
	Decorators []*Decorator
}

// Resource is `resource name 'Type@version' [existing] = value`, top level or nested in a parent's
// body (then Type is relative to the parent's and Parent is set).
type Resource struct {
	P          Pos
	Name       string
	Type       string // as written
	TypePos    Pos
	Existing   bool
	Value      Expr // *ObjectLit, *IfExpr or *ArrayLit holding a *ForExpr
	Decorators []*Decorator
	Parent     *Resource // lexical parent of a nested declaration
}

// Module is `module name 'path' = value`.
type Module struct {
	P          Pos
	Name       string
	Path       string
	PathPos    Pos
	Value      Expr
	Decorators []*Decorator
}

// Extension is `extension ref [with {...}] [as alias]`, or the older `import 'ref' ...` and
// `provider 'ref' ...`. Ref is an alias from bicepconfig.json or a quoted reference.
type Extension struct {
	P      Pos
	Ref    string
	Quoted bool
	Alias  string
	Config Expr
}

// TargetScope is `targetScope = value`.
type TargetScope struct {
	P     Pos
	Value Expr
}

// TypeDecl is `type name = type`.
type TypeDecl struct {
	P          Pos
	Name       string
	Type       *TypeExpr
	Decorators []*Decorator
}

// Func is `func name(params) type => body`.
type Func struct {
	P      Pos
	Name   string
	Params []string
	Body   Expr
}

// Other is a declaration the checker does not look into (metadata, compile-time imports,
// assertions); its expressions are still walked.
type Other struct {
	P     Pos
	Kind  string
	Value Expr
}

func (d *Param) declPos() Pos       { return d.P }
func (d *Var) declPos() Pos         { return d.P }
func (d *Output) declPos() Pos      { return d.P }
func (d *Resource) declPos() Pos    { return d.P }
func (d *Module) declPos() Pos      { return d.P }
func (d *Extension) declPos() Pos   { return d.P }
func (d *TargetScope) declPos() Pos { return d.P }
func (d *TypeDecl) declPos() Pos    { return d.P }
func (d *Func) declPos() Pos        { return d.P }
func (d *Other) declPos() Pos       { return d.P }

// TypeExpr is a type as written in a param, output, var or type declaration.
type TypeExpr struct {
	P        Pos
	Kind     string // "name", "literal", "object", "tuple", "union", "array", "resource", "access"
	Name     string // "name": string, int, bool, object, array, a type alias or sys.string
	Lit      Expr   // "literal": the literal; "resource": the type string
	Props    []*TypeProp
	Elems    []*TypeExpr // "union" members, "tuple" items
	Item     *TypeExpr   // "array" item, "access" base
	Nullable bool
}

// TypeProp is one property of an object type; Name "*" is the additional-properties type.
type TypeProp struct {
	Name     string
	Optional bool
	Type     *TypeExpr
}

// Expr is an expression.
type Expr interface{ Pos() Pos }

type (
	// Ident is a reference to a symbol.
	Ident struct {
		P    Pos
		Name string
	}
	// StringLit is a string: len(Parts) == len(Holes)+1, the holes being the ${} expressions.
	StringLit struct {
		P     Pos
		Parts []string
		Holes []Expr
	}
	// IntLit is an integer literal.
	IntLit struct {
		P     Pos
		Value int64
	}
	// BoolLit is true or false.
	BoolLit struct {
		P     Pos
		Value bool
	}
	// NullLit is null.
	NullLit struct{ P Pos }
	// ObjectLit is `{ key: value ... }`; a resource body may also hold nested resources.
	ObjectLit struct {
		P         Pos
		Props     []*Prop
		Resources []*Resource
		Spreads   []Expr
	}
	// ArrayLit is `[ items ]`; a for-expression is an ArrayLit with one *ForExpr item.
	ArrayLit struct {
		P     Pos
		Items []Expr
	}
	// Call is `name(args)`, `ns.name(args)` or `resource.name(args)` (Recv set).
	Call struct {
		P    Pos
		Recv Expr
		Name string
		Args []Expr
	}
	// Member is `x.name`, or `x.?name` when Safe.
	Member struct {
		P    Pos
		X    Expr
		Name string
		Safe bool
	}
	// Index is `x[i]`, or `x[?i]` when Safe.
	Index struct {
		P     Pos
		X     Expr
		Index Expr
		Safe  bool
	}
	// NestedRef is `parent::child`.
	NestedRef struct {
		P    Pos
		X    Expr
		Name string
	}
	// NonNull is `x!`.
	NonNull struct {
		P Pos
		X Expr
	}
	// Unary is `!x`, `-x` or `+x`.
	Unary struct {
		P  Pos
		Op string
		X  Expr
	}
	// Binary is `l op r`, including `??`.
	Binary struct {
		P    Pos
		Op   string
		L, R Expr
	}
	// Ternary is `cond ? then : else`.
	Ternary struct {
		P                Pos
		Cond, Then, Else Expr
	}
	// Paren is `(x)`.
	Paren struct {
		P Pos
		X Expr
	}
	// Lambda is `x => body` or `(x, y) => body`.
	Lambda struct {
		P      Pos
		Params []string
		Body   Expr
	}
	// ForExpr is `for item in source: body` or `for (item, index) in source: body`.
	ForExpr struct {
		P        Pos
		Item     string
		IndexVar string
		Source   Expr
		Body     Expr
	}
	// Spread is `...x` in an array literal (in an object literal it is in ObjectLit.Spreads).
	Spread struct {
		P Pos
		X Expr
	}
	// IfExpr is `if (cond) body`, the value of a conditional resource or module.
	IfExpr struct {
		P    Pos
		Cond Expr
		Body Expr
	}
)

// Prop is `key: value` in an object literal. Key is a *StringLit (identifier keys become one).
type Prop struct {
	P     Pos
	Key   *StringLit
	Value Expr
}

func (e *Ident) Pos() Pos     { return e.P }
func (e *StringLit) Pos() Pos { return e.P }
func (e *IntLit) Pos() Pos    { return e.P }
func (e *BoolLit) Pos() Pos   { return e.P }
func (e *NullLit) Pos() Pos   { return e.P }
func (e *ObjectLit) Pos() Pos { return e.P }
func (e *ArrayLit) Pos() Pos  { return e.P }
func (e *Call) Pos() Pos      { return e.P }
func (e *Member) Pos() Pos    { return e.P }
func (e *Index) Pos() Pos     { return e.P }
func (e *NestedRef) Pos() Pos { return e.P }
func (e *NonNull) Pos() Pos   { return e.P }
func (e *Unary) Pos() Pos     { return e.P }
func (e *Binary) Pos() Pos    { return e.P }
func (e *Ternary) Pos() Pos   { return e.P }
func (e *Paren) Pos() Pos     { return e.P }
func (e *Lambda) Pos() Pos    { return e.P }
func (e *ForExpr) Pos() Pos   { return e.P }
func (e *IfExpr) Pos() Pos    { return e.P }
func (e *Spread) Pos() Pos    { return e.P }

// Literal returns the value of a string without holes.
func (s *StringLit) Literal() (string, bool) {
	if len(s.Holes) > 0 {
		return "", false
	}
	return s.Parts[0], true
}

// Prop returns the property with a literal key equal to name (Bicep keys compare
// case-insensitively), or nil.
func (o *ObjectLit) Prop(name string) *Prop {
	for _, p := range o.Props {
		if k, ok := p.Key.Literal(); ok && equalFold(k, name) {
			return p
		}
	}
	return nil
}
