package bicepcheck

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokKind is the kind of a lexical token.
type tokKind int

const (
	tEOF tokKind = iota
	tNewline
	tIdent
	tInt
	tString // '...' with optional ${} holes, or '''...'''
	tPunct  // operators and brackets; the text is in tok.text
)

// token is one lexical token. A string token carries its literal parts and, between them, the
// tokens of each ${} hole (already lexed, so the parser parses holes with the same code).
type token struct {
	kind  tokKind
	text  string // identifier, punctuation or integer text
	pos   Pos
	parts []string  // string: literal segments, len(holes)+1 of them
	holes [][]token // string: tokens of each interpolation hole, each ending with tEOF
	multi bool      // string: '''...''' (no escapes, no holes)
}

// Pos is a 1-based line and column in a source file.
type Pos struct{ Line, Col int }

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// lexer turns Bicep source into tokens.
type lexer struct {
	src  string
	i    int
	line int
	col  int
}

// punctuation, longest first so that "??" wins over "?" and "..." over ".".
var puncts = []string{"...", "??", "==", "!=", "<=", ">=", "&&", "||", "=>", "::", ".?", "=~", "!~",
	"{", "}", "[", "]", "(", ")", ",", ":", ".", "?", "!", "=", "<", ">", "+", "-", "*", "/", "%", "@", "|"}

func lex(src string) ([]token, error) {
	lx := &lexer{src: src, line: 1, col: 1}
	toks, err := lx.run(false)
	return toks, err
}

func (lx *lexer) pos() Pos { return Pos{lx.line, lx.col} }

func (lx *lexer) advance(n int) {
	for k := 0; k < n && lx.i < len(lx.src); k++ {
		if lx.src[lx.i] == '\n' {
			lx.line++
			lx.col = 1
		} else {
			lx.col++
		}
		lx.i++
	}
}

func (lx *lexer) errf(format string, a ...any) error {
	return fmt.Errorf("%d:%d: %s", lx.line, lx.col, fmt.Sprintf(format, a...))
}

// run lexes until the end of input or, inside a hole (inHole), until the '}' that closes it.
func (lx *lexer) run(inHole bool) ([]token, error) {
	var out []token
	depth := 0
	for {
		if lx.i >= len(lx.src) {
			if inHole {
				return nil, lx.errf("unterminated ${ in string")
			}
			return append(out, token{kind: tEOF, pos: lx.pos()}), nil
		}
		c := lx.src[lx.i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			lx.advance(1)
		case c == '\n':
			out = append(out, token{kind: tNewline, pos: lx.pos()})
			lx.advance(1)
		case strings.HasPrefix(lx.src[lx.i:], "#disable-"):
			// #disable-next-line and #disable-diagnostics pragmas steer the linter, not the types.
			for lx.i < len(lx.src) && lx.src[lx.i] != '\n' {
				lx.advance(1)
			}
		case strings.HasPrefix(lx.src[lx.i:], "//"):
			for lx.i < len(lx.src) && lx.src[lx.i] != '\n' {
				lx.advance(1)
			}
		case strings.HasPrefix(lx.src[lx.i:], "/*"):
			end := strings.Index(lx.src[lx.i+2:], "*/")
			if end < 0 {
				return nil, lx.errf("unterminated /* comment")
			}
			lx.advance(end + 4)
		case c == '\'':
			t, err := lx.str()
			if err != nil {
				return nil, err
			}
			out = append(out, t)
		case c >= '0' && c <= '9':
			p, start := lx.pos(), lx.i
			for lx.i < len(lx.src) && lx.src[lx.i] >= '0' && lx.src[lx.i] <= '9' {
				lx.advance(1)
			}
			out = append(out, token{kind: tInt, text: lx.src[start:lx.i], pos: p})
		case c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z'):
			p, start := lx.pos(), lx.i
			for lx.i < len(lx.src) && isIdentByte(lx.src[lx.i]) {
				lx.advance(1)
			}
			out = append(out, token{kind: tIdent, text: lx.src[start:lx.i], pos: p})
		default:
			p := lx.pos()
			matched := ""
			for _, s := range puncts {
				if strings.HasPrefix(lx.src[lx.i:], s) {
					matched = s
					break
				}
			}
			if matched == "" {
				r, _ := utf8.DecodeRuneInString(lx.src[lx.i:])
				return nil, lx.errf("unexpected character %q", r)
			}
			if inHole {
				switch matched {
				case "{":
					depth++
				case "}":
					if depth == 0 {
						lx.advance(1)
						return append(out, token{kind: tEOF, pos: p}), nil
					}
					depth--
				}
			}
			lx.advance(len(matched))
			out = append(out, token{kind: tPunct, text: matched, pos: p})
		}
	}
}

func isIdentByte(c byte) bool {
	return c == '_' || (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

// str lexes a string starting at the opening quote.
func (lx *lexer) str() (token, error) {
	t := token{kind: tString, pos: lx.pos()}
	if strings.HasPrefix(lx.src[lx.i:], "'''") {
		lx.advance(3)
		end := strings.Index(lx.src[lx.i:], "'''")
		if end < 0 {
			return t, fmt.Errorf("%d:%d: unterminated ''' string", t.pos.Line, t.pos.Col)
		}
		// In a run of more than three quotes the last three close the string: four quotes on
		// each side of abc make the string 'abc'.
		for lx.i+end+3 < len(lx.src) && lx.src[lx.i+end+3] == '\'' {
			end++
		}
		body := lx.src[lx.i : lx.i+end]
		// A line break right after the opening quotes is not part of the value.
		body = strings.TrimPrefix(strings.TrimPrefix(body, "\r"), "\n")
		lx.advance(end + 3)
		t.parts, t.multi = []string{body}, true
		return t, nil
	}
	lx.advance(1)
	var b strings.Builder
	for {
		if lx.i >= len(lx.src) || lx.src[lx.i] == '\n' {
			return t, fmt.Errorf("%d:%d: unterminated string", t.pos.Line, t.pos.Col)
		}
		c := lx.src[lx.i]
		switch {
		case c == '\'':
			lx.advance(1)
			t.parts = append(t.parts, b.String())
			return t, nil
		case c == '\\':
			if lx.i+1 >= len(lx.src) {
				return t, lx.errf("unterminated escape")
			}
			e := lx.src[lx.i+1]
			switch e {
			case '\\', '\'', '$':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				end := strings.IndexByte(lx.src[lx.i:], '}')
				if lx.i+2 >= len(lx.src) || lx.src[lx.i+2] != '{' || end < 0 {
					return t, lx.errf("bad \\u{...} escape")
				}
				n, err := strconv.ParseUint(lx.src[lx.i+3:lx.i+end], 16, 32)
				if err != nil {
					return t, lx.errf("bad \\u{...} escape")
				}
				b.WriteRune(rune(n))
				lx.advance(end + 1)
				continue
			default:
				return t, lx.errf("unknown escape \\%c", e)
			}
			lx.advance(2)
		case c == '$' && strings.HasPrefix(lx.src[lx.i:], "${"):
			lx.advance(2)
			t.parts = append(t.parts, b.String())
			b.Reset()
			hole, err := lx.run(true)
			if err != nil {
				return t, err
			}
			t.holes = append(t.holes, hole)
		default:
			_, n := utf8.DecodeRuneInString(lx.src[lx.i:])
			b.WriteString(lx.src[lx.i : lx.i+n])
			lx.advance(n)
		}
	}
}
