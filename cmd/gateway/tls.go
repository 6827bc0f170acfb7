package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/wsgw/wsgw/config"
)

// certificate is a listener's TLS certificate, read from its files and
// replaced by reload without touching open connections: every handshake
// asks GetCertificate, which reads an atomically swapped pointer, so
// connections already up keep the session they negotiated and new ones get
// the new certificate.
type certificate struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// loadCertificate reads c's files; key names the setting in errors ("tls"
// or "admin.tls"). It returns nil when TLS is off.
func loadCertificate(cfg *config.Config, key string, c config.TLS) (*certificate, error) {
	if c.CertFile == "" {
		return nil, nil
	}
	cert := &certificate{certFile: cfg.Resolve(c.CertFile), keyFile: cfg.Resolve(c.KeyFile)}
	for _, f := range []struct{ name, path string }{{"cert_file", cert.certFile}, {"key_file", cert.keyFile}} {
		if _, err := os.ReadFile(f.path); err != nil {
			return nil, cfg.Errorf(key+"."+f.name, "%v", err)
		}
	}
	if err := cert.reload(); err != nil {
		return nil, cfg.Errorf(key, "%v", err)
	}
	return cert, nil
}

// reload reads the files again; on error the certificate in use stays.
func (c *certificate) reload() error {
	certPEM, err := os.ReadFile(c.certFile)
	if err != nil {
		return fmt.Errorf("cert_file: %w", err)
	}
	keyPEM, err := os.ReadFile(c.keyFile)
	if err != nil {
		return fmt.Errorf("key_file: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("cert_file %s and key_file %s: %w", c.certFile, c.keyFile, err)
	}
	c.cur.Store(&pair)
	return nil
}

// notAfter is when the certificate in use expires.
func (c *certificate) notAfter() time.Time {
	if leaf := c.cur.Load().Leaf; leaf != nil {
		return leaf.NotAfter
	}
	return time.Time{}
}

// serverConfig is the listener's TLS configuration. It offers HTTP/1.1
// only: WebSocket upgrades need it, and the listeners serve nothing that
// would gain from HTTP/2.
func (c *certificate) serverConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.cur.Load(), nil
		},
	}
}
