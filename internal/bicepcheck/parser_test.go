package bicepcheck

import (
	"fmt"
	"strings"
	"testing"
)

// sexpr prints an expression fully parenthesised, so that tests see precedence and nesting.
func sexpr(e Expr) string {
	switch e := e.(type) {
	case *Ident:
		return e.Name
	case *StringLit:
		var parts []string
		for i, p := range e.Parts {
			parts = append(parts, fmt.Sprintf("%q", p))
			if i < len(e.Holes) {
				parts = append(parts, "${"+sexpr(e.Holes[i])+"}")
			}
		}
		return "(str " + strings.Join(parts, " ") + ")"
	case *IntLit:
		return fmt.Sprint(e.Value)
	case *BoolLit:
		return fmt.Sprint(e.Value)
	case *NullLit:
		return "null"
	case *ObjectLit:
		var parts []string
		for _, p := range e.Props {
			parts = append(parts, sexpr(p.Key)+":"+sexpr(p.Value))
		}
		for _, s := range e.Spreads {
			parts = append(parts, "..."+sexpr(s))
		}
		for _, r := range e.Resources {
			parts = append(parts, "resource "+r.Name+" "+r.Type)
		}
		return "{" + strings.Join(parts, " ") + "}"
	case *ArrayLit:
		var parts []string
		for _, it := range e.Items {
			parts = append(parts, sexpr(it))
		}
		return "[" + strings.Join(parts, " ") + "]"
	case *Call:
		var parts []string
		for _, a := range e.Args {
			parts = append(parts, sexpr(a))
		}
		name := e.Name
		if e.Recv != nil {
			name = sexpr(e.Recv) + "." + name
		}
		return "(call " + name + " " + strings.Join(parts, " ") + ")"
	case *Member:
		op := "."
		if e.Safe {
			op = ".?"
		}
		return "(" + op + " " + sexpr(e.X) + " " + e.Name + ")"
	case *Index:
		op := "[]"
		if e.Safe {
			op = "[?]"
		}
		return "(" + op + " " + sexpr(e.X) + " " + sexpr(e.Index) + ")"
	case *NestedRef:
		return "(:: " + sexpr(e.X) + " " + e.Name + ")"
	case *NonNull:
		return "(! " + sexpr(e.X) + ")"
	case *Unary:
		return "(" + e.Op + "u " + sexpr(e.X) + ")"
	case *Binary:
		return "(" + e.Op + " " + sexpr(e.L) + " " + sexpr(e.R) + ")"
	case *Ternary:
		return "(? " + sexpr(e.Cond) + " " + sexpr(e.Then) + " " + sexpr(e.Else) + ")"
	case *Paren:
		return sexpr(e.X)
	case *Lambda:
		return "(=> (" + strings.Join(e.Params, " ") + ") " + sexpr(e.Body) + ")"
	case *ForExpr:
		return "(for " + e.Item + "," + e.IndexVar + " " + sexpr(e.Source) + " " + sexpr(e.Body) + ")"
	case *IfExpr:
		return "(if " + sexpr(e.Cond) + " " + sexpr(e.Body) + ")"
	case *Spread:
		return "(... " + sexpr(e.X) + ")"
	}
	return fmt.Sprintf("%T", e)
}

func parseVar(t *testing.T, src string) string {
	t.Helper()
	f, err := Parse("t.bicep", "var x = "+src+"\n")
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return sexpr(f.Decls[0].(*Var).Value)
}

// TestParseExpressions: operators, precedence, access forms, literals and lambdas.
func TestParseExpressions(t *testing.T) {
	cases := []struct{ src, want string }{
		{`a ? b : c ? d : e`, `(? a b (? c d e))`},
		{`a ?? b ?? c`, `(?? (?? a b) c)`},
		{`a || b && !c == d`, `(|| a (&& b (== (!u c) d)))`},
		{`1 + 2 * -3 % 4 - 5`, `(- (+ 1 (% (* 2 (-u 3)) 4)) 5)`},
		{`a < b != c >= d`, `(!= (< a b) (>= c d))`},
		{`empty(m.?g ?? '') ? '' : x[m.g]`, `(? (call empty (?? (.? m g) (str ""))) (str "") ([] x (. m g)))`},
		{`a.?b[?'c']!.d`, `(. (! ([?] (.? a b) (str "c"))) d)`},
		{`parent::child.id`, `(. (:: parent child) id)`},
		{`sys.concat(a, az.resourceGroup().id)`, `(call sys.concat a (. (call az.resourceGroup ) id))`},
		{`stg.listKeys().keys[0].value`, `(. ([] (. (call stg.listKeys ) keys) 0) value)`},
		{`map(xs, x => '${g}/${x}')`, `(call map xs (=> (x) (str "" ${g} "/" ${x} "")))`},
		{`reduce(xs, 0, (acc, x) => acc + x)`, `(call reduce xs 0 (=> (acc x) (+ acc x)))`},
		{`filter(xs, a => !empty(a.?p ?? ''))`, `(call filter xs (=> (a) (!u (call empty (?? (.? a p) (str ""))))))`},
		{`(a)`, `a`},
		{`'it\'s \${not} a \\ hole\n\u{41}'`, `(str "it's ${not} a \\ hole\nA")`},
		{`'${'${a}'}x'`, `(str "" ${(str "" ${a} "")} "x")`},
		{`'{ ${a} }'`, `(str "{ " ${a} " }")`},
		{`true && null == false`, `(&& true (== null false))`},
		{`[...a, ...b, 'c']`, `[(... a) (... b) (str "c")]`},
		{`''''abc''''`, `(str "'abc'")`},
		{`''''''`, `(str "")`},
		{`'''hello!'''`, `(str "hello!")`},
		{"any({\n})[az.resourceGroup().location]", `([] (call any {}) (. (call az.resourceGroup ) location))`},
		{"[\n  /* c */ for i in range(0, 20) : i /* c */\n]", `[(for i, (call range 0 20) i)]`},
		{`[for (x, i) in xs: x]`, `[(for x,i xs x)]`},
		{`[for x in range(0, 3): if (x > 0) { v: x }]`, `[(for x, (call range 0 3) (if (> x 0) {(str "v"):x}))]`},
		{`{ 'a-b': 1, resource: 2, if: 3, '${k}': 4, ...rest }`, `{(str "a-b"):1 (str "resource"):2 (str "if"):3 (str "" ${k} ""):4 ...rest}`},
	}
	for _, c := range cases {
		if got := parseVar(t, c.src); got != c.want {
			t.Errorf("%s\n got %s\nwant %s", c.src, got, c.want)
		}
	}
}

// TestParseMultiLine: objects, arrays and calls over several lines, triple-quoted strings, comments.
func TestParseMultiLine(t *testing.T) {
	src := `/* a block
comment */
var o = {
  a: 1 // trailing comment
  #disable-next-line no-hardcoded-env-urls
  b: [
    'x'
    'y', 'z'
  ]
  c: concat(
    [ 1 ],
    [ 2 ]
  )
  d: cond ? {
    e: 1
  } : {
    e: 2
  }
  f: '''
line one
  'quoted' ${not a hole}
'''
}
`
	f, err := Parse("t.bicep", src)
	if err != nil {
		t.Fatal(err)
	}
	got := sexpr(f.Decls[0].(*Var).Value)
	want := `{(str "a"):1 (str "b"):[(str "x") (str "y") (str "z")] (str "c"):(call concat [1] [2]) (str "d"):(? cond {(str "e"):1} {(str "e"):2}) (str "f"):(str "line one\n  'quoted' ${not a hole}\n")}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if p := f.Decls[0].(*Var).Value.(*ObjectLit).Prop("D"); p == nil || p.P.Line != 14 {
		t.Errorf("property d: want line 14 (case-insensitive lookup), got %+v", p)
	}
}

// TestParseDeclarations: every declaration form the checker reads, with decorators, conditions,
// loops, nested resources and extensions.
func TestParseDeclarations(t *testing.T) {
	src := `metadata info = { owner: 'team' }
targetScope = 'subscription'
extension microsoftGraphV1
extension 'br:mcr.microsoft.com/bicep/extensions/microsoftgraph/v1.0:1.0.0' with { k: 1 } as graph
import 'az@1.0.0'
import { shared } from 'shared.bicep'
import * as lib from 'lib.bicep'

@sys.description('d')
@allowed([ 'a', 'b' ])
param p string = 'a'
param q string?
param r {
  @description('n')
  name: string
  size?: 'S' | 'L'
  *: int
}[]
param s resource 'Microsoft.Storage/storageAccounts@2023-05-01'
type t = { a: string, b: int[] } | null
func add(a int, b int) int => a + b
var v string = 'x'

@batchSize(2)
resource res 'Microsoft.Web/sites@2024-04-01' = [for (x, i) in xs: if (i > 0) {
  name: x

  @description('child')
  resource child 'config' = {
    name: 'web'
  }
}]

resource ex 'Microsoft.Web/sites@2024-04-01' existing = {
  name: 'e'
}

module m 'modules/m.bicep' = if (p == 'a') {
  name: 'm'
}

output o string = res[0]::child.name
`
	f, err := Parse("t.bicep", src)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, d := range f.Decls {
		kinds = append(kinds, strings.TrimPrefix(fmt.Sprintf("%T", d), "*bicepcheck."))
	}
	if got, want := strings.Join(kinds, " "), "Other TargetScope Extension Extension Extension Other Other Param Param Param Param TypeDecl Func Var Resource Resource Module Output"; got != want {
		t.Fatalf("declarations\n got %s\nwant %s", got, want)
	}
	ext := f.Decls[3].(*Extension)
	if !ext.Quoted || ext.Alias != "graph" || ext.Config == nil {
		t.Errorf("extension with/as: %+v", ext)
	}
	p := f.Decls[7].(*Param)
	if len(p.Decorators) != 2 || p.Decorators[0].Name != "description" || sexpr(p.Default) != `(str "a")` {
		t.Errorf("param p: %+v", p)
	}
	if q := f.Decls[8].(*Param); !q.Type.Nullable {
		t.Errorf("param q: want nullable")
	}
	if r := f.Decls[9].(*Param); r.Type.Kind != "array" || len(r.Type.Item.Props) != 3 || !r.Type.Item.Props[1].Optional {
		t.Errorf("param r: %+v", r.Type)
	}
	res := f.Decls[14].(*Resource)
	body := bodyObject(res.Value)
	if body == nil || len(body.Resources) != 1 || body.Resources[0].Parent != res || len(body.Resources[0].Decorators) != 1 {
		t.Fatalf("nested resource not linked to its parent: %+v", body)
	}
	if typ, ver, ok := fullType(body.Resources[0]); !ok || typ != "Microsoft.Web/sites/config" || ver != "2024-04-01" {
		t.Errorf("nested type: %s@%s %v", typ, ver, ok)
	}
	if !f.Decls[15].(*Resource).Existing {
		t.Errorf("existing not recorded")
	}
	if _, ok := f.Decls[16].(*Module).Value.(*IfExpr); !ok {
		t.Errorf("module condition not parsed")
	}
}

// TestParseErrors: a syntax error names the file, line and column.
func TestParseErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"var x = 'open\n", "t.bicep:1:9: unterminated string"},
		{"var x 1\n", `t.bicep:1:8: expected "=", found end of line`},
		{"param\n", "t.bicep:1:6: expected an identifier"},
		{"var x = {\n  a: 1 b: 2\n}\n", `t.bicep:2:8: expected ",", a new line or "}"`},
		{"var x = '${a'\n", "unterminated"},
		{"var x = 1 2\n", "t.bicep:1:11: expected a new line after the declaration"},
		{"resource r 'T@v' = {}\nvar y = #\n", "t.bicep:2:9: unexpected character '#'"},
		{"bogus x = 1\n", `t.bicep:1:1: unknown declaration "bogus"`},
		{"var x = '''never closed\n", "unterminated ''' string"},
	}
	for _, c := range cases {
		_, err := Parse("t.bicep", c.src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: want error containing %q, got %v", c.src, c.want, err)
		}
	}
}
