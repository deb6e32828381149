package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// AzdEnv talks to the current azd environment through the azd CLI. Bin overrides the executable
// (tests point it at a fake); empty means "azd" on PATH.
type AzdEnv struct {
	Bin string
}

func (a AzdEnv) bin() string {
	if a.Bin != "" {
		return a.Bin
	}
	return "azd"
}

// Values returns every value of the current environment.
func (a AzdEnv) Values() (map[string]string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(a.bin(), "env", "get-values", "--output", "json", "--no-prompt")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("`azd env get-values` failed (%v): %s; select an environment with `azd env select` or create one with `azd env new`", err, strings.TrimSpace(stderr.String()))
	}
	values := map[string]string{}
	if err := json.Unmarshal(stdout.Bytes(), &values); err != nil {
		// Never echo stdout: it holds every value of the environment, secrets included.
		return nil, fmt.Errorf("`azd env get-values --output json` did not print a JSON object of strings (%d bytes); update azd to 1.20.0 or later", stdout.Len())
	}
	return values, nil
}

// Set writes values through a private temporary .env file, so that they never appear on a command line.
func (a AzdEnv) Set(values map[string]string) error {
	dir, err := os.MkdirTemp("", "azdkeys-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "keys.env")

	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		v := values[n]
		if strings.ContainsAny(v, "\"\\\n\r$`'") {
			return fmt.Errorf("%s: generated value has a character that would need .env quoting", n)
		}
		fmt.Fprintf(&b, "%s=\"%s\"\n", n, v)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return err
	}

	var stderr bytes.Buffer
	cmd := exec.Command(a.bin(), "env", "set", "--file", path, "--no-prompt")
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("`azd env set --file` failed (%v): %s; azd 1.20.0 or later is required", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
