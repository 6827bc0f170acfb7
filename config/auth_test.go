package config_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
			"endpoints[0].auth.jwt", "exactly one of hs256_secret_env, rs256_public_key_file, es256_public_key_file, jwks_url (found 2"},
		{"no key", `{token_from: [header]}`, nil, "endpoints[0].auth.jwt", "set one of jwt.hs256_secret_env"},
		{"secret env not a name", `{jwt: {hs256_secret_env: "$S"}}`, nil,
			"endpoints[0].auth.jwt.hs256_secret_env", `"$S" is not an environment variable name`},
		{"unreadable key file", `{jwt: {es256_public_key_file: missing.pem}}`, nil,
			"endpoints[0].auth.jwt.es256_public_key_file", "missing.pem: no such file"},
		{"unknown source", `{jwt: {hs256_secret_env: S}, token_from: [body]}`, []string{"S=x"},
			"endpoints[0].auth.token_from[0]", `"body": want header, query or cookie`},
		{"source twice", `{jwt: {hs256_secret_env: S}, token_from: [query, query]}`, []string{"S=x"},
			"endpoints[0].auth.token_from[1]", "appears twice"},
		{"cookie without origins", `{jwt: {hs256_secret_env: S}, token_from: [cookie]}`, []string{"S=x"},
			"endpoints[0].auth.token_from", "cross-site WebSocket hijacking"},
		{"unknown key", `{jwt: {hs512_secret_env: S}}`, nil, "endpoints[0].auth.jwt.hs512_secret_env", "unknown key"},
		{"jwks_url not a URL", `{jwt: {jwks_url: idp/jwks}}`, nil, "endpoints[0].auth.jwt.jwks_url", `"idp/jwks" is not an http:// or https:// URL`},
		{"negative leeway", `{jwt: {jwks_url: "https://idp/jwks", leeway: -1s}}`, nil, "endpoints[0].auth.jwt.leeway", "-1s is negative"},
		{"leeway without a unit", `{jwt: {jwks_url: "https://idp/jwks", leeway: 30}}`, nil, "endpoints[0].auth.jwt.leeway", "not a duration"},
		{"jwt and introspect", `{jwt: {jwks_url: "https://idp/jwks"}, introspect: {url: "https://idp/introspect"}}`, nil,
			"endpoints[0].auth.introspect", "set either jwt or introspect, not both"},
		{"introspect without url", `{introspect: {timeout: 1s}}`, nil, "endpoints[0].auth.introspect.url", "is required"},
		{"cookie name", `{introspect: {url: "https://idp/i"}, cookie_name: "a b"}`, nil, "endpoints[0].auth.cookie_name", "not a cookie name"},
		{"query param", `{introspect: {url: "https://idp/i"}, query_param: "a&b"}`, nil, "endpoints[0].auth.query_param", "not a plain parameter name"},
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

// TestEndpointOptionErrors: the options besides auth fail the load the
// same way, with the key under the endpoint.
func TestEndpointOptionErrors(t *testing.T) {
	for _, tc := range []struct{ name, opts, key, want string }{
		{"origin", `allowed_origins: ["a)(b"]`, "endpoints[0].allowed_origins[0]", `"a)(b"`},
		{"subprotocol", `subprotocols: ["v12.stomp", "a b"]`, "endpoints[0].subprotocols[1]", `"a b" is not a subprotocol name`},
		{"subprotocol twice", `subprotocols: [x, x]`, "endpoints[0].subprotocols[1]", "appears twice"},
		{"protocol", `protocol: mqtt`, "endpoints[0].protocol", `"mqtt": want "stomp"`},
		{"stomp without the protocol", `stomp: {heartbeat: "10s,10s"}`, "endpoints[0].stomp", "set protocol: stomp"},
		{"heartbeat", "protocol: stomp\n    stomp: {heartbeat: \"10s\"}", "endpoints[0].stomp.heartbeat", "is not two durations"},
		{"stomp key", "protocol: stomp\n    stomp: {heart_beat: 1s}", "endpoints[0].stomp.heart_beat", "unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, path, err := load(t, endpoint+"    "+tc.opts+"\n")
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.key+": ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v does not name %s, key %s and %q", err, path, tc.key, tc.want)
			}
		})
	}
}

func TestAuthConfigReadsKeys(t *testing.T) {
	cfg, _, err := load(t, endpoint+`    auth: {jwt: {hs256_secret_env: S, issuer: "https://idp/", leeway: 30s}, user_claim: email}
  - path: /y
    script: echo.js
    allowed_origins: ["https://app.example"]
    auth: {jwt: {rs256_public_key_file: key.pem}, token_from: [cookie, header], cookie_name: SESSION}
  - path: /z
    script: echo.js
    subprotocols: [v12.stomp]
    protocol: stomp
    stomp: {heartbeat: "10s,5s"}
    auth: {introspect: {url: "https://idp/introspect", timeout: 1s, cache_ttl: 1m, client_secret_env: IS}, query_param: access_token}
`, "OTHER=1", "S=the secret")
	if err != nil {
		t.Fatal(err)
	}
	x, y, z := cfg.Endpoints[0], cfg.Endpoints[1], cfg.Endpoints[2]
	if x.Auth.JWT.HS256SecretEnv != "S" || x.Auth.JWT.Issuer != "https://idp/" || x.Auth.JWT.Leeway != 30*time.Second || x.Auth.UserClaim != "email" {
		t.Errorf("/x auth = %+v", x.Auth)
	}
	if y.Auth.JWT.RS256PublicKey != "not a key" || fmt.Sprint(y.Auth.TokenFrom) != "[cookie header]" || y.Auth.CookieName != "SESSION" {
		t.Errorf("/y auth = %+v", y.Auth)
	}
	in := z.Auth.Introspect
	if in.URL != "https://idp/introspect" || in.Timeout != time.Second || in.CacheTTL != time.Minute || in.ClientSecretEnv != "IS" ||
		z.Auth.QueryParam != "access_token" || *z.Protocol != "stomp" || z.STOMP.Heartbeat != "10s,5s" || z.Subprotocols[0] != "v12.stomp" {
		t.Errorf("/z = %+v, auth %+v", z.Options, z.Auth)
	}
	if v, ok := cfg.LookupEnv("S"); !ok || v != "the secret" {
		t.Errorf("LookupEnv(S) = %q, %v", v, ok)
	}
	// The deployment carries the key's text, never the file's name nor a secret.
	data, _ := json.Marshal(y.Options)
	if !strings.Contains(string(data), `"rs256_public_key":"not a key"`) || strings.Contains(string(data), "key.pem") {
		t.Errorf("/y options as JSON: %s", data)
	}
}
