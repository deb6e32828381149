package toolchain

import (
	"strings"
	"testing"
)

// monodis output for one expression method (trimmed from a real disassembly): string operands
// that look like type and member tokens, next to one real call to a type that is not allowed.
const ilWithStrings = `  .class public auto ansi abstract sealed beforefieldinit Expressions
  	extends [mscorlib]System.Object
  {
    .method public static hidebysig 
           default object E0 (class [Apim.ObjectModel]Apim.ObjectModel.IContext context)  cil managed 
    {
	.maxstack 8
	IL_0000:  ldstr "a"
	IL_0005:  ldstr "[A-Za-z0-9._~-]."
	IL_000a:  call bool class [System]System.Text.RegularExpressions.Regex::IsMatch(string, string)
	IL_000f:  brfalse IL_001e
	IL_0014:  ldstr "[mscorlib]System.IO.Directory::Delete string::Foo instance [x]System.Security.Cryptography.SymmetricAlgorithm::Create()"
	IL_0019:  ldstr bytearray (
	5b 00 61 00 5d 00 62 00 01 00 )                  // [.a.].b...
	IL_001e:  ldstr "q\"[y]z"
	IL_0023:  call string class [mscorlib]System.IO.File::ReadAllText(string)
	IL_0028:  ret 
    } // end of method Expressions::E0
  }
`

// String literals are data: only type and member tokens count, so a regex character class in a
// string is not "type ." and a string naming a forbidden API is not a call to it — while the real
// call on the same method is still reported.
func TestAllowListIgnoresStringOperands(t *testing.T) {
	exprs := []Expression{{File: "p.xml", Line: 7}}
	ds := allowListFindings([]byte(ilWithStrings), exprs)
	call := false
	for _, d := range ds {
		if d.Line != 7 || !strings.Contains(d.Msg, "System.IO.File") || strings.Contains(d.Msg, "System.IO.File.") && !strings.Contains(d.Msg, "File.ReadAllText") {
			t.Errorf("finding from a string operand: %v", d)
		}
		call = call || strings.Contains(d.Msg, "System.IO.File.ReadAllText is not allowed")
	}
	if !call {
		t.Errorf("the real call is not reported; got:\n%v", ds.Error())
	}
}

func TestILOpcode(t *testing.T) {
	for line, want := range map[string]string{
		`IL_0005:  ldstr "[A-Za-z0-9._~-]."`:       "ldstr",
		`IL_0019:  ldstr bytearray (`:              "ldstr",
		`IL_0028:  ret `:                           "ret",
		`IL_000a:  call bool class [System]X::Y()`: "call",
		`class [mscorlib]System.Random	V_0,`:       "",
		`.maxstack 8`:                              "",
	} {
		if got := ilOpcode(line); got != want {
			t.Errorf("ilOpcode(%q) = %q, want %q", line, got, want)
		}
	}
}
