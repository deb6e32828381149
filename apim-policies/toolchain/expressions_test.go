package toolchain

import "testing"

// The emulator finds a compiled expression by its key, so two different expressions must never
// share one: whitespace inside a string literal is part of the code.
func TestExpressionKeyKeepsInnerWhitespace(t *testing.T) {
	a := Expression{Code: ` "a  b".Length `}
	b := Expression{Code: `"a b".Length`}
	if a.Key() == b.Key() {
		t.Errorf("%q and %q share the key %q", a.Code, b.Code, a.Key())
	}
	if got, want := a.Key(), `("a  b".Length`; got != want {
		t.Errorf("key %q, want %q (code trimmed, nothing else changed)", got, want)
	}
	if got := (Expression{Code: "\n return 1; ", Block: true}).Key(); got != "{return 1;" {
		t.Errorf("block key %q", got)
	}
}
