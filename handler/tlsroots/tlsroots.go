// Package tlsroots starts loading the system's root certificates as the process starts, for
// its side effect only:
//
//	import _ "example.com/graphmcp/handler/tlsroots"
//
// Why: the first TLS handshake (the JWKS fetch from Entra ID) needs the roots, and Go parses
// them on first use, about 25 ms for a Debian bundle plus /etc/ssl/certs, longer than the
// rest of the start. Package initialisation runs in import-path order as dependencies allow, so
// this package (few dependencies, an early path) starts the parse before the SDKs' packages
// initialise, and the roots are usually ready when the handler first dials. x509 caches the
// pool; later callers share it.
package tlsroots

import "crypto/x509"

func init() { go func() { _, _ = x509.SystemCertPool() }() }
