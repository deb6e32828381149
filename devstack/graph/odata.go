package graph

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// queryError is a 400 for a bad OData query option.
type queryError struct{ code, message string }

// query holds the OData options an endpoint applied.
type query struct {
	top     int      // 0 = endpoint default
	sel     []string // nil = all properties
	orderBy string   // property path like "receivedDateTime" or "start/dateTime"
	desc    bool
}

// parseQuery reads $top, $select and $orderby (also without the $, as Graph
// accepts) and checks them against the entity's properties.
func parseQuery(v url.Values, props []string, allowTop, allowOrder bool) (query, *queryError) {
	var q query
	get := func(name string) string {
		if s := v.Get("$" + name); s != "" {
			return s
		}
		return v.Get(name)
	}
	if s := get("top"); s != "" {
		n, err := strconv.Atoi(s)
		if !allowTop || err != nil || n < 1 || n > 1000 {
			return q, &queryError{"BadRequest", fmt.Sprintf("Invalid value '%s' for $top: an integer between 1 and 1000 is expected.", s)}
		}
		q.top = n
	}
	if s := get("select"); s != "" {
		for _, p := range strings.Split(s, ",") {
			p = strings.TrimSpace(p)
			if !slices.Contains(props, p) {
				return q, &queryError{"BadRequest", fmt.Sprintf("Could not find a property named '%s' on the type.", p)}
			}
			q.sel = append(q.sel, p)
		}
	}
	if s := get("orderby"); s != "" {
		f := strings.Fields(s)
		if !allowOrder || len(f) == 0 || len(f) > 2 || (len(f) == 2 && f[1] != "asc" && f[1] != "desc") ||
			!slices.Contains(props, strings.Split(f[0], "/")[0]) {
			return q, &queryError{"BadRequest", fmt.Sprintf("Invalid $orderby '%s': expected '<property> [asc|desc]'.", s)}
		}
		q.orderBy, q.desc = f[0], len(f) == 2 && f[1] == "desc"
	}
	return q, nil
}

// apply sorts, cuts and projects a collection. Items keep "id" under $select,
// as Graph does for entities.
func (q query) apply(items []map[string]any, defaultTop int) []map[string]any {
	if q.orderBy != "" {
		slices.SortStableFunc(items, func(a, b map[string]any) int {
			c := strings.Compare(lookup(a, q.orderBy), lookup(b, q.orderBy))
			if q.desc {
				return -c
			}
			return c
		})
	}
	top := q.top
	if top == 0 {
		top = defaultTop
	}
	if top > 0 && len(items) > top {
		items = items[:top]
	}
	out := make([]map[string]any, len(items))
	for i, it := range items {
		out[i] = q.project(it, true)
	}
	return out
}

// project keeps only the selected properties (and @odata annotations).
func (q query) project(item map[string]any, keepID bool) map[string]any {
	if q.sel == nil {
		return item
	}
	out := map[string]any{}
	for k, v := range item {
		if slices.Contains(q.sel, k) || strings.HasPrefix(k, "@odata.") || (keepID && k == "id") {
			out[k] = v
		}
	}
	return out
}

// lookup returns a property path's value as a sortable string.
func lookup(item map[string]any, path string) string {
	var v any = item
	for _, p := range strings.Split(path, "/") {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	default:
		return fmt.Sprint(x)
	}
}
