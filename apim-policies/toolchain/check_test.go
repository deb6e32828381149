package toolchain

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"example.com/graphmcp/internal/testdeps"
)

func tools(t *testing.T) Tools {
	t.Helper()
	testdeps.Tool(t, "mcs")
	testdeps.Tool(t, "monodis")
	testdeps.Tool(t, "mono")
	return Tools{}
}

// The real policy tree must always pass; this is the guard for the gateway's policy files.
func TestCheckRealPolicies(t *testing.T) {
	ds, err := Check(context.Background(), filepath.Join("..", "gateway.json"), tools(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		t.Error(d)
	}
}

const opManifest = `{"namedValues":[{"name":"greeting","secret":false,"description":"d"}],"backends":[],"globalPolicy":"","fragments":[],
 "apis":[{"name":"a","displayName":"A","path":"a","backendId":"","serviceUrl":"http://127.0.0.1:1","policy":"","subscriptionRequired":false,"protocols":["https"]}],
 "operations":[{"api":"a","name":"op","displayName":"Op","method":"GET","urlTemplate":"/x","templateParameters":[],"policy":"op.xml"}]}`

// opPolicy wraps inbound statements in a complete operation policy; the statements start on line 3.
func opPolicy(inbound string) string {
	return "<policies>\n<inbound>\n" + inbound + "\n<base />\n<set-variable name=\"g\" value=\"{{greeting}}\" />\n</inbound>\n<backend><base /></backend>\n<outbound><base /></outbound>\n<on-error><base /></on-error>\n</policies>\n"
}

func writeCase(t *testing.T, manifest string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gateway.json"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "gateway.json")
}

// Each seeded defect must be reported at the right file and line, with a message that says what is wrong.
func TestCheckFindsSeededDefects(t *testing.T) {
	tl := tools(t)
	cases := []struct {
		name, inbound string
		wantLine      int
		want          string
	}{
		{"valid", `<set-header name="x" exists-action="override"><value>@(context.Request.Method)</value></set-header>`, 0, ""},
		{"unknown element typo", `<set-heder name="x" />`, 3, `unknown policy element <set-heder> (did you mean "set-header"?)`},
		{"unknown attribute typo", `<set-header name="x" exist-action="override" />`, 3, `unknown attribute "exist-action" on <set-header> (did you mean "exists-action"?)`},
		{"bad enum", `<set-header name="x" exists-action="replace" />`, 3, `must be one of override, skip, append, delete, not "replace"`},
		{"missing required", `<cache-store-value key="k" value="v" />`, 3, `<cache-store-value> requires attribute "duration"`},
		{"malformed xml", `<set-variable name="x" value="@(1 < 2)" />`, 3, "not well-formed XML"},
		{"duplicate attribute", `<set-header name="x" name="y" />`, 3, "attribute name appears twice"},
		{"unescaped ampersand", `<set-variable name="x" value="@(true && false)" />`, 3, "not well-formed XML"},
		{"disallowed type File", "<set-variable name=\"x\"\n value=\"@(System.IO.File.ReadAllText(&quot;/etc/passwd&quot;))\" />", 4, "System.IO.File.ReadAllText is not allowed"},
		{"disallowed RandomNumberGenerator", `<set-variable name="x" value="@{ var b = new byte[8]; RandomNumberGenerator.Create().GetBytes(b); return b.Length; }" />`, 3, "RandomNumberGenerator.Create is not allowed"},
		{"mono-only GetValueOrDefault", `<set-variable name="x" value="@(context.Request.MatchedParameters.GetValueOrDefault(&quot;id&quot;))" />`, 3, "CollectionExtensions.GetValueOrDefault is not allowed"},
		{"allowed RNGCryptoServiceProvider", `<set-variable name="x" value="@{ var b = new byte[8]; new RNGCryptoServiceProvider().GetBytes(b); return Convert.ToBase64String(SHA256.Create().ComputeHash(b)); }" />`, 0, ""},
		{"non-bool condition", "<choose>\n<when condition=\"@(context.Request.Method)\"><set-status code=\"200\" /></when>\n</choose>", 4, "CS0029"},
		{"block without return", `<set-variable name="x" value="@{ var a = 1; }" />`, 3, "CS0161"},
		{"C# 7.1 default literal", `<set-variable name="x" value="@{ int a = default; return a; }" />`, 3, "CS1644"},
		{"undeclared named value", `<set-variable name="x" value="{{nope}}" />`, 3, "named value {{nope}} is not declared"},
		{"expression not whole value", `<set-variable name="x" value="a @(1)" />`, 3, "must be the whole value"},
		{"error line inside a multi-line block", "<set-body>@{\n  var a = 1;\n  return undefinedName; }</set-body>", 5, "CS0103"},
		{"JsonConvert beyond Serialize/Deserialize", `<set-variable name="x" value="@{ var o = new JObject(); JsonConvert.PopulateObject(&quot;{}&quot;, o); return o; }" />`, 3, "Newtonsoft.Json.JsonConvert.PopulateObject is not allowed"},
		{"XDocument.Load", `<set-variable name="x" value="@(XDocument.Load(&quot;/etc/hosts&quot;))" />`, 3, "XDocument.Load is not allowed"},
		{"parameterless SymmetricAlgorithm.Create", `<set-variable name="x" value="@(SymmetricAlgorithm.Create())" />`, 3, "SymmetricAlgorithm.Create() without an algorithm name"},
		{"restricted DateTime member", `<set-variable name="x" value="@(DateTime.FromBinary(0))" />`, 3, "System.DateTime.FromBinary is not allowed"},
		{"reflection through typeof", `<set-variable name="x" value="@(typeof(string).Name)" />`, 3, "System.Type is not allowed"},
		{"allowed idioms", `<set-variable name="x" value="@{
			var sb = new StringBuilder();
			var m = Regex.Match(&quot;a=1&quot;, &quot;a=(\\d)&quot;);
			if (m.Success) { sb.Append(m.Groups[1].Value); }
			sb.Append(JsonConvert.SerializeObject(new[] { 1 }));
			sb.Append(new JObject(new JProperty(&quot;k&quot;, 1)).ToString(Newtonsoft.Json.Formatting.None));
			sb.Append(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
			sb.Append(WebUtility.UrlEncode(&quot;a b&quot;) + Uri.EscapeDataString(&quot;c d&quot;));
			sb.Append(Convert.ToBase64String(new HMACSHA256(new byte[32]).ComputeHash(Encoding.UTF8.GetBytes(&quot;x&quot;))));
			sb.Append(string.Join(&quot;,&quot;, new List&lt;int&gt; { 3, 1 }.OrderBy(i =&gt; i).Select(i =&gt; i.ToString())));
			sb.Append(context.Variables.GetValueOrDefault&lt;string&gt;(&quot;v&quot;, &quot;&quot;) + context.Request.Headers.GetValueOrDefault(&quot;A&quot;));
			sb.Append(context.Variables.GetValueOrDefault(&quot;v&quot;));
			var form = context.Request.Body.AsFormUrlEncodedContent(true);
			return sb.ToString() + form.ToQueryString();
		}" />`, 0, ""},
		// String operands in the IL are data: a regex character class is not "type .", and a string
		// naming a forbidden API is not a call to it (allowlist.go skips ldstr).
		{"look-alike strings are not types", `<set-variable name="x" value="@(Regex.IsMatch(context.Request.Method, &quot;^[A-Za-z0-9._~-].$&quot;) ? &quot;[mscorlib]System.IO.File::ReadAllText string::Foo&quot; : &quot;[x]y.&quot;)" />`, 0, ""},
		{"disallowed call next to a look-alike string", `<set-variable name="x" value="@(&quot;[A-Za-z0-9._~-].&quot; + System.IO.File.ReadAllText(&quot;[x]y&quot;))" />`, 3, "System.IO.File.ReadAllText is not allowed"},
		{"disallowed call inside a closure", `<set-variable name="x" value="@{ var p = &quot;/etc/hosts&quot;; Func&lt;string&gt; f = () =&gt; System.IO.File.ReadAllText(p); return f(); }" />`, 3, "System.IO.File.ReadAllText is not allowed"},
		{"include unknown fragment", `<include-fragment fragment-id="nope" />`, 3, `fragment "nope" is not declared`},
		{"children out of order", "<return-response>\n<set-body>x</set-body>\n<set-status code=\"200\" />\n</return-response>", 5, "<set-status> is out of order inside <return-response>"},
		{"send-request without set-url", `<send-request response-variable-name="r"><set-method>GET</set-method></send-request>`, 3, `requires a <set-url> child`},
		{"forward-request outside backend", `<forward-request />`, 3, "<forward-request> is not allowed in <inbound>"},
		{"int attribute literal", `<set-status code="two hundred" />`, 3, `attribute "code" of <set-status> must be an integer`},
		{"int attribute expression type", `<set-status code="@(&quot;200&quot;)" />`, 3, "CS0029"},
	}
	// Three batches keep this to three mcs runs — cases that compile, type errors, and a parse-level
	// error (mcs stops before type checking after one): each case is its own operation file, and
	// its finding must name that file and line.
	batches := map[string][]int{}
	for i, c := range cases {
		batch := "compiles"
		if strings.HasPrefix(c.want, "CS1644") {
			batch = "parse error"
		} else if strings.HasPrefix(c.want, "CS") {
			batch = "type errors"
		}
		batches[batch] = append(batches[batch], i)
	}
	for name, idx := range batches {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			files := map[string]string{}
			var ops []string
			for _, i := range idx {
				f := fmt.Sprintf("case-%d.xml", i)
				files[f] = opPolicy(cases[i].inbound)
				ops = append(ops, fmt.Sprintf(`{"api":"a","name":"c%d","displayName":"c","method":"GET","urlTemplate":"/c%d","templateParameters":[],"policy":%q}`, i, i, f))
			}
			manifest := strings.Replace(opManifest, `{"api":"a","name":"op","displayName":"Op","method":"GET","urlTemplate":"/x","templateParameters":[],"policy":"op.xml"}`, strings.Join(ops, ","), 1)
			path := writeCase(t, manifest, files)
			ds, err := Check(context.Background(), path, tl)
			if err != nil {
				t.Fatal(err)
			}
			for _, i := range idx {
				c := cases[i]
				file := filepath.Join(filepath.Dir(path), fmt.Sprintf("case-%d.xml", i))
				t.Run(c.name, func(t *testing.T) {
					var mine Diagnostics
					for _, d := range ds {
						if d.File == file {
							mine = append(mine, d)
						}
					}
					if c.want == "" {
						for _, d := range mine {
							t.Error(d)
						}
						return
					}
					for _, d := range mine {
						if d.Line == c.wantLine && strings.Contains(d.Msg, c.want) {
							return
						}
					}
					t.Errorf("want %s:%d: …%s…; got:\n%v", file, c.wantLine, c.want, mine.Error())
				})
			}
		})
	}
}

// fragManifest is opManifest with two fragments, outer and inner.
var fragManifest = strings.Replace(opManifest, `"fragments":[]`,
	`"fragments":[{"id":"outer","policy":"outer.xml","description":"d"},{"id":"inner","policy":"inner.xml","description":"d"}]`, 1)

func TestCheckStructure(t *testing.T) {
	cases := []struct {
		name     string
		manifest string
		files    map[string]string
		file     string
		line     int
		want     string
	}{
		{"missing base", opManifest, map[string]string{"op.xml": "<policies>\n<inbound>\n<set-variable name=\"g\" value=\"{{greeting}}\" />\n</inbound>\n<backend><base /></backend>\n<outbound><base /></outbound>\n<on-error><base /></on-error>\n</policies>"},
			"op.xml", 2, "section <inbound> has no <base/>"},
		{"cache in on-error", opManifest, map[string]string{"op.xml": strings.Replace(opPolicy(""), "<on-error><base /></on-error>", "<on-error><base />\n<cache-remove-value key=\"k\" /></on-error>", 1)},
			"op.xml", 10, "<cache-remove-value> is not allowed in <on-error>"},
		{"orphan file", opManifest, map[string]string{"op.xml": opPolicy(""), "stray.xml": "<policies/>"},
			"stray.xml", 1, "not referenced"},
		{"unused named value", strings.Replace(opManifest, `"namedValues":[`, `"namedValues":[{"name":"unused","secret":true,"description":"d"},`, 1), map[string]string{"op.xml": opPolicy("")},
			"gateway.json", 1, "named value unused is declared but no policy uses it"},
		{"missing policy file", opManifest, map[string]string{},
			"gateway.json", 3, `policy file "op.xml" does not exist`},
		{"unknown manifest field", strings.Replace(opManifest, `"backends"`, `"backend"`, 1), map[string]string{"op.xml": opPolicy("")},
			"gateway.json", 1, "unknown field"},
		{"fragment nests a fragment", fragManifest, map[string]string{"op.xml": opPolicy(`<include-fragment fragment-id="outer" />`),
			"outer.xml": "<fragment>\n<include-fragment fragment-id=\"inner\" />\n</fragment>", "inner.xml": "<fragment>\n<set-variable name=\"x\" value=\"1\" />\n</fragment>"},
			"outer.xml", 2, `fragment "outer" includes fragment "inner", which APIM does not allow`},
		{"fragment over 32 KB", fragManifest, map[string]string{"op.xml": opPolicy(`<include-fragment fragment-id="outer" /><include-fragment fragment-id="inner" />`),
			"outer.xml": "<fragment>\n<!--" + strings.Repeat("x", 32*1024) + "-->\n</fragment>", "inner.xml": "<fragment>\n<set-variable name=\"x\" value=\"1\" />\n</fragment>"},
			"outer.xml", 1, "APIM accepts at most 32768 (32 KB)"},
		{"template parameter undeclared", strings.Replace(opManifest, `"/x"`, `"/x/{id}"`, 1), map[string]string{"op.xml": opPolicy("")},
			"gateway.json", 3, "template parameter {id} needs an entry"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeCase(t, c.manifest, c.files)
			_, ds := Load(path)
			file := filepath.Join(filepath.Dir(path), c.file)
			for _, d := range ds {
				if d.File == file && d.Line == c.line && strings.Contains(d.Msg, c.want) {
					return
				}
			}
			t.Errorf("want %s:%d: …%s…; got:\n%v", file, c.line, c.want, ds.Error())
		})
	}
}

// The element fixtures the emulator tests execute must pass every check too.
func TestCheckElementFixtures(t *testing.T) {
	ds, err := Check(context.Background(), filepath.Join("testdata", "elements", "gateway.json"), tools(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		t.Error(d)
	}
}
