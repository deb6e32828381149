// Package soak drives the whole local gateway — the real policy files on the APIM emulator, the
// real handler binary behind the Functions-host stand-in, the Entra ID, managed-identity and
// Graph stand-ins, and a state store (the bbolt file, or Cosmos DB's emulator behind the fault
// proxy) — with many simulated OAuth MCP clients at once while faults are injected, and then
// checks what must hold whatever happened:
//
//   - every answer is a documented success or a documented OAuth/MCP error (status and error
//     code, as the policies spell them out), or a bare 5xx while the handler was down;
//   - no registration is lost, no authorization code is redeemed twice, no refresh token is
//     accepted after its rotation, and every refresh family agrees with the store's record;
//   - a refresh token answered 503 temporarily_unavailable because Entra ID failed is accepted
//     when the client presents it again (it is never refused: the client keeps its sign-in);
//   - after the faults every client gets a tool call through without registering again;
//   - the handler's goroutines and memory return to their baseline;
//   - no token, code, cookie, key or secret appears in any log line of any process.
//
// The clients are complete OAuth clients (dynamic registration, or for every eighth a Client
// ID Metadata Document (cimd.go); PKCE S256; the consent page with its CSRF cookie and token;
// the Entra sign-in page; code exchange; refresh rotation) and call tools with the go-sdk MCP
// client. The fault schedule (faults.go) crashes the handler and
// takes the managed-identity endpoint down, makes Entra's token endpoint fail and hang, throttles
// and fails Graph, and throttles, fails, slows and drops Cosmos DB answers (or restarts the state
// service over the bbolt file). The soak fails on a broken invariant, never on a timing.
//
//	rep := soak.Run(t, soak.Config{Store: soak.StoreCosmos, Duration: time.Minute})
//	t.Log(rep) // the per-phase table and the invariants with their numbers
//	if len(rep.Violations) > 0 { t.Fatal(rep.Violations) }
//
// `make soak` runs it for SOAK_DURATION (default 60s); `make test` runs a 10-second version.
package soak
