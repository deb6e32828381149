package infracheck

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// CheckCloudMaps: values environment() does not carry come from per-cloud maps, and an unknown
// cloud must fail when ARM validates the template, not with a missing key in the middle of a
// deployment. So main.bicep declares `param cloud string = environment().name` with @allowed naming
// exactly the clouds the maps know, every map (an object literal keyed by cloud names) lives in
// main.bicep with exactly those keys, and maps are indexed only by `cloud` — never by
// environment().name, in any file.
func CheckCloudMaps(files map[string]string) []string {
	const mainFile = "infra/main.bicep"
	var problems []string
	allowed := cloudParamAllowed(files[mainFile])
	if allowed == nil {
		problems = append(problems, mainFile+": no `@allowed([ ... ]) param cloud string = environment().name`: an unknown cloud would fail at deployment time on a missing map key")
	}
	mapRE := regexp.MustCompile(`(?m)^var\s+([A-Za-z_][A-Za-z0-9_]*)\s*=\s*\{`)
	for _, file := range sortedMapKeys(files) {
		src := files[file]
		for _, m := range regexp.MustCompile(`\[\s*environment\(\)\.name\s*\]`).FindAllStringIndex(src, -1) {
			if inCode(src, m[0]) {
				problems = append(problems, fmt.Sprintf("%s:%d: indexes a map with environment().name; index with main.bicep's `cloud` parameter (validated against @allowed before deployment)", file, lineAt(src, m[0])))
			}
		}
		for _, m := range mapRE.FindAllStringSubmatchIndex(src, -1) {
			name := src[m[2]:m[3]]
			entries, err := ObjectEntries(src, name)
			if err != nil || !slices.ContainsFunc(entries, func(e Entry) bool { return e.Key == "AzureCloud" }) {
				continue
			}
			line := lineAt(src, m[0])
			if file != mainFile {
				problems = append(problems, fmt.Sprintf("%s:%d: per-cloud map %s belongs in main.bicep, next to the `cloud` parameter that validates its keys; pass the value to the module", file, line, name))
				continue
			}
			var keys []string
			for _, e := range entries {
				keys = append(keys, e.Key)
			}
			sort.Strings(keys)
			if allowed != nil && !slices.Equal(keys, allowed) {
				problems = append(problems, fmt.Sprintf("%s:%d: per-cloud map %s has keys %v, but param cloud allows %v; they must be equal", file, line, name, keys, allowed))
			}
			for _, use := range regexp.MustCompile(`\b`+name+`\[([^\]]*)\]`).FindAllStringSubmatchIndex(src, -1) {
				if idx := strings.TrimSpace(src[use[2]:use[3]]); inCode(src, use[0]) && idx != "cloud" {
					problems = append(problems, fmt.Sprintf("%s:%d: %s[%s]: index per-cloud maps with `cloud`", file, lineAt(src, use[0]), name, idx))
				}
			}
		}
	}
	return problems
}

// cloudParamAllowed returns the sorted @allowed values of `param cloud string = environment().name`,
// or nil when main.bicep lacks that declaration.
func cloudParamAllowed(src string) []string {
	m := regexp.MustCompile(`(?m)^@allowed\(\[([^\]]*)\]\)\s*\n(?:@[^\n]*\n)*param cloud string = environment\(\)\.name\s*$`).FindStringSubmatch(src)
	if m == nil {
		return nil
	}
	var out []string
	for _, v := range regexp.MustCompile(`'([^']*)'`).FindAllStringSubmatch(m[1], -1) {
		out = append(out, v[1])
	}
	sort.Strings(out)
	return out
}
