package toolchain

import "testing"

// Attribute values read as .NET (and so APIM) reads them: literal whitespace becomes a space, a
// character reference stays the character it names, and each attribute's line is found by
// walking the tag, not by searching it.
func TestParseAttributeValuesAndLines(t *testing.T) {
	doc := "<set-variable value=\"@(1 // ends here&#10;+ 2 name=&quot;&#9;&quot;)\"\n\tname=\"a\tb\r\nc\" />"
	root, err := Parse([]byte(doc), "f.xml")
	if err != nil {
		t.Fatal(err)
	}
	want := []Attr{
		{Name: "value", Value: "@(1 // ends here\n+ 2 name=\"\t\")", Line: 1},
		{Name: "name", Value: "a b c", Line: 2},
	}
	if len(root.Attrs) != len(want) {
		t.Fatalf("attrs %+v", root.Attrs)
	}
	for i, w := range want {
		if root.Attrs[i] != w {
			t.Errorf("attr %d = %+v, want %+v", i, root.Attrs[i], w)
		}
	}
}
