package toolchain

import (
	"strings"
	"testing"
)

func TestLowerNamedValues(t *testing.T) {
	values := map[string]string{"k": "abc", "q": `a"b`, "b": "x{y}", "c": "z", "ls": "a\u2028b"}
	get := func(n string) string { return `global::Apim.Policies.Generated.NamedValues.Get("` + n + `")` }
	cases := []struct{ code, want string }{
		{`"{{k}}".Split(' ')`, `("" + ` + get("k") + ` + "").Split(' ')`},
		{`"x-{{k}}-y" + 1`, `("x-" + ` + get("k") + ` + "-y") + 1`},
		{`@"p\{{k}}"`, `(@"p\" + ` + get("k") + ` + @"")`},
		{`$"a{{k}}b{1 + 2}"`, `$"a{` + get("k") + `}b{1 + 2}"`},
		{`$"n={{k}} {("{{k}}")}"`, `$"n={` + get("k") + `} {(("" + ` + get("k") + ` + ""))}"`},
		{`{{k}}.Length`, `abc.Length`}, // outside a string: pasted, as APIM does
		{`"{{q}}"`, `"a"b"`},           // a quote in the value: pasted (and it will not compile, as in APIM)
		{`$"{{b}}"`, `$"x{y}"`},        // braces in an interpolated string: pasted
		{`"{{ls}}"`, "\"a\u2028b\""},   // a C# line terminator: pasted (does not compile, as in APIM)
		{`'{' + "{{k}}" // {{k}} in a comment stays`, `'{' + ("" + ` + get("k") + ` + "") // {{k}} in a comment stays`},
		{`"esc\"{{k}}"`, `("esc\"" + ` + get("k") + ` + "")`},
		// Member access and indexing bind to the whole substituted string, as after APIM's paste.
		{`@"{{k}}".Length + "{{k}}"[0]`, `(@"" + ` + get("k") + ` + @"").Length + ("" + ` + get("k") + ` + "")[0]`},
		{`$"{{k}}".Split(',')`, `$"{` + get("k") + `}".Split(',')`},
		{`$@"{{k}}".Trim()`, `$@"{` + get("k") + `}".Trim()`},
		// Where C# needs a constant a lookup cannot compile: pasted, as APIM does.
		{`switch (s) { case "{{k}}": return "{{k}}".Length; }`, `switch (s) { case "abc": return ("" + ` + get("k") + ` + "").Length; }`},
		{`goto case "{{k}}"; "{{k}}"`, `goto case "abc"; ("" + ` + get("k") + ` + "")`},
		{`const string c = "{{k}}" + @"{{k}}"; var d = "{{k}}";`, `const string c = "abc" + @"abc"; var d = ("" + ` + get("k") + ` + "");`},
		{`x is "{{k}}" && x is string y && y == "{{k}}"`, `x is "abc" && x is string y && y == ("" + ` + get("k") + ` + "")`},
		{`@case + cases + "{{k}}" + global::System.String.Empty`, `@case + cases + ("" + ` + get("k") + ` + "") + global::System.String.Empty`},
		// In a char literal: pasted (compiles only if the value is one character, as in APIM).
		{`'{{c}}' + "{{k}}"`, `'z' + ("" + ` + get("k") + ` + "")`},
	}
	for _, c := range cases {
		if got := lowerNamedValues(c.code, values); got != c.want {
			t.Errorf("lower(%s)\n got %s\nwant %s", c.code, got, c.want)
		}
	}
	// Checking mode (no values) pastes the name where a constant is needed, so it type-checks.
	if got, want := lowerNamedValues(`case "{{k}}":`, nil), `case "k":`; got != want {
		t.Errorf("checking mode: got %s, want %s", got, want)
	}
}

// Changing a named value's value must not change the compiled expressions (no recompile, no
// secret in the build cache) when every reference sits in a string literal.
func TestGeneratedCodeIndependentOfValues(t *testing.T) {
	g, ds := Load("testdata/elements/gateway.json")
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	a := GenerateCSharp(g.Expressions, map[string]string{"greeting": "secret-one", "backend-host": "h1.test"})
	b := GenerateCSharp(g.Expressions, map[string]string{"greeting": "secret-two", "backend-host": "h2.test"})
	if a != b {
		t.Errorf("generated code depends on named values")
	}
	for _, v := range []string{"secret-one", "h1.test"} {
		if strings.Contains(a, v) {
			t.Errorf("generated code contains the value %q", v)
		}
	}
}
