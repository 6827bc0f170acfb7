package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// testCA issues certificates for 127.0.0.1, made at run time: no private
// key is ever committed.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "wsgw test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue writes a leaf certificate for 127.0.0.1 with the given serial and
// its key to certFile and keyFile.
func (ca *testCA) issue(t *testing.T, serial int64, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	replaceFile(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	replaceFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
}

// writeFile replaces path in one rename, as a certificate manager would.
func replaceFile(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestTLSAndReloadOnSIGHUP runs the command with TLS on both listeners,
// opens a wss connection, replaces the certificate files and sends the
// process SIGHUP: the open connection keeps working, and new handshakes on
// both listeners see the new certificate. A broken file on a later SIGHUP
// leaves the certificate in use.
func TestTLSAndReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	ca.issue(t, 101, filepath.Join(dir, "pub.crt"), filepath.Join(dir, "pub.key"))
	ca.issue(t, 201, filepath.Join(dir, "adm.crt"), filepath.Join(dir, "adm.key"))
	replaceFile(t, filepath.Join(dir, "echo.js"), []byte(echoJS))
	replaceFile(t, filepath.Join(dir, "uri.js"), []byte(`if (websocketInfo.type === "open") return websocketInfo.uri`))
	replaceFile(t, filepath.Join(dir, "gateway.yaml"), []byte(withAdmin(`admin: {listen: "127.0.0.1:0", tls: {cert_file: adm.crt, key_file: adm.key}}`)+`
  - path: /uri
    script: uri.js
tls: {cert_file: pub.crt, key_file: pub.key}
`))
	logs := &logRecords{changed: make(chan struct{})}
	ctx, stop := context.WithCancel(context.Background())
	exited := make(chan int)
	go func() { exited <- run(ctx, []string{"--config", filepath.Join(dir, "gateway.yaml")}, nil, logs) }()
	defer func() {
		stop()
		if code := <-exited; code != 0 {
			t.Errorf("exit code %d", code)
		}
	}()
	up := logs.wait(t, "wsgw listening")
	pub, adm := up["public"].(string), up["admin"].(string)

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}}}
	dctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	dial := func() (*websocket.Conn, int64) {
		t.Helper()
		c, resp, err := websocket.Dial(dctx, "wss://"+pub+"/echo", &websocket.DialOptions{HTTPClient: client})
		if err != nil {
			t.Fatalf("wss dial: %v", err)
		}
		if _, m, err := c.Read(dctx); err != nil || string(m) != "Welcome" {
			t.Fatalf("greeting %q %v", m, err)
		}
		return c, resp.TLS.PeerCertificates[0].SerialNumber.Int64()
	}
	roundTrip := func(c *websocket.Conn, msg string) {
		t.Helper()
		if err := c.Write(dctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		if _, m, err := c.Read(dctx); err != nil || string(m) != msg {
			t.Fatalf("echo %q %v", m, err)
		}
	}
	adminSerial := func() int64 {
		t.Helper()
		resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}, DisableKeepAlives: true}}).
			Get("https://" + adm + "/api/v1/solution/health")
		if err != nil {
			t.Fatalf("admin over https: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("admin health: %s", resp.Status)
		}
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
	}

	old, serial := dial()
	defer old.CloseNow()
	if serial != 101 || adminSerial() != 201 {
		t.Fatalf("serials %d (admin %d), want 101 and 201", serial, adminSerial())
	}
	roundTrip(old, "before")
	if u, _, err := websocket.Dial(dctx, "wss://"+pub+"/uri?x=1", &websocket.DialOptions{HTTPClient: client}); err != nil {
		t.Fatal(err)
	} else if _, m, err := u.Read(dctx); err != nil || string(m) != "wss://"+pub+"/uri?x=1" {
		t.Fatalf("websocketInfo.uri = %q %v, want the wss:// URI", m, err)
	} else {
		u.CloseNow()
	}
	if resp, err := http.Get("http://" + pub + "/api/v1/solution/health"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("the TLS listener answered plain HTTP with %s", resp.Status)
		}
	}

	ca.issue(t, 102, filepath.Join(dir, "pub.crt"), filepath.Join(dir, "pub.key"))
	ca.issue(t, 202, filepath.Join(dir, "adm.crt"), filepath.Join(dir, "adm.key"))
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLines(t, logs, "TLS certificate reloaded", 2) // public and admin

	roundTrip(old, "after")
	fresh, serial := dial()
	defer fresh.CloseNow()
	if serial != 102 || adminSerial() != 202 {
		t.Fatalf("after SIGHUP: serials %d (admin %d), want 102 and 202", serial, adminSerial())
	}
	roundTrip(fresh, "new")

	replaceFile(t, filepath.Join(dir, "pub.crt"), []byte("not a certificate"))
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if line := logs.wait(t, "TLS certificate reload failed"); !strings.Contains(line["err"].(string), "pub.crt") {
		t.Fatalf("reload failure line %v does not name the file", line)
	}
	if c, serial := dial(); serial != 102 {
		t.Fatalf("after a failed reload the serial is %d, want 102 still", serial)
	} else {
		c.CloseNow()
	}
	roundTrip(old, "still")
}

// withAdmin is baseConfig with its admin line replaced.
func withAdmin(admin string) string {
	return strings.Replace(baseConfig, `admin: {listen: "127.0.0.1:0"}`, admin, 1)
}

// waitLines waits for n lines containing msg.
func waitLines(t *testing.T, logs *logRecords, msg string, n int) {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		logs.mu.Lock()
		count, changed := 0, logs.changed
		for _, l := range logs.lines {
			if m, _ := l["msg"].(string); strings.Contains(m, msg) {
				count++
			}
		}
		logs.mu.Unlock()
		if count >= n {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("%d lines %q within %v, want %d", count, msg, waitFor, n)
		}
	}
}

// TestTLSConfigErrors: TLS files that cannot be used fail the start naming
// the file and the key.
func TestTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	ca.issue(t, 1, filepath.Join(dir, "a.crt"), filepath.Join(dir, "a.key"))
	ca.issue(t, 2, filepath.Join(dir, "b.crt"), filepath.Join(dir, "b.key"))
	replaceFile(t, filepath.Join(dir, "echo.js"), []byte(echoJS))
	tests := []struct{ name, tls, key, want string }{
		{"missing cert", `tls: {cert_file: none.crt, key_file: a.key}`, "tls.cert_file", "none.crt: no such file"},
		{"missing key", `admin: {listen: "127.0.0.1:0", tls: {cert_file: a.crt, key_file: none.key}}`, "admin.tls.key_file", "none.key: no such file"},
		{"admin TLS half set", `admin: {listen: "127.0.0.1:0", tls: {key_file: a.key}}`, "admin.tls", "set both cert_file and key_file"},
		{"key of another certificate", `tls: {cert_file: a.crt, key_file: b.key}`, "tls", "private key does not match public key"},
		{"only one file", `tls: {cert_file: a.crt}`, "tls", "set both cert_file and key_file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "gateway.yaml")
			yaml := baseConfig + tc.tls + "\n"
			if strings.HasPrefix(tc.tls, "admin:") {
				yaml = withAdmin(tc.tls)
			}
			replaceFile(t, path, []byte(yaml))
			var stderr strings.Builder
			code := run(context.Background(), []string{"--config", path}, nil, &stderr)
			if msg := stderr.String(); code == 0 || !strings.Contains(msg, path+": "+tc.key+": ") || !strings.Contains(msg, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %s: %s ... %q", code, msg, path, tc.key, tc.want)
			}
		})
	}
}
