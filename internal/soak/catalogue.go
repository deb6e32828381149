package soak

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"example.com/graphmcp/apim-policies/toolchain"
)

// Answer is what a response says: its HTTP status and OAuth/MCP error code ("" for none).
type Answer struct {
	Status int
	Error  string
}

func (a Answer) String() string {
	if a.Error == "" {
		return strconv.Itoa(a.Status)
	}
	return strconv.Itoa(a.Status) + " " + a.Error
}

// Catalogue is the set of answers each gateway operation is documented to give, read from the
// policy files the emulator runs (the refusals they spell out as "kind|status|error|text" and
// the on-error answers of fragment api-error), so the soak holds the gateway to what its own
// policies promise rather than to a copy of them.
type Catalogue map[string]map[Answer]bool

var (
	refusalRE  = regexp.MustCompile(`\b(?:json|page|redirect|bearer|client)\|(\d{3})\|([a-z_]*)\|`)
	includeRE  = regexp.MustCompile(`<include-fragment\s+fragment-id="([^"]+)"`)
	setStatRE  = regexp.MustCompile(`<set-status code="(\d{3})"`)
	errorLitRE = regexp.MustCompile(`"error"\s*(?:,|:)\s*"([a-z_]+)"`)
)

// LoadCatalogue reads apim-policies/gateway.json and the policies it names.
func LoadCatalogue() (Catalogue, error) {
	dir := toolchain.PoliciesDir()
	m, _, err := toolchain.LoadManifest(filepath.Join(dir, "gateway.json"))
	if err != nil {
		return nil, err
	}
	fragments := map[string]string{}
	for _, f := range m.Fragments {
		fragments[f.ID] = f.Policy
	}
	apiPolicy := map[string]string{}
	for _, a := range m.APIs {
		apiPolicy[a.Name] = a.Policy
	}
	read := func(rel string) (string, error) {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		return string(b), err
	}
	c := Catalogue{}
	for _, op := range m.Operations {
		answers := map[Answer]bool{}
		seen := map[string]bool{}
		var walk func(rel string) error
		walk = func(rel string) error {
			if rel == "" || seen[rel] {
				return nil
			}
			seen[rel] = true
			src, err := read(rel)
			if err != nil {
				return err
			}
			for _, m := range refusalRE.FindAllStringSubmatch(src, -1) {
				st, _ := strconv.Atoi(m[1])
				answers[Answer{st, m[2]}] = true
			}
			// Fixed error answers (the on-error fragment): a set-status followed by its body's error.
			idx := setStatRE.FindAllStringSubmatchIndex(src, -1)
			for i, loc := range idx {
				end := len(src)
				if i+1 < len(idx) {
					end = idx[i+1][0]
				}
				st, _ := strconv.Atoi(src[loc[2]:loc[3]])
				if e := errorLitRE.FindStringSubmatch(src[loc[1]:end]); st >= 400 && e != nil {
					answers[Answer{st, e[1]}] = true
				}
			}
			for _, m := range includeRE.FindAllStringSubmatch(src, -1) {
				f, ok := fragments[m[1]]
				if !ok {
					return fmt.Errorf("%s includes unknown fragment %q", rel, m[1])
				}
				if err := walk(f); err != nil {
					return err
				}
			}
			return nil
		}
		for _, rel := range []string{apiPolicy[op.API], op.Policy} {
			if err := walk(rel); err != nil {
				return nil, err
			}
		}
		c[op.Name] = answers
	}
	return c, nil
}

// Documented reports whether op is documented to answer a.
func (c Catalogue) Documented(op string, a Answer) bool { return c[op][a] }

// String lists the catalogue, one operation per line (for failure messages).
func (c Catalogue) String() string {
	var lines []string
	for op, as := range c {
		var list []string
		for a := range as {
			list = append(list, a.String())
		}
		sort.Strings(list)
		lines = append(lines, op+": "+strings.Join(list, ", "))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
