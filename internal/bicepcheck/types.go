package bicepcheck

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The vendored type definitions (types/, provenance in types/README.md) are embedded so that the
// checker, as a library, depends neither on the working directory nor on anything outside the
// clone.
//
//go:embed types/*.json
var vendored embed.FS

// Property flags of the bicep-types format.
const (
	flagRequired    = 1
	flagReadOnly    = 2
	flagWriteOnly   = 4
	flagDeployConst = 8
	flagIdentifier  = 16
)

// Type is one entry of a bicep-types "types.json": its Kind is the entry's $type.
type Type struct {
	Kind string // StringType, StringLiteralType, IntegerType, BooleanType, AnyType, NullType,
	// UnionType, ArrayType, ObjectType, DiscriminatedObjectType, ResourceType
	Name string // ObjectType, DiscriminatedObjectType, ResourceType

	Value string // StringLiteralType

	Elements []*Type // UnionType

	Item *Type // ArrayType

	Properties map[string]*Property // ObjectType (keys lower-cased); base properties of a DiscriminatedObjectType
	Additional *Type                // ObjectType: type of properties not listed, nil when closed

	Discriminator string           // DiscriminatedObjectType
	Variants      map[string]*Type // DiscriminatedObjectType, by discriminator value

	Body *Type // ResourceType
}

// Property is one property of an object type.
type Property struct {
	Name  string
	Type  *Type
	Flags int
}

// ResourceDef is one resource type at one API version.
type ResourceDef struct {
	Name      string // Type@apiVersion as in the definitions
	Body      *Type
	Extension string // "" for Azure Resource Manager, "microsoftGraph" for the Graph extension
}

// Types is a set of resource definitions, looked up by "Type@apiVersion" case-insensitively.
type Types struct {
	byName    map[string]*ResourceDef
	versions  map[string][]string // lower-case type → API versions defined
	graphRefs []string            // Graph extension versions defined, as "microsoftgraph/v1.0:1.0.0"
}

// LoadVendored loads the definitions embedded from types/.
func LoadVendored() (*Types, error) {
	return LoadTypes(vendored, "types")
}

// LoadTypes loads every *.json bicep-types file in dir of fsys. A file whose name starts with
// "msgraph_" holds Microsoft Graph extension types; every other holds Azure Resource Manager types.
func LoadTypes(fsys fs.FS, dir string) (*Types, error) {
	ts := &Types{byName: map[string]*ResourceDef{}, versions: map[string][]string{}}
	names, err := fs.Glob(fsys, path.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no type definitions in %s", dir)
	}
	for _, n := range names {
		raw, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		ext := ""
		if rest, ok := strings.CutPrefix(strings.TrimSuffix(path.Base(n), ".json"), "msgraph_"); ok {
			ext = "microsoftGraph"
			// msgraph_<apiVersion>_<extensionVersion>.json is the extension
			// br:mcr.microsoft.com/bicep/extensions/microsoftgraph/<apiVersion>:<extensionVersion>.
			api, ver, _ := strings.Cut(rest, "_")
			ts.graphRefs = append(ts.graphRefs, "microsoftgraph/"+strings.ToLower(api)+":"+ver)
		}
		if err := ts.add(raw, ext); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
	}
	for k := range ts.versions {
		sort.Strings(ts.versions[k])
	}
	return ts, nil
}

// Lookup returns the definition of typ@apiVersion, or nil.
func (ts *Types) Lookup(typ, apiVersion string) *ResourceDef {
	return ts.byName[strings.ToLower(typ+"@"+apiVersion)]
}

// hasGraph reports whether the definitions hold the Graph extension a reference names.
func (ts *Types) hasGraph(ref string) bool {
	for _, g := range ts.graphRefs {
		if strings.HasSuffix(strings.ToLower(ref), g) {
			return true
		}
	}
	return false
}

// Versions returns the API versions defined for a resource type.
func (ts *Types) Versions(typ string) []string { return ts.versions[strings.ToLower(typ)] }

// Names returns every "Type@apiVersion" defined, sorted.
func (ts *Types) Names() []string {
	var out []string
	for _, d := range ts.byName {
		out = append(out, d.Name)
	}
	sort.Strings(out)
	return out
}

type rawRef struct {
	Ref string `json:"$ref"`
}

type rawProp struct {
	Type  rawRef `json:"type"`
	Flags int    `json:"flags"`
}

type rawEntry struct {
	Kind                 string             `json:"$type"`
	Name                 string             `json:"name"`
	Value                json.RawMessage    `json:"value"`
	Body                 *rawRef            `json:"body"`
	Properties           map[string]rawProp `json:"properties"`
	BaseProperties       map[string]rawProp `json:"baseProperties"`
	AdditionalProperties *rawRef            `json:"additionalProperties"`
	Elements             json.RawMessage    `json:"elements"`
	ItemType             *rawRef            `json:"itemType"`
	Discriminator        string             `json:"discriminator"`
}

var refRE = regexp.MustCompile(`^#/(\d+)$`)

func (ts *Types) add(raw []byte, ext string) error {
	var entries []rawEntry
	if err := json.Unmarshal(raw, &entries); err != nil {
		return err
	}
	types := make([]*Type, len(entries))
	for i, e := range entries {
		types[i] = &Type{Kind: e.Kind, Name: e.Name}
	}
	ref := func(r rawRef) (*Type, error) {
		m := refRE.FindStringSubmatch(r.Ref)
		if m == nil {
			return nil, fmt.Errorf("unsupported $ref %q", r.Ref)
		}
		i, _ := strconv.Atoi(m[1])
		if i >= len(types) {
			return nil, fmt.Errorf("$ref %q out of range", r.Ref)
		}
		return types[i], nil
	}
	props := func(in map[string]rawProp) (map[string]*Property, error) {
		out := map[string]*Property{}
		for name, p := range in {
			t, err := ref(p.Type)
			if err != nil {
				return nil, err
			}
			out[strings.ToLower(name)] = &Property{Name: name, Type: t, Flags: p.Flags}
		}
		return out, nil
	}
	for i, e := range entries {
		t := types[i]
		var err error
		switch e.Kind {
		case "StringLiteralType":
			err = json.Unmarshal(e.Value, &t.Value)
		case "UnionType":
			var refs []rawRef
			if err = json.Unmarshal(e.Elements, &refs); err == nil {
				for _, r := range refs {
					var el *Type
					if el, err = ref(r); err != nil {
						break
					}
					t.Elements = append(t.Elements, el)
				}
			}
		case "ArrayType":
			if e.ItemType != nil {
				t.Item, err = ref(*e.ItemType)
			}
		case "ObjectType":
			if t.Properties, err = props(e.Properties); err == nil && e.AdditionalProperties != nil {
				t.Additional, err = ref(*e.AdditionalProperties)
			}
		case "DiscriminatedObjectType":
			t.Discriminator = e.Discriminator
			if t.Properties, err = props(e.BaseProperties); err == nil {
				var refs map[string]rawRef
				if err = json.Unmarshal(e.Elements, &refs); err == nil {
					t.Variants = map[string]*Type{}
					for k, r := range refs {
						if t.Variants[k], err = ref(r); err != nil {
							break
						}
					}
				}
			}
		case "ResourceType":
			if e.Body == nil {
				return fmt.Errorf("resource type %s has no body", e.Name)
			}
			if t.Body, err = ref(*e.Body); err == nil {
				ts.byName[strings.ToLower(e.Name)] = &ResourceDef{Name: e.Name, Body: t.Body, Extension: ext}
				if typ, ver, ok := strings.Cut(e.Name, "@"); ok {
					k := strings.ToLower(typ)
					ts.versions[k] = append(ts.versions[k], ver)
				}
			}
		}
		if err != nil {
			return fmt.Errorf("entry %d (%s): %w", i, e.Kind, err)
		}
	}
	return nil
}

// describeType renders a definition type for messages: `string`, `'a' | 'b'`, `object`, ...
func describeType(t *Type) string {
	switch t.Kind {
	case "StringType":
		return "string"
	case "StringLiteralType":
		return quote(t.Value)
	case "IntegerType":
		return "int"
	case "BooleanType":
		return "bool"
	case "AnyType":
		return "any"
	case "NullType":
		return "null"
	case "ArrayType":
		return "array"
	case "ObjectType", "DiscriminatedObjectType", "ResourceType":
		return "object"
	case "UnionType":
		var parts []string
		for _, e := range t.Elements {
			parts = append(parts, describeType(e))
		}
		return strings.Join(parts, " | ")
	}
	return t.Kind
}

// quote renders a string the way Bicep writes it.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
