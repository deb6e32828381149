package toolchain

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"example.com/graphmcp/internal/spelling"
)

var sectionOrder = []string{"inbound", "backend", "outbound", "on-error"}

var namedValueRef = regexp.MustCompile(`\{\{([^{}]*)\}\}`)

// structure checks one document's shape; fragmentUse records which sections include which fragments.
type structure struct {
	m            *Manifest
	ds           Diagnostics
	fragmentUse  map[string]map[string]bool // fragment id -> sections
	namedUsed    map[string]bool
	declaredNV   map[string]bool
	declaredFrag map[string]bool
	backends     map[string]bool
}

func newStructure(m *Manifest) *structure {
	s := &structure{m: m, fragmentUse: map[string]map[string]bool{}, namedUsed: map[string]bool{},
		declaredNV: map[string]bool{}, declaredFrag: map[string]bool{}, backends: map[string]bool{}}
	for _, nv := range m.NamedValues {
		s.declaredNV[nv.Name] = true
	}
	for _, f := range m.Fragments {
		s.declaredFrag[f.ID] = true
	}
	for _, b := range m.Backends {
		s.backends[b.ID] = true
	}
	return s
}

func (s *structure) errf(file string, line int, format string, args ...any) {
	s.ds = append(s.ds, Diagnostic{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (s *structure) document(root *Node, scope Scope) {
	if scope == ScopeFragment {
		if root.Name != "fragment" {
			s.errf(root.File, root.Line, "a policy fragment's root element must be <fragment>, not <%s>", root.Name)
			return
		}
		s.noAttrsOrText(root)
		// Fragment statements are checked once per section that includes them (see fragments()).
		return
	}
	if root.Name != "policies" {
		s.errf(root.File, root.Line, "a policy document's root element must be <policies>, not <%s>", root.Name)
		return
	}
	s.noAttrsOrText(root)
	seen := map[string]int{}
	last := -1
	for _, sec := range root.Children {
		idx := indexOf(sectionOrder, sec.Name)
		if idx < 0 {
			s.errf(sec.File, sec.Line, "unknown section <%s>: <policies> holds <inbound>, <backend>, <outbound> and <on-error>", sec.Name)
			continue
		}
		if _, dup := seen[sec.Name]; dup {
			s.errf(sec.File, sec.Line, "section <%s> appears twice", sec.Name)
			continue
		}
		if idx < last {
			s.errf(sec.File, sec.Line, "section <%s> is out of order: write inbound, backend, outbound, on-error", sec.Name)
		}
		last = idx
		seen[sec.Name] = sec.Line
		s.noAttrsOrText(sec)
		bases := 0
		for _, c := range sec.Children {
			if c.Name == "base" {
				bases++
				if scope == ScopeGlobal {
					s.errf(c.File, c.Line, "<base/> has no parent scope in the global policy: remove it")
				} else if bases > 1 {
					s.errf(c.File, c.Line, "<base/> appears more than once in <%s>", sec.Name)
				}
			}
		}
		// backend may replace the parent's forward-request (and must not forward twice), so it alone may omit <base/>.
		if scope != ScopeGlobal && bases == 0 && sec.Name != "backend" {
			s.errf(sec.File, sec.Line, "section <%s> has no <base/>: add it so the %s-level policy composes with its parent scope", sec.Name, scope)
		}
		s.statements(sec.Children, sec.Name, nil)
	}
	if scope != ScopeGlobal {
		for _, name := range sectionOrder {
			if _, ok := seen[name]; !ok {
				s.errf(root.File, root.Line, "section <%s> is missing: write every section with <base/> so scopes compose predictably", name)
			}
		}
	}
}

func (s *structure) noAttrsOrText(n *Node) {
	for _, a := range n.Attrs {
		s.errf(n.File, a.Line, "unknown attribute %q on <%s>", a.Name, n.Name)
	}
	if strings.TrimSpace(n.Text) != "" {
		s.errf(n.File, n.TextLine, "<%s> takes no text", n.Name)
	}
}

// statements checks policy statements in a section; chain holds the fragment being checked, if any.
func (s *structure) statements(nodes []*Node, section string, chain []string) {
	for _, n := range nodes {
		spec, ok := policies[n.Name]
		if !ok {
			s.errf(n.File, n.Line, "unknown policy element <%s>%s", n.Name, suggest(n.Name, KnownPolicies()))
			continue
		}
		if section == "on-error" && !onErrorPolicies[n.Name] {
			s.errf(n.File, n.Line, "<%s> is not allowed in <on-error> (see \"Error handling in API Management policies\")", n.Name)
		}
		if spec.Sections != nil && section != "" && indexOf(spec.Sections, section) < 0 {
			s.errf(n.File, n.Line, "<%s> is not allowed in <%s>; it belongs in %s", n.Name, section, strings.Join(spec.Sections, " or "))
		}
		if n.Name == "base" && len(chain) > 0 {
			s.errf(n.File, n.Line, "<base/> is not allowed in a fragment")
		}
		s.element(n, spec, section, chain)
		if n.Name == "include-fragment" {
			if a, ok := n.Attr("fragment-id"); ok {
				if !s.declaredFrag[a.Value] {
					s.errf(n.File, a.Line, "include-fragment: fragment %q is not declared in the manifest's fragments", a.Value)
				} else if len(chain) > 0 {
					// "Reuse policy configurations in your API Management policy definitions",
					// Limitations: a policy fragment can't nest another policy fragment.
					s.errf(n.File, a.Line, "include-fragment: fragment %q includes fragment %q, which APIM does not allow (a fragment cannot nest another); include both from the policy instead", chain[len(chain)-1], a.Value)
				} else {
					if s.fragmentUse[a.Value] == nil {
						s.fragmentUse[a.Value] = map[string]bool{}
					}
					s.fragmentUse[a.Value][section] = true
				}
			}
		}
	}
}

func (s *structure) element(n *Node, spec elemSpec, section string, chain []string) {
	_, isPolicy := policies[n.Name]
	for _, a := range n.Attrs {
		as, ok := spec.Attrs[a.Name]
		if !ok && a.Name == "id" && isPolicy {
			continue // every policy element may carry an id (the reference's schemas all allow it)
		}
		if !ok {
			s.errf(n.File, a.Line, "unknown attribute %q on <%s>%s (not in the APIM reference, or not supported by the emulator)", a.Name, n.Name, suggest(a.Name, keys(spec.Attrs)))
			continue
		}
		s.value(n.File, a.Line, a.Value)
		isExpr := isExpression(a.Value)
		if isExpr && as.NoExpr {
			s.errf(n.File, a.Line, "attribute %q of <%s> does not accept policy expressions", a.Name, n.Name)
			continue
		}
		if isExpr || strings.Contains(a.Value, "{{") {
			continue
		}
		switch as.Kind {
		case kindBool:
			if a.Value != "true" && a.Value != "false" {
				s.errf(n.File, a.Line, "attribute %q of <%s> must be true or false, not %q", a.Name, n.Name, a.Value)
			}
		case kindInt:
			if _, err := strconv.Atoi(a.Value); err != nil {
				s.errf(n.File, a.Line, "attribute %q of <%s> must be an integer, not %q", a.Name, n.Name, a.Value)
			}
		case kindEnum:
			if indexOf(as.Enum, a.Value) < 0 {
				s.errf(n.File, a.Line, "attribute %q of <%s> must be one of %s, not %q", a.Name, n.Name, strings.Join(as.Enum, ", "), a.Value)
			}
		}
	}
	for name, as := range spec.Attrs {
		if as.Required {
			if _, ok := n.Attr(name); !ok {
				s.errf(n.File, n.Line, "<%s> requires attribute %q", n.Name, name)
			}
		}
	}
	if len(spec.OneOf) > 0 {
		found := 0
		for _, name := range spec.OneOf {
			if _, ok := n.Attr(name); ok {
				found++
			}
		}
		if found != 1 {
			s.errf(n.File, n.Line, "<%s> needs exactly one of %s", n.Name, strings.Join(spec.OneOf, ", "))
		}
	}
	text := strings.TrimSpace(n.Text)
	if spec.Text == textNone && text != "" {
		s.errf(n.File, n.TextLine, "<%s> takes no text content", n.Name)
	}
	if spec.Text == textValue && text != "" {
		s.value(n.File, n.TextLine, text)
	}
	if spec.Statements {
		s.statements(n.Children, section, chain)
		return
	}
	present := map[string]bool{}
	lastIdx := -1
	for _, c := range n.Children {
		present[c.Name] = true
		if idx := indexOf(spec.Children, c.Name); spec.Ordered && idx >= 0 {
			if idx < lastIdx {
				s.errf(c.File, c.Line, "<%s> is out of order inside <%s>: the order is %s", c.Name, n.Name, strings.Join(spec.Children, ", "))
			}
			lastIdx = idx
		}
		if indexOf(spec.Children, c.Name) < 0 {
			allowed := "no child elements"
			if len(spec.Children) > 0 {
				allowed = "only " + strings.Join(spec.Children, ", ")
			}
			s.errf(c.File, c.Line, "unknown element <%s> inside <%s> (it takes %s)", c.Name, n.Name, allowed)
			continue
		}
		if ps, ok := parts[n.Name+"/"+c.Name]; ok {
			s.element(c, ps, section, chain)
		} else if ps, ok := policies[c.Name]; ok {
			s.element(c, ps, section, chain)
		}
	}
	if (n.Name == "send-request" || n.Name == "send-one-way-request") && !present["set-url"] {
		if a, ok := n.Attr("mode"); !ok || a.Value != "copy" {
			s.errf(n.File, n.Line, "<%s> in mode \"new\" requires a <set-url> child", n.Name)
		}
	}
	for _, r := range spec.RequiredChildren {
		if !present[r] {
			s.errf(n.File, n.Line, "<%s> requires a <%s> child", n.Name, r)
		}
	}
}

// value checks named-value references and expression framing in an attribute or text value.
func (s *structure) value(file string, line int, v string) {
	for _, m := range namedValueRef.FindAllStringSubmatch(v, -1) {
		name := strings.TrimSpace(m[1])
		if !namedValueName.MatchString(name) {
			continue // not a named-value reference (e.g. $"{{}}", an escaped brace pair in C#)
		}
		if name != m[1] {
			s.errf(file, line, "named value reference {{%s}} has spaces: write {{%s}}", m[1], name)
			continue
		}
		s.namedUsed[name] = true
		if !s.declaredNV[name] {
			s.errf(file, line, "named value {{%s}} is not declared in the manifest's namedValues", name)
		}
	}
	t := strings.TrimSpace(v)
	if isExpression(t) {
		if (strings.HasPrefix(t, "@(") && !strings.HasSuffix(t, ")")) || (strings.HasPrefix(t, "@{") && !strings.HasSuffix(t, "}")) {
			s.errf(file, line, "a policy expression must span the whole value: @(...) or @{...} with nothing after it")
		}
	} else if strings.Contains(t, "@(") || strings.Contains(t, "@{") {
		s.errf(file, line, "a policy expression must be the whole value (APIM does not interpolate @(...) inside text)")
	}
}

func isExpression(v string) bool {
	t := strings.TrimSpace(v)
	return strings.HasPrefix(t, "@(") || strings.HasPrefix(t, "@{")
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// suggest names the closest known word, so a typo's message says what was meant.
func suggest(got string, known []string) string {
	best, d := spelling.Nearest(got, known)
	if d < 0 || d > 3 {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}
