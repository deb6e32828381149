// Package azureerror reads the error envelope that Azure Resource Manager and Microsoft Graph
// answer with, {"error":{"code":"…","message":"…"}}, for command-line tools that must say why a
// call failed without printing what the service echoed back.
//
//	code, msg := azureerror.Parse(body)
//	// code is "" unless it looks like a code (letters, digits, '_' and '.', at most 64),
//	// so it is safe to print; msg is for inspection only: it can quote the request.
package azureerror

import (
	"encoding/json"
	"regexp"
)

var codeRE = regexp.MustCompile(`^[A-Za-z0-9_.]{1,64}$`)

// Parse returns the error code and message of an ARM or Graph error body. The code is "" when
// the body is not such an envelope or the code is not code-shaped; the message is returned as
// sent and must not be printed or logged.
func Parse(body []byte) (code, msg string) {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "", ""
	}
	code = e.Error.Code
	if !codeRE.MatchString(code) {
		code = ""
	}
	return code, e.Error.Message
}
