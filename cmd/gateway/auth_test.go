package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
)

// TestAuthKeyErrorsFailStart: a key the configuration can read but the
// verifier cannot use fails the start with the file, the key and why.
func TestAuthKeyErrorsFailStart(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	ecPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	tests := []struct {
		name, auth string
		environ    []string
		key, want  string
	}{
		{"EC key for RS256", `{jwt: {rs256_public_key_file: keys/ec.pem}}`, nil,
			"endpoints[0].auth.jwt.rs256_public_key_file", "keys/ec.pem: the key is an ECDSA P-256 key, not an RSA public key"},
		{"not a key", `{jwt: {es256_public_key_file: echo.js}}`, nil,
			"endpoints[0].auth.jwt.es256_public_key_file", "echo.js: no PEM block"},
		{"short secret", `{jwt: {hs256_secret_env: SECRET}}`, []string{"SECRET=short"},
			"endpoints[0].auth.jwt.hs256_secret_env", "the HS256 secret is 5 bytes; it must be at least 32"},
		{"secret not set", `{jwt: {hs256_secret_env: SECRET}}`, nil,
			"endpoints[0].auth.jwt.hs256_secret_env", "$SECRET is not set or empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_ = os.Mkdir(filepath.Join(dir, "keys"), 0o700)
			files := map[string]string{
				"gateway.yaml": baseConfig + "    auth: " + tc.auth + "\n",
				"echo.js":      echoJS,
				"keys/ec.pem":  ecPEM,
			}
			for name, text := range files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var stderr strings.Builder
			path := filepath.Join(dir, "gateway.yaml")
			code := run(context.Background(), []string{"--config", path}, tc.environ, &stderr)
			msg := stderr.String()
			if code == 0 || !strings.Contains(msg, path+": "+tc.key+": ") || !strings.Contains(msg, tc.want) {
				t.Fatalf("exit %d, stderr %q; want a failure naming %s, %s and %q", code, msg, path, tc.key, tc.want)
			}
		})
	}
}

// TestAuthWiredThrough: an endpoint's auth in the configuration reaches the
// gateway: no token gets 4001, a token signed with the secret from the
// environment gets its claims to the script.
func TestAuthWiredThrough(t *testing.T) {
	secret := "a secret of at least thirty-two bytes"
	srv, _ := startGateway(t, map[string]string{
		"gateway.yaml": baseConfig + "    auth: {jwt: {hs256_secret_env: CHAT_SECRET}, token_from: [query]}\n",
		"echo.js":      `if (websocketInfo.type === "open") return websocketInfo.auth.sub;`,
	}, "CHAT_SECRET="+secret)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+srv.publicAddr+"/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != 4001 {
		t.Fatalf("without a token: %v, want close 4001", err)
	}
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(secret))
	c, resp, err := websocket.Dial(ctx, "ws://"+srv.publicAddr+"/echo?token="+tok, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if _, m, err := c.Read(ctx); err != nil || string(m) != "alice" {
		t.Fatalf("open answered %q, %v; want the token's sub", m, err)
	}
}

// TestWatchRedeploysAuthChanges: with --watch, a change to an endpoint's
// auth alone (here token_from) is deployed, like a change to its script.
func TestWatchRedeploysAuthChanges(t *testing.T) {
	secret := "a secret of at least thirty-two bytes"
	conf := func(from string) string {
		return `listen: "127.0.0.1:0"
admin: {listen: "127.0.0.1:0"}
log: {format: json}
endpoints:
  - {path: /a, script: a.js, auth: {jwt: {hs256_secret_env: S}, token_from: [` + from + `]}}
`
	}
	environ := []string{"S=" + secret}
	srv, logs := startGateway(t, map[string]string{
		"a.js":         `if (websocketInfo.type === "open") return websocketInfo.auth.sub`,
		"gateway.yaml": conf("query"),
	}, environ...)
	watch(t, srv, environ...)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()

	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice"}).SignedString([]byte(secret))
	header := http.Header{"Authorization": {"Bearer " + tok}}
	firstFrame := func() (string, error) {
		t.Helper()
		c, _, err := websocket.Dial(ctx, "ws://"+srv.publicAddr+"/a", &websocket.DialOptions{HTTPHeader: header})
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		_, m, err := c.Read(ctx)
		return string(m), err
	}
	if _, err := firstFrame(); websocket.CloseStatus(err) != 4001 {
		t.Fatalf("a header token with token_from [query]: %v, want close 4001", err)
	}
	replaceFile(t, srv.cfg.File, []byte(conf("header"))) // in one rename: the watcher never sees half a file
	logs.match(t, "the redeploy of /a", func(r map[string]any) bool { return r["msg"] == "deployed" && r["path"] == "/a" })
	if got, err := firstFrame(); err != nil || got != "alice" {
		t.Fatalf("after token_from changed to [header]: %q %v, want the token's sub", got, err)
	}
}
