package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsgw/wsgw"
)

// TestDeployOptionsRefusedAsInTheFile: every option a deploy body can give
// is refused with the message the YAML file gets for the same mistake,
// naming the same key under the endpoint: one validation for both.
func TestDeployOptionsRefusedAsInTheFile(t *testing.T) {
	srv, _ := startGateway(t, map[string]string{"gateway.yaml": baseConfig, "echo.js": echoJS})
	tests := []struct {
		name, yaml, json, key string
	}{
		{"origin", `allowed_origins: ["a)(b"]`, `"allowed_origins": ["a)(b"]`, "allowed_origins[0]"},
		{"two keys", `auth: {jwt: {hs256_secret_env: S, jwks_url: "https://idp/jwks"}}`,
			`"auth": {"jwt": {"hs256_secret_env": "S", "jwks_url": "https://idp/jwks"}}`, "auth.jwt"},
		{"no key", `auth: {token_from: [query]}`, `"auth": {"token_from": ["query"]}`, "auth.jwt"},
		{"jwks_url", `auth: {jwt: {jwks_url: "idp/jwks"}}`, `"auth": {"jwt": {"jwks_url": "idp/jwks"}}`, "auth.jwt.jwks_url"},
		{"leeway", `auth: {jwt: {jwks_url: "https://idp/jwks", leeway: -1s}}`,
			`"auth": {"jwt": {"jwks_url": "https://idp/jwks", "leeway": "-1s"}}`, "auth.jwt.leeway"},
		{"introspect url", `auth: {introspect: {timeout: 1s}}`, `"auth": {"introspect": {"timeout": "1s"}}`, "auth.introspect.url"},
		{"client secret env", `auth: {introspect: {url: "https://idp/i", client_secret_env: "1X"}}`,
			`"auth": {"introspect": {"url": "https://idp/i", "client_secret_env": "1X"}}`, "auth.introspect.client_secret_env"},
		{"cookie without origins", `auth: {jwt: {jwks_url: "https://idp/jwks"}, token_from: [cookie]}`,
			`"auth": {"jwt": {"jwks_url": "https://idp/jwks"}, "token_from": ["cookie"]}`, "auth.token_from"},
		{"cookie name", `auth: {jwt: {jwks_url: "https://idp/jwks"}, cookie_name: "a b"}`,
			`"auth": {"jwt": {"jwks_url": "https://idp/jwks"}, "cookie_name": "a b"}`, "auth.cookie_name"},
		{"query param", `auth: {jwt: {jwks_url: "https://idp/jwks"}, query_param: "a&b"}`,
			`"auth": {"jwt": {"jwks_url": "https://idp/jwks"}, "query_param": "a&b"}`, "auth.query_param"},
		{"secret not set", `auth: {jwt: {hs256_secret_env: WSGW_TEST_NOT_SET}}`,
			`"auth": {"jwt": {"hs256_secret_env": "WSGW_TEST_NOT_SET"}}`, "auth.jwt.hs256_secret_env"},
		{"subprotocol", `subprotocols: ["a b"]`, `"subprotocols": ["a b"]`, "subprotocols[0]"},
		{"protocol", `protocol: mqtt`, `"protocol": "mqtt"`, "protocol"},
		{"stomp without protocol", `stomp: {heartbeat: "1s,1s"}`, `"stomp": {"heartbeat": "1s,1s"}`, "stomp"},
		{"heartbeat", "protocol: stomp\n    stomp: {heartbeat: 10s}", `"protocol": "stomp", "stomp": {"heartbeat": "10s"}`, "stomp.heartbeat"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "gateway.yaml")
			for name, text := range map[string]string{"gateway.yaml": baseConfig + "    " + tc.yaml + "\n", "echo.js": echoJS} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cfg, err := loadConfig(cliFlags{config: path}, nil)
			if err == nil {
				err = checkConfig(cfg)
			}
			prefix := path + ": endpoints[0]." + tc.key + ": "
			if err == nil || !strings.HasPrefix(err.Error(), prefix) {
				t.Fatalf("the file: %v; want an error starting %q", err, prefix)
			}
			fromFile := strings.TrimPrefix(err.Error(), path+": endpoints[0].")

			status, body := adminCall(t, srv, "PUT", "/api/v1/endpoints/"+url.PathEscape("/echo"), `{"script": "return 1", `+tc.json+`}`)
			var e struct{ Error string }
			_ = json.Unmarshal([]byte(body), &e)
			if status != 400 || e.Error != fromFile {
				t.Fatalf("the deploy: %d %s; want 400 with the file's message %q", status, body, fromFile)
			}
		})
	}
	if _, body := adminCall(t, srv, "GET", "/api/v1/endpoints/"+url.PathEscape("/echo"), ""); strings.Contains(body, `"auth"`) {
		t.Fatalf("after refused deploys /echo is %s; want it without auth", body)
	}
}

// TestDeployCarriesEveryOption: a deploy gives every endpoint option; GET
// shows them as given, a secret by its variable's name only; a script-only
// deploy keeps them; one that gives an option replaces it; and a key file
// of the configuration is in the deployment as its PEM text.
func TestDeployCarriesEveryOption(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	ecPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	secret := "the value of the secret, 32 bytes or more"
	srv, _ := startGateway(t, map[string]string{
		"gateway.yaml": baseConfig + "  - {path: /es, script: echo.js, auth: {jwt: {es256_public_key_file: es.pem}}}\n",
		"echo.js":      echoJS,
		"es.pem":       ecPEM,
	}, "INTROSPECT_SECRET="+secret, "CHAT_SECRET="+secret)
	get := func(path string) wsgw.Deployment {
		t.Helper()
		status, body := adminCall(t, srv, "GET", "/api/v1/endpoints/"+url.PathEscape(path), "")
		if status != 200 || strings.Contains(body, secret) {
			t.Fatalf("GET %s: %d %s", path, status, body)
		}
		var d wsgw.Deployment
		if err := json.Unmarshal([]byte(body), &d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := get("/es"); d.Auth == nil || d.Auth.JWT.ES256PublicKey != ecPEM || d.Auth.JWT.ES256PublicKeyFile != "" {
		t.Fatalf("/es from the file: %+v; want the key's PEM text", d.Auth)
	}

	put := func(body string) (int, string) {
		t.Helper()
		return adminCall(t, srv, "PUT", "/api/v1/endpoints/"+url.PathEscape("/s"), body)
	}
	status, body := put(`{"script": "return 1",
	  "allowed_origins": ["^https://app\\.example$"],
	  "auth": {"introspect": {"url": "http://127.0.0.1:1/introspect", "timeout": "1500ms", "cache_ttl": "1m", "client_secret_env": "INTROSPECT_SECRET"},
	           "token_from": ["query", "cookie"], "query_param": "access_token", "cookie_name": "SESSION", "user_claim": "username"},
	  "subprotocols": ["v12.stomp", "v11.stomp"], "protocol": "stomp", "stomp": {"heartbeat": "10s,5s"}}`)
	if status != 201 || strings.Contains(body, secret) {
		t.Fatalf("create: %d %s", status, body)
	}
	want := `"allowed_origins":["^https://app\\.example$"],"auth":{"token_from":["query","cookie"],"cookie_name":"SESSION","query_param":"access_token",` +
		`"user_claim":"username","introspect":{"url":"http://127.0.0.1:1/introspect","client_secret_env":"INTROSPECT_SECRET","timeout":"1.5s","cache_ttl":"1m0s"}},` +
		`"subprotocols":["v12.stomp","v11.stomp"],"protocol":"stomp","stomp":{"heartbeat":"10s,5s"}`
	if !strings.Contains(body, want) {
		t.Fatalf("create answered %s; want the options %s", body, want)
	}
	if _, list := adminCall(t, srv, "GET", "/api/v1/endpoints", ""); !strings.Contains(list, want) {
		t.Fatalf("the listing %s lacks the options", list)
	}

	if status, body := put(`{"script": "return 2"}`); status != 200 || !strings.Contains(body, want) {
		t.Fatalf("script-only deploy: %d %s; want the options kept", status, body)
	}
	if d := get("/s"); d.Script != "return 2" {
		t.Fatalf("script after the script-only deploy: %q", d.Script)
	}
	status, body = put(`{"script": "return 3", "auth": {"jwt": {"hs256_secret_env": "CHAT_SECRET"}}, "protocol": "", "stomp": {}}`)
	if status != 200 || strings.Contains(body, "introspect") || strings.Contains(body, `"protocol"`) || strings.Contains(body, `"stomp"`) ||
		!strings.Contains(body, `"auth":{"jwt":{"hs256_secret_env":"CHAT_SECRET"}}`) || !strings.Contains(body, `"subprotocols":["v12.stomp","v11.stomp"]`) {
		t.Fatalf("deploy replacing auth and clearing protocol and stomp: %d %s", status, body)
	}
	if status, body := put(`{"script": "return 4", "auth": {}}`); status != 200 || strings.Contains(body, `"auth"`) {
		t.Fatalf("deploy removing auth: %d %s", status, body)
	}
	for _, tc := range []struct{ body, want string }{
		{`{"script": "", "auth": {"jwt": {"es256_public_key_file": "es.pem"}}}`, "auth.jwt.es256_public_key_file: a deploy gives the key itself, as jwt.es256_public_key"},
		{`{"script": "", "auth": {"jwt": {"hs256_secret": "x"}}}`, `auth.jwt: unknown field \"hs256_secret\"`},
		{`{"script": "", "auth": {"introspect": {"url": "https://idp/i", "client_secret": "x"}}}`, `auth.introspect: unknown field \"client_secret\"`},
		{`{"script": "", "auth": {"jwt": {"es256_public_key": "not PEM"}}}`, "auth.jwt.es256_public_key: no PEM block"},
	} {
		if status, body := put(tc.body); status != 400 || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s; want 400 with %q", tc.body, status, body, tc.want)
		}
	}
}
