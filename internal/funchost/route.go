package funchost

import (
	"fmt"
	"strings"
)

// routeTemplate is the subset of ASP.NET Core route templates that function.json routes use:
// literal segments (matched case-insensitively), {name} (one segment), {name?} (optional, last
// segment only) and {*name} / {**name} (catch-all, possibly empty, last segment only).
// Constraints ({id:int}) and complex segments ({a}.{b}) are refused rather than matched wrongly.
type routeTemplate struct {
	segments []routeSegment
}

type routeSegment struct {
	literal  string // set for literal segments
	param    string // set for parameters
	optional bool
	catchAll bool
}

func parseRouteTemplate(t string) (*routeTemplate, error) {
	rt := &routeTemplate{}
	if t == "" {
		return rt, nil
	}
	parts := strings.Split(t, "/")
	for i, p := range parts {
		last := i == len(parts)-1
		if p == "" {
			return nil, fmt.Errorf("route %q has an empty segment", t)
		}
		if !strings.ContainsAny(p, "{}") {
			rt.segments = append(rt.segments, routeSegment{literal: p})
			continue
		}
		if !strings.HasPrefix(p, "{") || !strings.HasSuffix(p, "}") || strings.Count(p, "{") != 1 {
			return nil, fmt.Errorf("route %q: segment %q mixes literals and parameters; funchost does not model complex segments", t, p)
		}
		name := p[1 : len(p)-1]
		seg := routeSegment{}
		switch {
		case strings.HasPrefix(name, "**"):
			seg.catchAll, name = true, name[2:]
		case strings.HasPrefix(name, "*"):
			seg.catchAll, name = true, name[1:]
		case strings.HasSuffix(name, "?"):
			seg.optional, name = true, strings.TrimSuffix(name, "?")
		}
		if strings.ContainsAny(name, ":=") {
			return nil, fmt.Errorf("route %q: parameter %q has a constraint or default; funchost does not model those", t, p)
		}
		if name == "" {
			return nil, fmt.Errorf("route %q: empty parameter name", t)
		}
		if (seg.catchAll || seg.optional) && !last {
			return nil, fmt.Errorf("route %q: %q must be the last segment", t, p)
		}
		seg.param = name
		rt.segments = append(rt.segments, seg)
	}
	return rt, nil
}

// match reports whether the URL path (decoded, with leading "/") matches the template.
// A single trailing slash is ignored, as ASP.NET Core routing does.
func (rt *routeTemplate) match(path string) bool {
	path = strings.TrimPrefix(path, "/")
	path = strings.TrimSuffix(path, "/")
	var parts []string
	if path != "" {
		parts = strings.Split(path, "/")
	}
	for i, seg := range rt.segments {
		if seg.catchAll {
			return true // the rest, possibly nothing
		}
		if i >= len(parts) {
			return seg.optional
		}
		if parts[i] == "" {
			return false
		}
		if seg.param == "" && !strings.EqualFold(seg.literal, parts[i]) {
			return false
		}
	}
	return len(parts) == len(rt.segments)
}
