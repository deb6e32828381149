// Package toolchain makes apim-policies/ as verifiable as Go code. It reads the gateway manifest
// (gateway.json) and every policy file it names, and reports, as "file:line: message":
//
//   - XML that is not well-formed (policies are deployed with format "xml", so expressions are escaped);
//   - structure APIM would reject or silently mis-compose: sections, <base/> placement, unknown
//     elements or attributes (the table in elements.go, written from the APIM policy reference),
//     missing required attributes, invalid enumerated values, include-fragment targets, undeclared
//     or unused {{named values}}, policy files the manifest does not reference;
//   - every @(...) and @{...} compiled with Mono's mcs -langversion:7 against a stub of the
//     documented object model (../stub), with bool/int attributes type-checked;
//   - every type and member the compiled expressions reference (read from IL with monodis)
//     checked against the documented allow-list.
//
// Typical use, from a test:
//
//	ds, err := toolchain.Check(ctx, "apim-policies/gateway.json", toolchain.Tools{})
//	if err != nil { t.Fatal(err) }        // Mono missing, I/O errors
//	for _, d := range ds { t.Error(d) }  // policy findings
//
// The same package builds what the emulator (internal/apimemu) runs: Load + GenerateCSharp with
// real named values, Tools.CompileExpressions, Tools.BuildEmulator; builds are cached by content
// hash under apim-policies/.build.
package toolchain

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Gateway is a loaded manifest with its parsed policy documents.
type Gateway struct {
	ManifestPath string
	Dir          string
	Manifest     *Manifest
	Docs         map[string]*Node // by manifest-relative path
	Expressions  []Expression
	referenced   map[string]bool
}

// maxFragmentBytes is APIM's size limit for one policy fragment ("Reuse policy configurations in
// your API Management policy definitions", Limitations).
const maxFragmentBytes = 32 * 1024

// Load reads the manifest and its policy files and runs the structure checks (no Mono needed).
// Diagnostics name files as dir-joined paths, so they are relative when manifestPath is.
func Load(manifestPath string) (*Gateway, Diagnostics) {
	dir := filepath.Dir(manifestPath)
	m, raw, err := LoadManifest(manifestPath)
	if err != nil {
		return nil, err.(Diagnostics)
	}
	g := &Gateway{ManifestPath: manifestPath, Dir: dir, Manifest: m, Docs: map[string]*Node{}}
	ds := m.validate(manifestPath, raw, dir)
	st := newStructure(m)
	scopes := map[string]Scope{}
	g.referenced = map[string]bool{}
	for _, pf := range m.Files() {
		g.referenced[pf.Path] = true
		if prev, dup := scopes[pf.Path]; dup && prev != pf.Scope {
			ds = append(ds, Diagnostic{File: manifestPath, Line: lineOf(raw, pf.Path), Msg: "policy file " + pf.Path + " is used at two scopes (" + string(prev) + ", " + string(pf.Scope) + "); give each scope its own file"})
			continue
		}
		if _, done := g.Docs[pf.Path]; done {
			continue
		}
		scopes[pf.Path] = pf.Scope
		root, perr := ParseFile(filepath.Join(dir, filepath.FromSlash(pf.Path)), filepath.Join(dir, filepath.FromSlash(pf.Path)))
		if perr != nil {
			if pds, ok := perr.(Diagnostics); ok {
				ds = append(ds, pds...)
			}
			continue
		}
		g.Docs[pf.Path] = root
		st.document(root, pf.Scope)
		g.Expressions = append(g.Expressions, extractExpressions(root)...)
	}
	// Fragments are checked in every section that includes them, so section rules apply inside.
	for _, f := range m.Fragments {
		root := g.Docs[f.Policy]
		if root == nil || root.Name != "fragment" {
			continue
		}
		file := filepath.Join(dir, filepath.FromSlash(f.Policy))
		if fi, err := os.Stat(file); err == nil && fi.Size() > maxFragmentBytes {
			ds = append(ds, Diagnostic{File: file, Line: 1, Msg: fmt.Sprintf("fragment %s is %d bytes; APIM accepts at most %d (32 KB): split it", f.ID, fi.Size(), maxFragmentBytes)})
		}
		sections := keys(st.fragmentUse[f.ID])
		if len(sections) == 0 {
			ds = append(ds, Diagnostic{File: manifestPath, Line: lineOf(raw, f.ID), Msg: "fragment " + f.ID + " is declared but never included"})
			sections = []string{""}
		}
		for _, sec := range sections {
			st.statements(root.Children, sec, []string{f.ID})
		}
	}
	for _, nv := range m.NamedValues {
		if !st.namedUsed[nv.Name] {
			ds = append(ds, Diagnostic{File: manifestPath, Line: lineOf(raw, nv.Name), Msg: "named value " + nv.Name + " is declared but no policy uses it"})
		}
	}
	ds = append(ds, g.unusedBackends(raw)...)
	ds = append(ds, g.orphans()...)
	return g, dedupe(append(ds, st.ds...))
}

// unusedBackends reports backends no API and no literal backend-id refers to (an expression
// backend-id may name any of them, so then none is reported).
func (g *Gateway) unusedBackends(raw []byte) Diagnostics {
	used := map[string]bool{}
	for _, a := range g.Manifest.APIs {
		used[a.BackendID] = true
	}
	dynamic := false
	for _, root := range g.Docs {
		walkNodes(root, func(n *Node) {
			if a, ok := n.Attr("backend-id"); ok && n.Name == "set-backend-service" {
				if isExpression(a.Value) {
					dynamic = true
				}
				used[a.Value] = true
			}
		})
	}
	var ds Diagnostics
	for _, b := range g.Manifest.Backends {
		if !used[b.ID] && !dynamic {
			ds = append(ds, Diagnostic{File: g.ManifestPath, Line: lineOf(raw, b.ID), Msg: "backend " + b.ID + " is declared but no API or set-backend-service uses it"})
		}
	}
	return ds
}

func walkNodes(n *Node, f func(*Node)) {
	f(n)
	for _, c := range n.Children {
		walkNodes(c, f)
	}
}

// orphans reports .xml files under the policy folder that the manifest does not reference: a
// policy file nobody deploys is a policy nobody tests.
func (g *Gateway) orphans() Diagnostics {
	var ds Diagnostics
	_ = filepath.WalkDir(g.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(g.Dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			switch rel {
			case "toolchain", "stub", "emulator", ".build":
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(rel, ".xml") {
			if !g.referenced[rel] {
				ds = append(ds, Diagnostic{File: p, Line: 1, Msg: "policy file is not referenced by " + filepath.Base(g.ManifestPath) + ": add it to an API, operation, fragment or globalPolicy, or delete it"})
			}
		}
		return nil
	})
	return ds
}

func dedupe(ds Diagnostics) Diagnostics {
	seen := map[string]bool{}
	var out Diagnostics
	for _, d := range ds {
		if !seen[d.String()] {
			seen[d.String()] = true
			out = append(out, d)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	return out
}

// Check runs every check on a manifest and its policies: structure, expression compilation and
// the allow-list. err is for environment problems (Mono missing); ds are policy findings.
func Check(ctx context.Context, manifestPath string, tools Tools) (Diagnostics, error) {
	g, ds := Load(manifestPath)
	if g == nil || len(g.Expressions) == 0 {
		return ds, nil
	}
	src := GenerateCSharp(g.Expressions, nil)
	dll, cds, err := tools.CompileExpressions(ctx, src)
	if err != nil {
		return ds, err
	}
	if len(cds) > 0 {
		return dedupe(append(ds, cds...)), nil
	}
	ads, err := tools.CheckAllowList(ctx, dll, g.Expressions)
	if err != nil {
		return ds, err
	}
	return dedupe(append(ds, ads...)), nil
}
