package azureerror

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		name, body, code, msg string
	}{
		{"arm", `{"error":{"code":"AuthorizationFailed","message":"The client 'x' does not have authorization"}}`,
			"AuthorizationFailed", "The client 'x' does not have authorization"},
		{"graph with inner error", `{"error":{"code":"Request_ResourceNotFound","message":"Resource 'abc' does not exist.","innerError":{"date":"2026-01-01T00:00:00"}}}`,
			"Request_ResourceNotFound", "Resource 'abc' does not exist."},
		{"dotted code", `{"error":{"code":"Authorization_RequestDenied.Sub","message":""}}`, "Authorization_RequestDenied.Sub", ""},
		// A code that is not code-shaped could carry anything the service echoed: never returned.
		{"code with spaces", `{"error":{"code":"secret value here","message":"m"}}`, "", "m"},
		{"code with markup", `{"error":{"code":"<b>x</b>","message":"m"}}`, "", "m"},
		{"code too long", `{"error":{"code":"` + strings.Repeat("A", 65) + `","message":"m"}}`, "", "m"},
		{"empty code", `{"error":{"code":"","message":"m"}}`, "", "m"},
		{"no envelope", `{"value":[]}`, "", ""},
		{"error not an object", `{"error":"invalid_grant"}`, "", ""},
		{"not json", `<html>Bad gateway</html>`, "", ""},
		{"empty body", ``, "", ""},
	} {
		code, msg := Parse([]byte(c.body))
		if code != c.code || msg != c.msg {
			t.Errorf("%s: Parse = %q, %q; want %q, %q", c.name, code, msg, c.code, c.msg)
		}
	}
}
