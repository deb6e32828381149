package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
)

// Key is one value the hook keeps in the azd environment.
type Key struct {
	// Name is the azd environment variable (and, through main.parameters.json, a Bicep parameter).
	Name string
	// Secret keys are never shown; the key id is not secret but is still generated here so that it
	// changes together with the keys it names.
	Secret bool
	// Generate returns a fresh value.
	Generate func() (string, error)
	// Valid says whether an existing value has the expected form.
	Valid *regexp.Regexp
	// Form describes the expected form for error messages.
	Form string
	// PreviousOf names the key this one keeps the previous value of (token keys rotate: the gateway
	// accepts tokens sealed with the previous keys until they expire). Missing, it starts out equal
	// to that key; Rotate moves that key's value here and generates a fresh one.
	PreviousOf string
}

// Keys are the values the gateway's policies and the function need (infra/README.md lists the
// named values and Key Vault secrets they become).
var Keys = []Key{
	{Name: "MCP_TOKEN_ENC_KEY", Secret: true, Generate: randomBase64(32), Valid: base64Of32, Form: "standard base64 of 32 bytes"},
	{Name: "MCP_TOKEN_MAC_KEY", Secret: true, Generate: randomBase64(32), Valid: base64Of32, Form: "standard base64 of 32 bytes"},
	{Name: "MCP_TOKEN_KEY_ID", Generate: randomKeyID, Valid: keyID, Form: "k followed by 8 lower-case hex digits"},
	{Name: "MCP_TOKEN_PREV_ENC_KEY", Secret: true, PreviousOf: "MCP_TOKEN_ENC_KEY", Valid: base64Of32, Form: "standard base64 of 32 bytes"},
	{Name: "MCP_TOKEN_PREV_MAC_KEY", Secret: true, PreviousOf: "MCP_TOKEN_MAC_KEY", Valid: base64Of32, Form: "standard base64 of 32 bytes"},
	{Name: "MCP_TOKEN_PREV_KEY_ID", PreviousOf: "MCP_TOKEN_KEY_ID", Valid: keyID, Form: "k followed by 8 lower-case hex digits"},
	{Name: "CONSENT_COOKIE_KEY", Secret: true, Generate: randomBase64(32), Valid: base64Of32, Form: "standard base64 of 32 bytes"},
	{Name: "FUNCTION_KEY", Secret: true, Generate: randomFunctionKey, Valid: functionKey, Form: "54 URL-safe base64 characters"},
}

var (
	base64Of32  = regexp.MustCompile(`^[A-Za-z0-9+/]{43}=$`)
	keyID       = regexp.MustCompile(`^k[0-9a-f]{8}$`)
	functionKey = regexp.MustCompile(`^[A-Za-z0-9_-]{54}$`)
)

func randomBase64(n int) func() (string, error) {
	return func() (string, error) {
		b := make([]byte, n)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		return base64.StdEncoding.EncodeToString(b), nil
	}
}

func randomKeyID() (string, error) {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "k" + hex.EncodeToString(b), nil
}

// randomFunctionKey is 320 random bits in URL-safe base64: no character needs escaping in the
// x-functions-key header, a query string or a .env file.
func randomFunctionKey() (string, error) {
	b := make([]byte, 40)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Env is the azd environment: read all values, set several at once.
type Env interface {
	Values() (map[string]string, error)
	Set(values map[string]string) error
}

// Ensure generates the keys missing from env and stores them in one write. It returns one line per
// key saying whether it was kept or generated — never a value.
func Ensure(env Env, keys []Key) ([]string, error) {
	current, err := env.Values()
	if err != nil {
		return nil, err
	}
	var report []string
	final := map[string]string{}
	missing := map[string]string{}
	for _, k := range keys {
		if v, ok := current[k.Name]; ok && v != "" {
			if !k.Valid.MatchString(v) {
				// Regenerating would silently invalidate every token, cookie and the function key;
				// the user decides (fix the value, or unset it to get a fresh one).
				return report, fmt.Errorf("%s in the azd environment is not %s (length %d); fix it, or remove it with `azd env set %s \"\"` to generate a new one", k.Name, k.Form, len(v), k.Name)
			}
			report = append(report, "kept "+k.Name)
			final[k.Name] = v
			continue
		}
		var v string
		if k.PreviousOf != "" {
			v = final[k.PreviousOf]
		} else {
			var err error
			if v, err = k.Generate(); err != nil {
				return report, fmt.Errorf("generating %s: %w", k.Name, err)
			}
		}
		missing[k.Name], final[k.Name] = v, v
	}
	if len(missing) == 0 {
		return report, nil
	}
	if err := env.Set(missing); err != nil {
		return report, err
	}
	for _, n := range sortedKeys(missing) {
		report = append(report, "generated "+n)
	}
	return report, nil
}

// Rotate moves the current token keys to the previous slots and generates new ones. Run
// `azd provision` afterwards; rotate again only after the longest MCP access-token lifetime has
// passed, or tokens sealed with the now-dropped previous keys stop working early.
func Rotate(env Env, keys []Key) ([]string, error) {
	current, err := env.Values()
	if err != nil {
		return nil, err
	}
	byName := map[string]Key{}
	for _, k := range keys {
		byName[k.Name] = k
	}
	update := map[string]string{}
	var report []string
	for _, k := range keys {
		if k.PreviousOf == "" {
			continue
		}
		cur := byName[k.PreviousOf]
		v := current[cur.Name]
		if !cur.Valid.MatchString(v) {
			return nil, fmt.Errorf("%s is missing or not %s; run azdkeys without -rotate first", cur.Name, cur.Form)
		}
		fresh, err := cur.Generate()
		if err != nil {
			return nil, fmt.Errorf("generating %s: %w", cur.Name, err)
		}
		update[k.Name], update[cur.Name] = v, fresh
		report = append(report, fmt.Sprintf("rotated %s (the previous value is now %s)", cur.Name, k.Name))
	}
	if err := env.Set(update); err != nil {
		return nil, err
	}
	return report, nil
}

func sortedKeys(m map[string]string) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
