package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsgw/wsgw/config"
)

// load writes yaml as gateway.yaml next to an echo script and loads it.
func load(t *testing.T, yaml string, environ ...string) (*config.Config, string, error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "gateway.yaml")
	for name, text := range map[string]string{"gateway.yaml": yaml, "echo.js": "return 1", "key.pem": "not a key"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Load(path, environ)
	return cfg, path, err
}

const endpoint = `
endpoints:
  - path: /x
    script: echo.js
`

// TestAuthConfigErrors: every mistake in an endpoint's auth fails the load
// with a message naming the file and the key.
func TestAuthConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		auth    string
		environ []string
		key     string
		want    string
	}{
		{"two key kinds", `{jwt: {hs256_secret_env: S, rs256_public_key_file: key.pem}}`, nil,
			"endpoints[0].auth.jwt", "exactly one of hs256_secret_env, rs256_public_key_file, es256_public_key_file (found 2"},
		{"no key", `{token_from: [header]}`, nil, "endpoints[0].auth.jwt", "found 0"},
		{"missing env var", `{jwt: {hs256_secret_env: WSGW_TEST_SECRET}}`, nil,
			"endpoints[0].auth.jwt.hs256_secret_env", "environment variable WSGW_TEST_SECRET is not set or empty"},
		{"empty env var", `{jwt: {hs256_secret_env: S}}`, []string{"S="}, "endpoints[0].auth.jwt.hs256_secret_env", "not set or empty"},
		{"unreadable key file", `{jwt: {es256_public_key_file: missing.pem}}`, nil,
			"endpoints[0].auth.jwt.es256_public_key_file", "missing.pem: no such file"},
		{"unknown source", `{jwt: {hs256_secret_env: S}, token_from: [body]}`, []string{"S=x"},
			"endpoints[0].auth.token_from[0]", `"body": want header, query or cookie`},
		{"source twice", `{jwt: {hs256_secret_env: S}, token_from: [query, query]}`, []string{"S=x"},
			"endpoints[0].auth.token_from[1]", "appears twice"},
		{"cookie without origins", `{jwt: {hs256_secret_env: S}, token_from: [cookie]}`, []string{"S=x"},
			"endpoints[0].auth.token_from", "cross-site WebSocket hijacking"},
		{"unknown key", `{jwt: {hs512_secret_env: S}}`, nil, "endpoints[0].auth.jwt.hs512_secret_env", "unknown key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, path, err := load(t, endpoint+"    auth: "+tc.auth+"\n", tc.environ...)
			if err == nil {
				t.Fatal("loaded")
			}
			msg := err.Error()
			if !strings.Contains(msg, path) || !strings.Contains(msg, tc.key+": ") || !strings.Contains(msg, tc.want) {
				t.Fatalf("error %q does not name %s, key %s and %q", msg, path, tc.key, tc.want)
			}
		})
	}
}

func TestAuthConfigReadsKeys(t *testing.T) {
	cfg, _, err := load(t, endpoint+`    auth: {jwt: {hs256_secret_env: S}}
  - path: /y
    script: echo.js
    allowed_origins: ["https://app.example"]
    auth: {jwt: {rs256_public_key_file: key.pem}, token_from: [cookie, header]}
`, "OTHER=1", "S=the secret")
	if err != nil {
		t.Fatal(err)
	}
	x, y := cfg.Endpoints[0].Auth, cfg.Endpoints[1].Auth
	if x.JWT.Alg != "HS256" || string(x.JWT.Key) != "the secret" {
		t.Errorf("/x auth = %s %q", x.JWT.Alg, x.JWT.Key)
	}
	if y.JWT.Alg != "RS256" || string(y.JWT.Key) != "not a key" || strings.Join(y.TokenFrom, ",") != "cookie,header" {
		t.Errorf("/y auth = %s %q from %v", y.JWT.Alg, y.JWT.Key, y.TokenFrom)
	}
	if cfg.Endpoints[0].Auth.Enabled() == false || (&config.Auth{}).Enabled() {
		t.Error("Enabled is wrong")
	}
}
