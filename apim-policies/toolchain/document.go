package toolchain

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"regexp"
	"strings"
)

// Node is one element of a policy document with the positions diagnostics need.
// Attribute values are normalised the way .NET's XML reader (and so APIM) does:
// literal tabs and newlines become spaces.
type Node struct {
	Name     string
	File     string
	Line     int
	Attrs    []Attr
	Children []*Node
	Text     string // concatenated character data directly inside the element
	TextLine int    // line of the first non-space character of Text
}

// Attr is one attribute with the line it starts on.
type Attr struct {
	Name  string
	Value string
	Line  int
}

// Attr returns the value of the named attribute and whether it is present.
func (n *Node) Attr(name string) (Attr, bool) {
	for _, a := range n.Attrs {
		if a.Name == name {
			return a, true
		}
	}
	return Attr{}, false
}

// ParseFile reads a policy file; file is the name diagnostics use.
func ParseFile(path, file string) (*Node, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, Diagnostics{{File: file, Msg: "cannot read: " + err.Error()}}
	}
	return Parse(raw, file)
}

var attrNormaliser = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ")

// Parse parses a policy document strictly (well-formed XML 1.0; no DTD, no namespaces).
func Parse(raw []byte, file string) (*Node, error) {
	dec := xml.NewDecoder(bytes.NewReader(raw))
	dec.Strict = true
	var root *Node
	var stack []*Node
	for {
		line, _ := dec.InputPos()
		start := dec.InputOffset()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, Diagnostics{{File: file, Line: se.Line, Msg: "not well-formed XML: " + se.Msg + " (escape < as &lt;, & as &amp; and \" as &quot; inside expressions)"}}
			}
			return nil, Diagnostics{{File: file, Line: line, Msg: "not well-formed XML: " + err.Error()}}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space != "" {
				return nil, Diagnostics{{File: file, Line: line, Msg: "namespaced element <" + t.Name.Space + ":" + t.Name.Local + "> is not a policy element"}}
			}
			tag := raw[start:dec.InputOffset()]
			n := &Node{Name: t.Name.Local, File: file, Line: line}
			seen := map[string]bool{}
			for _, a := range t.Attr {
				// encoding/xml accepts repeated attributes; XML 1.0 (and so APIM) does not.
				if seen[a.Name.Space+":"+a.Name.Local] {
					return nil, Diagnostics{{File: file, Line: line + attrLineOffset(tag, a.Name.Local), Msg: "not well-formed XML: attribute " + a.Name.Local + " appears twice on <" + t.Name.Local + ">"}}
				}
				seen[a.Name.Space+":"+a.Name.Local] = true
				n.Attrs = append(n.Attrs, Attr{Name: a.Name.Local, Value: attrNormaliser.Replace(a.Value), Line: line + attrLineOffset(tag, a.Name.Local)})
			}
			if len(stack) == 0 {
				if root != nil {
					return nil, Diagnostics{{File: file, Line: line, Msg: "more than one root element"}}
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if strings.TrimSpace(string(t)) != "" {
					return nil, Diagnostics{{File: file, Line: line, Msg: "text outside the root element"}}
				}
				continue
			}
			n := stack[len(stack)-1]
			if n.TextLine == 0 {
				s := string(t)
				if trimmed := strings.TrimLeft(s, " \t\r\n"); trimmed != "" {
					n.TextLine = line + strings.Count(s[:len(s)-len(trimmed)], "\n")
					if n.Text != "" {
						n.TextLine = line
					}
				}
			}
			n.Text += string(t)
		case xml.Directive:
			return nil, Diagnostics{{File: file, Line: line, Msg: "DTDs and directives are not allowed in policy files"}}
		}
	}
	if root == nil {
		return nil, Diagnostics{{File: file, Line: 1, Msg: "empty document: expected <policies> or <fragment>"}}
	}
	return root, nil
}

// attrLineOffset counts the newlines in a start tag before the attribute's name.
func attrLineOffset(tag []byte, name string) int {
	re := regexp.MustCompile(`[\s]` + regexp.QuoteMeta(name) + `\s*=`)
	loc := re.FindIndex(tag)
	if loc == nil {
		return 0
	}
	return bytes.Count(tag[:loc[0]+1], []byte("\n"))
}
