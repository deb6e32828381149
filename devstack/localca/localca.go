// Package localca is a throw-away certificate authority for the local stand-ins.
//
// MSAL and azidentity refuse plain-http authorities, and Node clients (the MCP
// Inspector, Playwright) need a trust anchor they can load from a file, so every
// HTTPS stand-in in devstack serves a leaf certificate issued by one CA:
//
//	ca, _ := localca.New()                       // or LoadOrCreate(".devstack") for `make dev`
//	tlsCfg, _ := ca.ServerTLSConfig()            // leaf for 127.0.0.1, localhost, [::1]
//	srv := httptest.NewUnstartedServer(h)
//	srv.TLS = tlsCfg
//	srv.StartTLS()
//	resp, _ := ca.HTTPClient().Get(srv.URL)      // trusts this CA and nothing else
//	_ = ca.WriteCertFile("ca.pem")                // SSL_CERT_FILE / NODE_EXTRA_CA_CERTS
//
// The root key is ECDSA P-256 and valid for about a year; leaves are valid for
// as long as the root. The CA never leaves the machine: it is a test fixture, not
// a PKI.
package localca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// CA is a root certificate and its key. It is safe for concurrent use.
type CA struct {
	cert    *x509.Certificate
	certPEM []byte
	key     *ecdsa.PrivateKey
	pool    *x509.CertPool
}

// rootLifetime is long enough for a developer's `make dev` state to survive
// months, short enough that a leaked dev root dies on its own.
const rootLifetime = 365 * 24 * time.Hour

// New creates a fresh root CA in memory.
func New() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("localca: generate root key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "graphmcp devstack local CA", Organization: []string{"graphmcp devstack"}},
		NotBefore:             now.Add(-time.Hour), // tolerate small clock differences between processes
		NotAfter:              now.Add(rootLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("localca: self-sign root: %w", err)
	}
	return fromDER(der, key)
}

// LoadOrCreate reuses ca.pem and ca-key.pem in dir when both exist and the root
// is still valid for at least a week; otherwise it creates a new root and writes
// both files (the key with mode 0600). Clients that trusted the old file keep
// working across `make dev` restarts.
func LoadOrCreate(dir string) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")
	if ca, err := load(certPath, keyPath); err == nil && time.Until(ca.cert.NotAfter) > 7*24*time.Hour {
		return ca, nil
	}
	ca, err := New()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("localca: create %s: %w", dir, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(ca.key)
	if err != nil {
		return nil, fmt.Errorf("localca: encode key: %w", err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, fmt.Errorf("localca: write %s: %w", keyPath, err)
	}
	if err := ca.WriteCertFile(certPath); err != nil {
		return nil, err
	}
	return ca, nil
}

func load(certPath, keyPath string) (*CA, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, errors.New("localca: not PEM")
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, err
	}
	ca, err := fromDER(cb.Bytes, key)
	if err != nil {
		return nil, err
	}
	if !ca.cert.IsCA || !key.PublicKey.Equal(ca.cert.PublicKey) {
		return nil, errors.New("localca: key does not match certificate")
	}
	return ca, nil
}

func fromDER(der []byte, key *ecdsa.PrivateKey) (*CA, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("localca: parse root: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{
		cert:    cert,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key:     key,
		pool:    pool,
	}, nil
}

// CertPEM returns the root certificate in PEM form.
func (c *CA) CertPEM() []byte { return append([]byte(nil), c.certPEM...) }

// Pool returns a new pool holding only the root.
func (c *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.cert)
	return p
}

// ServerTLSConfig issues a leaf for 127.0.0.1, ::1, localhost and the extra
// hosts (IP literals or DNS names) and returns a server config serving it.
func (c *CA) ServerTLSConfig(hosts ...string) (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("localca: generate leaf key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: "graphmcp devstack server"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     c.cert.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		return nil, fmt.Errorf("localca: issue leaf: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der, c.cert.Raw}, PrivateKey: key}},
		NextProtos:   []string{"h2", "http/1.1"},
	}, nil
}

// HTTPClient returns a client with its own keep-alive transport that trusts
// only this CA (not the system roots), so a test cannot reach a real service by
// accident.
func (c *CA) HTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: c.Pool(), MinVersion: tls.VersionTLS12}
	tr.MaxIdleConnsPerHost = 64
	tr.Proxy = nil // loopback only; an HTTPS_PROXY in the environment must not intercept
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// WriteCertFile writes the root certificate (PEM) to path, mode 0644, for
// SSL_CERT_FILE or NODE_EXTRA_CA_CERTS.
func (c *CA) WriteCertFile(path string) error {
	if err := os.WriteFile(path, c.certPEM, 0o644); err != nil {
		return fmt.Errorf("localca: write %s: %w", path, err)
	}
	return nil
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return n
}
