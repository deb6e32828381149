package bicepcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// TrimTypes keeps, of one bicep-types "types.json", the ResourceType entries whose name
// ("Type@apiVersion") keep accepts and every entry they reach through $ref, renumbering the
// references. Entries keep their upstream order and content (one compact entry per line, so a
// regeneration diffs line by line). It returns nil when no resource type is kept.
func TrimTypes(raw []byte, keep func(name string) bool) ([]byte, error) {
	var entries []json.RawMessage
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, err
	}
	var head struct {
		Kind string `json:"$type"`
		Name string `json:"name"`
	}
	reached := make([]bool, len(entries))
	var queue []int
	for i, e := range entries {
		if err := json.Unmarshal(e, &head); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		if head.Kind == "ResourceType" && keep(head.Name) {
			reached[i] = true
			queue = append(queue, i)
		}
	}
	if len(queue) == 0 {
		return nil, nil
	}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for _, m := range trimRefRE.FindAllSubmatch(entries[i], -1) {
			j, _ := strconv.Atoi(string(m[1]))
			if j >= len(entries) {
				return nil, fmt.Errorf("entry %d: $ref #/%d out of range", i, j)
			}
			if !reached[j] {
				reached[j] = true
				queue = append(queue, j)
			}
		}
	}
	renumber := map[int]int{}
	for i, r := range reached {
		if r {
			renumber[i] = len(renumber)
		}
	}
	var out bytes.Buffer
	out.WriteString("[\n")
	n := 0
	for i, e := range entries {
		if !reached[i] {
			continue
		}
		var c bytes.Buffer
		if err := json.Compact(&c, e); err != nil {
			return nil, err
		}
		line := trimRefRE.ReplaceAllFunc(c.Bytes(), func(m []byte) []byte {
			j, _ := strconv.Atoi(string(trimRefRE.FindSubmatch(m)[1]))
			return []byte(`"$ref":"#/` + strconv.Itoa(renumber[j]) + `"`)
		})
		if n > 0 {
			out.WriteString(",\n")
		}
		out.Write(line)
		n++
	}
	out.WriteString("\n]\n")
	return out.Bytes(), nil
}

var trimRefRE = regexp.MustCompile(`"\$ref"\s*:\s*"#/(\d+)"`)

// UsedResourceTypes returns the "Type@apiVersion" names (as written, with nested resources'
// relative types resolved against their parents) that files declare, sorted and deduplicated
// case-insensitively.
func UsedResourceTypes(files []*File) []string {
	seen := map[string]string{}
	var visit func(r *Resource)
	visit = func(r *Resource) {
		if typ, ver, ok := fullType(r); ok {
			n := typ + "@" + ver
			seen[strings.ToLower(n)] = n
		}
		if body := bodyObject(r.Value); body != nil {
			for _, c := range body.Resources {
				visit(c)
			}
		}
	}
	for _, f := range files {
		for _, d := range f.Decls {
			if r, ok := d.(*Resource); ok {
				visit(r)
			}
		}
	}
	var out []string
	for _, n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// fullType resolves a resource's type and API version; a nested resource's type is relative to
// its parent's and may omit the version, which it then shares with the parent.
func fullType(r *Resource) (typ, ver string, ok bool) {
	typ, ver, hasVer := strings.Cut(r.Type, "@")
	if r.Parent == nil {
		return typ, ver, hasVer && typ != "" && ver != ""
	}
	ptyp, pver, ok := fullType(r.Parent)
	if !ok {
		return "", "", false
	}
	if !hasVer {
		ver = pver
	}
	return ptyp + "/" + typ, ver, typ != "" && ver != ""
}
