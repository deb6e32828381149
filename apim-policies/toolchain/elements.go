package toolchain

// The element table below is written from the APIM policy reference (learn.microsoft.com,
// "API Management policy reference" and each policy's page). It lists the policies this project
// uses and the emulator implements; anything else is reported as unknown so a typo can never
// become a silently ignored element. To use a new policy, describe it here from its reference
// page and implement it in the emulator (emulator/Policies*.cs) with a fixture test.

type attrKind int

const (
	kindString attrKind = iota
	kindBool            // literal true/false, or an expression returning bool
	kindInt             // literal integer, or an expression
	kindEnum            // one of Enum, or an expression when Expr
)

type attrSpec struct {
	Required bool
	Kind     attrKind
	Enum     []string
	NoExpr   bool // the reference says policy expressions are not allowed here
}

type textMode int

const (
	textNone  textMode = iota
	textValue          // literal or a whole expression
)

type elemSpec struct {
	Attrs map[string]attrSpec
	// Children are the allowed child elements (by name). statements means "policy statements".
	Children   []string
	Statements bool
	Text       textMode
	// OneOf lists attributes of which at least one must be present.
	OneOf []string
	// Sections limits where the policy may appear (nil = any section).
	Sections []string
	// RequiredChildren must each appear at least once.
	RequiredChildren []string
	// Ordered: children must follow the order of Children, as the reference's policy statement
	// (and APIM's schema) lays them out.
	Ordered bool
}

var (
	optStr  = attrSpec{}
	reqStr  = attrSpec{Required: true}
	optBool = attrSpec{Kind: kindBool}
	optInt  = attrSpec{Kind: kindInt}
	reqInt  = attrSpec{Required: true, Kind: kindInt}
	literal = attrSpec{NoExpr: true}

	existsAction = attrSpec{Kind: kindEnum, Enum: []string{"override", "skip", "append", "delete"}}
	cachingType  = attrSpec{Kind: kindEnum, Enum: []string{"internal", "external", "prefer-external"}, NoExpr: true}
)

// policies are the elements allowed as policy statements (children of a section, when, otherwise, fragment).
var policies = map[string]elemSpec{
	"base":         {},
	"choose":       {Children: []string{"when", "otherwise"}, RequiredChildren: []string{"when"}},
	"set-variable": {Attrs: map[string]attrSpec{"name": {Required: true, NoExpr: true}, "value": reqStr}},
	"set-header": {Attrs: map[string]attrSpec{"name": reqStr, "exists-action": existsAction},
		Children: []string{"value"}},
	"set-query-parameter": {Attrs: map[string]attrSpec{"name": reqStr, "exists-action": existsAction},
		Children: []string{"value"}},
	"set-body": {Attrs: map[string]attrSpec{
		"template":   {Kind: kindEnum, Enum: []string{"none"}, NoExpr: true}, // liquid templates are not supported by the emulator
		"xsi-nil":    {Kind: kindEnum, Enum: []string{"blank", "null"}, NoExpr: true},
		"parse-date": {Kind: kindBool, NoExpr: true},
	}, Text: textValue},
	"set-status": {Attrs: map[string]attrSpec{"code": reqInt, "reason": optStr}},
	"set-method": {Text: textValue},
	"return-response": {Attrs: map[string]attrSpec{"response-variable-name": literal},
		Children: []string{"set-status", "set-header", "set-body"}, Ordered: true},
	"rewrite-uri": {Attrs: map[string]attrSpec{"template": reqStr, "copy-unmatched-params": optBool},
		Sections: []string{"inbound"}},
	"set-backend-service": {Attrs: map[string]attrSpec{"base-url": optStr, "backend-id": optStr},
		OneOf: []string{"base-url", "backend-id"}, Sections: []string{"inbound", "backend"}},
	"forward-request": {Attrs: map[string]attrSpec{
		"timeout": optInt, "timeout-ms": optInt, "continue-timeout": optInt,
		"http-version":              {Kind: kindEnum, Enum: []string{"1", "2or1", "2"}, NoExpr: true},
		"follow-redirects":          optBool,
		"buffer-request-body":       {Kind: kindBool, NoExpr: true},
		"buffer-response":           {Kind: kindBool, NoExpr: true},
		"fail-on-error-status-code": {Kind: kindBool, NoExpr: true},
	}, Sections: []string{"backend"}},
	"send-request": {Attrs: map[string]attrSpec{
		"mode":                      {Kind: kindEnum, Enum: []string{"new", "copy"}},
		"response-variable-name":    {Required: true, NoExpr: true},
		"timeout":                   optInt,
		"timeout-ms":                optInt,
		"ignore-error":              {Kind: kindBool, NoExpr: true},
		"buffer-response":           {Kind: kindBool, NoExpr: true},
		"fail-on-error-status-code": {Kind: kindBool, NoExpr: true},
	}, Children: []string{"set-url", "set-method", "set-header", "set-body", "authentication-managed-identity"}, Ordered: true},
	"authentication-managed-identity": {Attrs: map[string]attrSpec{
		"resource": reqStr, "client-id": optStr,
		"output-token-variable-name": literal, "ignore-error": {Kind: kindBool, NoExpr: true},
	}, Sections: []string{"inbound"}},
	"cache-lookup-value": {Attrs: map[string]attrSpec{"key": reqStr, "variable-name": {Required: true, NoExpr: true},
		"default-value": optStr, "caching-type": cachingType}},
	"cache-store-value": {Attrs: map[string]attrSpec{"key": reqStr, "value": reqStr, "duration": reqInt,
		"caching-type": cachingType}},
	"cache-remove-value": {Attrs: map[string]attrSpec{"key": reqStr, "caching-type": cachingType}},
	"rate-limit-by-key": {Attrs: map[string]attrSpec{
		"calls": reqInt, "renewal-period": reqInt, "counter-key": reqStr,
		"increment-condition": optBool, "increment-count": optInt,
		"increment-after-response": {Kind: kindBool, NoExpr: true},
		"retry-after-header-name":  literal, "retry-after-variable-name": literal,
		"remaining-calls-header-name": literal, "remaining-calls-variable-name": literal,
		"total-calls-header-name": literal,
	}, Sections: []string{"inbound"}},
	"cors": {Attrs: map[string]attrSpec{"allow-credentials": optBool, "terminate-unmatched-request": optBool},
		Children:         []string{"allowed-origins", "allowed-methods", "allowed-headers", "expose-headers"},
		RequiredChildren: []string{"allowed-origins"}, Sections: []string{"inbound"}},
	"check-header": {Attrs: map[string]attrSpec{"name": reqStr, "failed-check-httpcode": reqInt,
		"failed-check-error-message": reqStr, "ignore-case": {Required: true, Kind: kindBool}},
		Children: []string{"value"}, Sections: []string{"inbound"}},
	"include-fragment": {Attrs: map[string]attrSpec{"fragment-id": {Required: true, NoExpr: true}}},
	"retry": {Attrs: map[string]attrSpec{"condition": {Required: true, Kind: kindBool}, "count": reqInt, "interval": reqInt,
		"max-interval": optInt, "delta": optInt, "first-fast-retry": optBool}, Statements: true},
	"limit-concurrency": {Attrs: map[string]attrSpec{"key": reqStr, "max-count": {Required: true, Kind: kindInt, NoExpr: true}}, Statements: true},
	"quota-by-key": {Attrs: map[string]attrSpec{"calls": reqInt, "renewal-period": optInt, "counter-key": reqStr,
		"increment-condition": optBool, "increment-count": optInt, "first-period-start": literal}, Sections: []string{"inbound"}},
	"send-one-way-request": {Attrs: map[string]attrSpec{
		"mode":    {Kind: kindEnum, Enum: []string{"new", "copy"}},
		"timeout": optInt,
	}, Children: []string{"set-url", "set-method", "set-header", "set-body", "authentication-managed-identity"}, Ordered: true},
	"trace": {Attrs: map[string]attrSpec{"source": {Required: true, NoExpr: true},
		"severity": {Kind: kindEnum, Enum: []string{"verbose", "information", "error"}, NoExpr: true}},
		Children: []string{"message", "metadata"}, RequiredChildren: []string{"message"}},
	"emit-metric": {Attrs: map[string]attrSpec{"name": {Required: true, NoExpr: true}, "namespace": literal, "value": optStr,
		"default-dimensions": {Kind: kindBool, NoExpr: true}},
		Children: []string{"dimension"}},
	"log-to-eventhub": {Attrs: map[string]attrSpec{"logger-id": {Required: true, NoExpr: true}, "partition-id": optStr, "partition-key": optStr},
		Text: textValue},
}

// parts are the child elements that are not policies themselves, keyed by "parent/child".
var parts = map[string]elemSpec{
	"choose/when":                  {Attrs: map[string]attrSpec{"condition": {Required: true, Kind: kindBool}}, Statements: true},
	"choose/otherwise":             {Statements: true},
	"set-header/value":             {Text: textValue},
	"set-query-parameter/value":    {Text: textValue},
	"check-header/value":           {Text: textValue},
	"send-request/set-url":         {Text: textValue},
	"send-one-way-request/set-url": {Text: textValue},
	"cors/allowed-origins":         {Children: []string{"origin"}, RequiredChildren: []string{"origin"}},
	"allowed-origins/origin":       {Text: textValue},
	"cors/allowed-methods":         {Attrs: map[string]attrSpec{"preflight-result-max-age": optInt}, Children: []string{"method"}},
	"allowed-methods/method":       {Text: textValue},
	"cors/allowed-headers":         {Children: []string{"header"}, RequiredChildren: []string{"header"}},
	"allowed-headers/header":       {Text: textValue},
	"cors/expose-headers":          {Children: []string{"header"}},
	"expose-headers/header":        {Text: textValue},
	"trace/message":                {Text: textValue},
	"trace/metadata":               {Attrs: map[string]attrSpec{"name": reqStr, "value": reqStr}},
	"emit-metric/dimension":        {Attrs: map[string]attrSpec{"name": reqStr, "value": optStr}},
}

// onErrorPolicies are the statements the error-handling reference allows in on-error
// (plus base and include-fragment, which only compose other statements).
var onErrorPolicies = map[string]bool{
	"base": true, "include-fragment": true, "choose": true, "set-variable": true, "return-response": true,
	"set-header": true, "set-method": true, "set-status": true, "send-request": true,
	"log-to-eventhub": true, "trace": true, "emit-metric": true,
	"send-one-way-request": true, "retry": true, "limit-concurrency": true,
}

// KnownPolicies lists the policy elements the checker and the emulator accept.
func KnownPolicies() []string {
	out := make([]string, 0, len(policies))
	for k := range policies {
		out = append(out, k)
	}
	return out
}
