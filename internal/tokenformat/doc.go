// Package tokenformat is the Go reference implementation of the byte formats the APIM policies
// produce and check: sealed values (AES-256-CBC + HMAC-SHA256, encrypt-then-MAC, with a key id),
// the MCP access token carried inside one, and the HMAC-signed cookies of the consent flow.
//
// The policies are C# 7 expressions limited to APIM's allow-listed types; this package writes the
// same bytes with Go's standard library so that tests can mint, forge and tamper with tokens and
// cookies, and can open what the gateway minted to check its contents. docs/security-model.md is
// the specification both sides follow.
//
//	key, _ := tokenformat.NewKey("k1")
//	tok, _ := tokenformat.SealAccessToken(key, tokenformat.AccessToken{ClientID: "c", Resource: "https://gw/mcp", ...})
//	at, err := tokenformat.OpenAccessToken([]tokenformat.Key{key}, tok, "https://gw/mcp", time.Now())
package tokenformat
