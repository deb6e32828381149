package toolchain

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"strconv"
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
			raws := scanStartTag(tag)
			if len(raws) != len(t.Attr) {
				raws = nil // not expected for a tag encoding/xml accepted; fall back to its values
			}
			for k, a := range t.Attr {
				value, offset := normaliseAttr(a.Value), 0
				if raws != nil {
					offset = raws[k].line
					// Only literal whitespace becomes a space; a character reference such as &#10;
					// stays the character it names, as in .NET (XML 1.0 §3.3.3).
					if v, ok := decodeAttr(raws[k].value); ok && normaliseAttr(v) == value {
						value = v
					}
				}
				// encoding/xml accepts repeated attributes; XML 1.0 (and so APIM) does not.
				if seen[a.Name.Space+":"+a.Name.Local] {
					return nil, Diagnostics{{File: file, Line: line + offset, Msg: "not well-formed XML: attribute " + a.Name.Local + " appears twice on <" + t.Name.Local + ">"}}
				}
				seen[a.Name.Space+":"+a.Name.Local] = true
				n.Attrs = append(n.Attrs, Attr{Name: a.Name.Local, Value: value, Line: line + offset})
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

// rawAttr is one attribute as written in a start tag.
type rawAttr struct {
	value string // between the quotes, references not decoded
	line  int    // newlines in the tag before the attribute's name
}

// scanStartTag lists the attributes of a well-formed start tag in order. It walks the tag rather
// than searching it, so a name=value inside another attribute's value is not mistaken for one.
func scanStartTag(tag []byte) []rawAttr {
	s := string(tag)
	i := strings.IndexAny(s, " \t\r\n")
	if i < 0 {
		return nil
	}
	var out []rawAttr
	for i < len(s) {
		for i < len(s) && isXMLSpace(s[i]) {
			i++
		}
		if i >= len(s) || s[i] == '/' || s[i] == '>' {
			break
		}
		start := i
		for i < len(s) && s[i] != '=' && !isXMLSpace(s[i]) {
			i++
		}
		for i < len(s) && isXMLSpace(s[i]) {
			i++
		}
		if i >= len(s) || s[i] != '=' {
			return nil
		}
		i++
		for i < len(s) && isXMLSpace(s[i]) {
			i++
		}
		if i >= len(s) || (s[i] != '"' && s[i] != '\'') {
			return nil
		}
		q := s[i]
		i++
		end := strings.IndexByte(s[i:], q)
		if end < 0 {
			return nil
		}
		out = append(out, rawAttr{value: s[i : i+end], line: strings.Count(s[:start], "\n")})
		i += end + 1
	}
	return out
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// normaliseAttr maps every whitespace character to a space: right for literal whitespace, and
// the fallback when the raw value is unavailable.
func normaliseAttr(v string) string { return attrNormaliser.Replace(v) }

// decodeAttr applies XML attribute-value normalisation to a raw value: line ends and literal
// whitespace become spaces, then the five predefined entities and character references are
// decoded (strict encoding/xml has already rejected anything else).
func decodeAttr(raw string) (string, bool) {
	raw = strings.ReplaceAll(raw, "\r\n", "\n")
	var b strings.Builder
	for i := 0; i < len(raw); {
		c := raw[i]
		if isXMLSpace(c) {
			b.WriteByte(' ')
			i++
			continue
		}
		if c != '&' {
			b.WriteByte(c)
			i++
			continue
		}
		j := strings.IndexByte(raw[i:], ';')
		if j < 0 {
			return "", false
		}
		ref := raw[i+1 : i+j]
		i += j + 1
		switch {
		case ref == "lt":
			b.WriteByte('<')
		case ref == "gt":
			b.WriteByte('>')
		case ref == "amp":
			b.WriteByte('&')
		case ref == "quot":
			b.WriteByte('"')
		case ref == "apos":
			b.WriteByte('\'')
		case strings.HasPrefix(ref, "#x"):
			r, err := strconv.ParseUint(ref[2:], 16, 32)
			if err != nil {
				return "", false
			}
			b.WriteRune(rune(r))
		case strings.HasPrefix(ref, "#"):
			r, err := strconv.ParseUint(ref[1:], 10, 32)
			if err != nil {
				return "", false
			}
			b.WriteRune(rune(r))
		default:
			return "", false
		}
	}
	return b.String(), true
}
