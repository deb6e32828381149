package toolchain

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// The allow-list is the "CLR types supported in policy expressions" table of the Learn page
// "API Management policy expressions" (facts §3). A nil member set means every member is allowed.
var allowedTypes = map[string]map[string]bool{
	"Newtonsoft.Json.Formatting":        nil,
	"Newtonsoft.Json.JsonConvert":       set("SerializeObject", "DeserializeObject"),
	"Newtonsoft.Json.Linq.Extensions":   nil,
	"Newtonsoft.Json.Linq.JArray":       nil,
	"Newtonsoft.Json.Linq.JConstructor": nil,
	"Newtonsoft.Json.Linq.JContainer":   nil,
	"Newtonsoft.Json.Linq.JObject":      nil,
	"Newtonsoft.Json.Linq.JProperty":    nil,
	"Newtonsoft.Json.Linq.JRaw":         nil,
	"Newtonsoft.Json.Linq.JToken":       nil,
	"Newtonsoft.Json.Linq.JTokenType":   nil,
	"Newtonsoft.Json.Linq.JValue":       nil,
	"System.Array":                      nil,
	"System.BitConverter":               nil,
	"System.Boolean":                    nil,
	"System.Byte":                       nil,
	"System.Char":                       nil,
	"System.Convert":                    nil,
	"System.DateTimeOffset":             nil,
	"System.Decimal":                    nil,
	"System.Double":                     nil,
	"System.Exception":                  nil,
	"System.Guid":                       nil,
	"System.Int16":                      nil,
	"System.Int32":                      nil,
	"System.Int64":                      nil,
	"System.Math":                       nil,
	"System.MidpointRounding":           nil,
	"System.Nullable":                   nil,
	"System.Random":                     nil,
	"System.SByte":                      nil,
	"System.Single":                     nil,
	"System.String":                     nil,
	"System.StringComparer":             nil,
	"System.StringComparison":           nil,
	"System.StringSplitOptions":         nil,
	"System.TimeSpan":                   nil,
	"System.TimeZone":                   nil,
	"System.TimeZoneInfo":               nil,
	"System.Tuple":                      nil,
	"System.UInt16":                     nil,
	"System.UInt32":                     nil,
	"System.UInt64":                     nil,
	"System.Uri":                        nil,
	"System.UriPartial":                 nil,
	"System.DateTime": set("ctor", "Add", "AddDays", "AddHours", "AddMilliseconds", "AddMinutes", "AddMonths",
		"AddSeconds", "AddTicks", "AddYears", "Date", "Day", "DayOfWeek", "DayOfYear", "DaysInMonth", "Hour",
		"IsDaylightSavingTime", "IsLeapYear", "MaxValue", "Millisecond", "Minute", "MinValue", "Month", "Now",
		"Parse", "Second", "Subtract", "Ticks", "TimeOfDay", "Today", "ToString", "UtcNow", "Year", "op_*"),
	"System.DateTimeKind":                                                    nil, // value checked separately: only Utc (see note in README)
	"System.Enum":                                                            set("Parse", "TryParse", "ToString"),
	"System.Collections.Generic.Dictionary":                                  nil,
	"System.Collections.Generic.HashSet":                                     nil,
	"System.Collections.Generic.ICollection":                                 nil,
	"System.Collections.Generic.IDictionary":                                 nil,
	"System.Collections.Generic.IEnumerable":                                 nil,
	"System.Collections.Generic.IEnumerator":                                 nil,
	"System.Collections.Generic.IList":                                       nil,
	"System.Collections.Generic.IReadOnlyCollection":                         nil,
	"System.Collections.Generic.IReadOnlyDictionary":                         nil,
	"System.Collections.Generic.ISet":                                        nil,
	"System.Collections.Generic.KeyValuePair":                                nil,
	"System.Collections.Generic.List":                                        nil,
	"System.Collections.Generic.Queue":                                       nil,
	"System.Collections.Generic.Stack":                                       nil,
	"System.IO.StringReader":                                                 nil,
	"System.IO.StringWriter":                                                 nil,
	"System.Linq.Enumerable":                                                 nil,
	"System.Net.IPAddress":                                                   set("AddressFamily", "Equals", "GetAddressBytes", "IsLoopback", "Parse", "TryParse", "ToString"),
	"System.Net.WebUtility":                                                  nil,
	"System.Security.Cryptography.AsymmetricAlgorithm":                       nil,
	"System.Security.Cryptography.CipherMode":                                nil,
	"System.Security.Cryptography.HashAlgorithm":                             nil,
	"System.Security.Cryptography.HashAlgorithmName":                         nil,
	"System.Security.Cryptography.HMAC":                                      nil,
	"System.Security.Cryptography.HMACMD5":                                   nil,
	"System.Security.Cryptography.HMACSHA1":                                  nil,
	"System.Security.Cryptography.HMACSHA256":                                nil,
	"System.Security.Cryptography.HMACSHA384":                                nil,
	"System.Security.Cryptography.HMACSHA512":                                nil,
	"System.Security.Cryptography.KeyedHashAlgorithm":                        nil,
	"System.Security.Cryptography.MD5":                                       nil,
	"System.Security.Cryptography.Oid":                                       nil,
	"System.Security.Cryptography.PaddingMode":                               nil,
	"System.Security.Cryptography.RNGCryptoServiceProvider":                  nil,
	"System.Security.Cryptography.RSA":                                       nil,
	"System.Security.Cryptography.RSAEncryptionPadding":                      nil,
	"System.Security.Cryptography.RSASignaturePadding":                       nil,
	"System.Security.Cryptography.SHA1":                                      nil,
	"System.Security.Cryptography.SHA1Managed":                               nil,
	"System.Security.Cryptography.SHA256":                                    nil,
	"System.Security.Cryptography.SHA256Managed":                             nil,
	"System.Security.Cryptography.SHA384":                                    nil,
	"System.Security.Cryptography.SHA384Managed":                             nil,
	"System.Security.Cryptography.SHA512":                                    nil,
	"System.Security.Cryptography.SHA512Managed":                             nil,
	"System.Security.Cryptography.SymmetricAlgorithm":                        nil, // except parameterless Create(), checked below
	"System.Security.Cryptography.X509Certificates.PublicKey":                nil,
	"System.Security.Cryptography.X509Certificates.RSACertificateExtensions": nil,
	"System.Security.Cryptography.X509Certificates.X500DistinguishedName":    set("Name"),
	"System.Security.Cryptography.X509Certificates.X509Certificate":          nil,
	"System.Security.Cryptography.X509Certificates.X509Certificate2":         nil,
	"System.Security.Cryptography.X509Certificates.X509ContentType":          nil,
	"System.Security.Cryptography.X509Certificates.X509NameType":             nil,
	"System.Text.Encoding":                                                   nil,
	"System.Text.StringBuilder":                                              nil,
	"System.Text.RegularExpressions.Capture":                                 set("Index", "Length", "Value"),
	"System.Text.RegularExpressions.CaptureCollection":                       set("Count", "Item"),
	"System.Text.RegularExpressions.Group":                                   set("Captures", "Success", "Index", "Length", "Value"),
	"System.Text.RegularExpressions.GroupCollection":                         set("Count", "Item"),
	"System.Text.RegularExpressions.Match":                                   set("Empty", "Groups", "Result", "Success", "Index", "Length", "Value", "Captures"),
	"System.Text.RegularExpressions.Regex":                                   set("ctor", "IsMatch", "Match", "Matches", "Replace", "Unescape", "Split"),
	"System.Text.RegularExpressions.RegexOptions":                            nil,
	"System.Xml.Linq.Extensions":                                             nil,
	"System.Xml.Linq.XAttribute":                                             nil,
	"System.Xml.Linq.XCData":                                                 nil,
	"System.Xml.Linq.XComment":                                               nil,
	"System.Xml.Linq.XContainer":                                             nil,
	"System.Xml.Linq.XDeclaration":                                           nil,
	"System.Xml.Linq.XDocument":                                              nil, // except Load, checked below
	"System.Xml.Linq.XDocumentType":                                          nil,
	"System.Xml.Linq.XElement":                                               nil,
	"System.Xml.Linq.XName":                                                  nil,
	"System.Xml.Linq.XNamespace":                                             nil,
	"System.Xml.Linq.XNode":                                                  nil,
	"System.Xml.Linq.XNodeDocumentOrderComparer":                             nil,
	"System.Xml.Linq.XNodeEqualityComparer":                                  nil,
	"System.Xml.Linq.XObject":                                                nil,
	"System.Xml.Linq.XProcessingInstruction":                                 nil,
	"System.Xml.Linq.XText":                                                  nil,
	"System.Xml.XmlNodeType":                                                 nil,
}

// compilerSupport are types the C# compiler itself emits for ordinary syntax (lambdas, foreach,
// using, params arrays, typeof-free generics) — not APIs a policy author calls.
var compilerSupport = map[string]bool{
	"System.Object": true, "System.ValueType": true, "System.IDisposable": true,
	"System.Collections.IEnumerable": true, "System.Collections.IEnumerator": true,
	"System.Func": true, "System.Action": true, "System.Predicate": true, "System.Comparison": true,
	"System.Runtime.CompilerServices.RuntimeHelpers": true, "System.Runtime.CompilerServices.CompilerGeneratedAttribute": true,
	"System.Collections.Generic.EqualityComparer": true, "System.Collections.Generic.Comparer": true,
	"System.ValueTuple": true, "System.Runtime.CompilerServices.TupleElementNamesAttribute": true,
	"System.IntPtr": true, "System.Void": true, "System.RuntimeFieldHandle": true,
	// Result and parameter types of allowed APIs (Enumerable.OrderBy, GroupBy, ToLookup, Distinct):
	// APIM allows Enumerable with all members, so the types those members return are usable too.
	"System.Linq.IOrderedEnumerable": true, "System.Linq.IGrouping": true, "System.Linq.ILookup": true,
	"System.Collections.Generic.IEqualityComparer": true, "System.Collections.Generic.IComparer": true,
}

// inheritedVia are non-listed base classes whose instance members are reachable through a listed
// type (the compiler names the declaring type in IL): e.g. new RNGCryptoServiceProvider().GetBytes(b)
// calls RandomNumberGenerator::GetBytes. Static members of these types stay forbidden
// (RandomNumberGenerator.Create() is exactly what APIM rejects).
var inheritedVia = map[string]bool{
	"System.Security.Cryptography.RandomNumberGenerator": true,
	"System.IO.TextWriter":                               true, "System.IO.TextReader": true, "System.MarshalByRefObject": true,
	"System.Text.RegularExpressions.MatchCollection": true,
}

// signatureOnly are types that appear in IL only because an allowed member's signature names
// them (JToken.ToString(Formatting, params JsonConverter[]) passes an empty JsonConverter[]);
// calling their members is still refused.
var signatureOnly = map[string]bool{"Newtonsoft.Json.JsonConverter": true}

func set(xs ...string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

var (
	ilMemberRef = regexp.MustCompile(`(?:(\[[^\]]+\])([\w.` + "`" + `/]+)|\b(string|object))(?:<[^:]*?>)?::(?:'([^']+)'|([\w.$]+))`)
	ilTypeRef   = regexp.MustCompile(`\[([^\]]+)\]([\w.` + "`" + `/]+)`)
	exprIndex   = regexp.MustCompile(`(?:^|[\s'])(?:<)?E(\d+)(?:>|\s*\()`)
	classExpr   = regexp.MustCompile(`'<E(\d+)>`)
)

// CheckAllowList disassembles the compiled expressions and reports every referenced type or member
// that is neither on the documented allow-list nor part of the object-model stub, at the policy
// line of the expression that uses it.
func (t Tools) CheckAllowList(ctx context.Context, dll string, exprs []Expression) (Diagnostics, error) {
	t, err := t.resolved()
	if err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, t.Monodis, dll).Output()
	if err != nil {
		return nil, fmt.Errorf("monodis %s: %v", dll, err)
	}
	return allowListFindings(out, exprs), nil
}

func allowListFindings(il []byte, exprs []Expression) Diagnostics {
	var ds Diagnostics
	seen := map[string]bool{}
	report := func(idx int, msg string) {
		if idx < 0 || idx >= len(exprs) {
			return
		}
		e := exprs[idx]
		d := Diagnostic{File: e.File, Line: e.Line, Msg: msg}
		if !seen[d.String()] {
			seen[d.String()] = true
			ds = append(ds, d)
		}
	}
	classIdx, methodIdx := -1, -1
	pendingMethod := false
	sc := bufio.NewScanner(bytes.NewReader(il))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, ".class"):
			classIdx = -1
			if m := classExpr.FindStringSubmatch(trimmed); m != nil {
				classIdx, _ = strconv.Atoi(m[1])
			}
			continue
		case strings.HasPrefix(trimmed, "} // end of class"):
			// Back in the enclosing class (monodis prints nested closure classes last): what
			// follows belongs to no expression until the next .class or .method says so.
			classIdx, methodIdx = -1, -1
			continue
		case strings.HasPrefix(trimmed, ".method"):
			pendingMethod, methodIdx = true, classIdx
			continue
		case pendingMethod:
			if strings.HasPrefix(trimmed, "{") {
				pendingMethod = false
			} else if m := exprIndex.FindStringSubmatch(trimmed); m != nil && strings.Contains(trimmed, "(") {
				methodIdx, _ = strconv.Atoi(m[1])
				pendingMethod = false
			}
			continue
		}
		if methodIdx < 0 {
			continue // generated plumbing (the lookup table), anonymous types
		}
		if !strings.HasPrefix(trimmed, "IL_") && !strings.HasPrefix(trimmed, "class ") && !strings.HasPrefix(trimmed, "valuetype ") {
			continue
		}
		if ilOpcode(trimmed) == "ldstr" {
			// A string operand is data, not a type or member token: "[A-Za-z0-9._~-]." must not
			// read as assembly "A-Za-z0-9._~-" type ".". (A bytearray operand continues on lines
			// of hex, which the prefix test above already skips.)
			continue
		}
		for _, m := range ilTypeRef.FindAllStringSubmatch(trimmed, -1) {
			if msg := checkType(m[1], m[2]); msg != "" {
				report(methodIdx, msg)
			}
		}
		if !strings.HasPrefix(trimmed, "IL_") {
			continue
		}
		instance := strings.Contains(trimmed, " instance ")
		if strings.Contains(trimmed, "System.Security.Cryptography.SymmetricAlgorithm::Create()") {
			report(methodIdx, "SymmetricAlgorithm.Create() without an algorithm name is not allowed in APIM policy expressions (use SymmetricAlgorithm.Create(\"Aes\") or bytes.Encrypt(\"Aes\", key, iv))")
		}
		for _, m := range ilMemberRef.FindAllStringSubmatch(trimmed, -1) {
			asm, owner, member := m[1], m[2], m[4]+m[5]
			switch m[3] {
			case "string":
				owner, asm = "System.String", "[mscorlib]"
			case "object":
				owner, asm = "System.Object", "[mscorlib]"
			}
			if msg := checkMember(strings.Trim(asm, "[]"), owner, member, instance); msg != "" {
				report(methodIdx, msg)
			}
		}
	}
	return ds
}

func baseTypeName(owner string) string {
	if i := strings.Index(owner, "/"); i >= 0 {
		owner = owner[:i] // nested types (List`1/Enumerator) belong to their outer type
	}
	if i := strings.Index(owner, "`"); i >= 0 {
		owner = owner[:i]
	}
	return owner
}

func checkType(asm, owner string) string {
	if asm == "Apim.ObjectModel" {
		return ""
	}
	name := baseTypeName(owner)
	if _, ok := allowedTypes[name]; ok || compilerSupport[name] || inheritedVia[name] || signatureOnly[name] {
		return ""
	}
	return fmt.Sprintf("type %s is not allowed in APIM policy expressions (not on the documented allow-list)", name)
}

func checkMember(asm, owner, member string, instance bool) string {
	if asm == "Apim.ObjectModel" {
		return ""
	}
	name := baseTypeName(owner)
	prop := member
	for _, p := range []string{"get_", "set_", "add_", "remove_"} {
		prop = strings.TrimPrefix(prop, p)
	}
	if member == ".ctor" || member == ".cctor" {
		prop = "ctor"
	}
	if compilerSupport[name] {
		return ""
	}
	if inheritedVia[name] {
		if instance {
			return ""
		}
		return fmt.Sprintf("%s.%s is not allowed in APIM policy expressions (static member of a type that is not on the allow-list)", name, prop)
	}
	members, ok := allowedTypes[name]
	if !ok {
		return fmt.Sprintf("%s.%s is not allowed in APIM policy expressions (type not on the documented allow-list)", name, prop)
	}
	switch {
	case name == "System.Xml.Linq.XDocument" && prop == "Load":
		return "XDocument.Load is not allowed in APIM policy expressions (use XDocument.Parse)"
	}
	if members == nil || members[prop] || (members["op_*"] && strings.HasPrefix(prop, "op_")) {
		return ""
	}
	return fmt.Sprintf("%s.%s is not allowed in APIM policy expressions (the allow-list permits only %s)", name, prop, strings.Join(keys(members), ", "))
}

// ilOpcode returns the opcode of a monodis instruction line ("IL_0009:  ldstr \"x\"" -> "ldstr"),
// or "" for any other line.
func ilOpcode(line string) string {
	label, rest, ok := strings.Cut(line, ":")
	if !ok || !strings.HasPrefix(label, "IL_") {
		return ""
	}
	op, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
	return op
}
