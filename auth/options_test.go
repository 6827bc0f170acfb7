package auth_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wsgw/wsgw/auth"
)

// TestOptionErrors: every invalid option fails New with a *FieldError
// naming the key under auth, as YAML and deploy bodies spell it.
func TestOptionErrors(t *testing.T) {
	hs := auth.JWTOptions{HS256SecretEnv: "S", Key: secret}
	in := auth.IntrospectOptions{URL: "https://idp.example.com/introspect"}
	tests := []struct {
		name  string
		opts  auth.Options
		field string
		want  string
	}{
		{"nothing", auth.Options{}, "jwt", "set one of jwt.hs256_secret_env, jwt.rs256_public_key_file, jwt.es256_public_key_file, jwt.jwks_url or introspect.url"},
		{"only token_from", auth.Options{TokenFrom: []auth.Source{auth.Query}}, "jwt", "set one of"},
		{"only an issuer", auth.Options{JWT: auth.JWTOptions{Issuer: "x"}}, "jwt", "set exactly one of hs256_secret_env, rs256_public_key_file, es256_public_key_file, jwks_url (found 0: )"},
		{"two keys", auth.Options{JWT: auth.JWTOptions{HS256SecretEnv: "S", JWKSURL: "https://x/"}}, "jwt", "(found 2: hs256_secret_env, jwks_url)"},
		{"jwt and introspect", auth.Options{JWT: hs, Introspect: in}, "introspect", "set either jwt or introspect, not both"},
		{"issuer with introspect", auth.Options{JWT: auth.JWTOptions{Issuer: "x"}, Introspect: in}, "introspect", "not both"},
		{"unknown source", auth.Options{TokenFrom: []auth.Source{auth.Header, "body"}, JWT: hs}, "token_from[1]", `"body": want header, query or cookie`},
		{"source twice", auth.Options{TokenFrom: []auth.Source{auth.Query, auth.Query}, JWT: hs}, "token_from[1]", `"query" appears twice`},
		{"cookie name with a space", auth.Options{CookieName: "my token", JWT: hs}, "cookie_name", `"my token" is not a cookie name`},
		{"cookie name with =", auth.Options{CookieName: "a=b", JWT: hs}, "cookie_name", "not a cookie name"},
		{"query param with &", auth.Options{QueryParam: "a&b", JWT: hs}, "query_param", `"a&b" is not a plain parameter name`},
		{"query param with %", auth.Options{QueryParam: "a%5Fb", JWT: hs}, "query_param", "not a plain parameter name"},
		{"user claim with a space", auth.Options{UserClaim: "sub ", JWT: hs}, "user_claim", "leading or trailing space"},
		{"secret env not a name", auth.Options{JWT: auth.JWTOptions{HS256SecretEnv: "$SECRET", Key: secret}}, "jwt.hs256_secret_env", `"$SECRET" is not an environment variable name`},
		{"secret not read", auth.Options{JWT: auth.JWTOptions{HS256SecretEnv: "CHAT_SECRET"}}, "jwt.hs256_secret_env", "$CHAT_SECRET is not set or empty"},
		{"short secret", auth.Options{JWT: auth.JWTOptions{HS256SecretEnv: "S", Key: []byte("short")}}, "jwt.hs256_secret_env", "the HS256 secret is 5 bytes; it must be at least 32"},
		{"key file not PEM", auth.Options{JWT: auth.JWTOptions{RS256PublicKeyFile: "k.pem", RS256PublicKey: "x"}}, "jwt.rs256_public_key_file", "k.pem: no PEM block"},
		{"jwks_url not a URL", auth.Options{JWT: auth.JWTOptions{JWKSURL: "idp.example.com/jwks"}}, "jwt.jwks_url", `"idp.example.com/jwks" is not an http:// or https:// URL`},
		{"jwks_url ftp", auth.Options{JWT: auth.JWTOptions{JWKSURL: "ftp://idp.example.com/jwks"}}, "jwt.jwks_url", "not an http:// or https:// URL"},
		{"jwks_url with a password", auth.Options{JWT: auth.JWTOptions{JWKSURL: "https://u:p@idp.example.com/jwks"}}, "jwt.jwks_url", "carries a user and password"},
		{"issuer with a space", auth.Options{JWT: auth.JWTOptions{JWKSURL: "https://x/", Issuer: " https://x/"}}, "jwt.issuer", "leading or trailing space"},
		{"audience with a newline", auth.Options{JWT: auth.JWTOptions{JWKSURL: "https://x/", Audience: "api\n"}}, "jwt.audience", "leading or trailing space"},
		{"negative leeway", auth.Options{JWT: auth.JWTOptions{JWKSURL: "https://x/", Leeway: -time.Second}}, "jwt.leeway", "-1s is negative"},
		{"introspect without url", auth.Options{Introspect: auth.IntrospectOptions{Timeout: time.Second}}, "introspect.url", "is required"},
		{"introspect url relative", auth.Options{Introspect: auth.IntrospectOptions{URL: "/introspect"}}, "introspect.url", "not an http:// or https:// URL"},
		{"negative timeout", auth.Options{Introspect: auth.IntrospectOptions{URL: in.URL, Timeout: -1}}, "introspect.timeout", "is negative"},
		{"negative cache_ttl", auth.Options{Introspect: auth.IntrospectOptions{URL: in.URL, CacheTTL: -time.Minute}}, "introspect.cache_ttl", "-1m0s is negative"},
		{"client secret env not a name", auth.Options{Introspect: auth.IntrospectOptions{URL: in.URL, ClientSecretEnv: "1X"}}, "introspect.client_secret_env", "not an environment variable name"},
		{"client secret not read", auth.Options{Introspect: auth.IntrospectOptions{URL: in.URL, ClientSecretEnv: "WAZO_SECRET"}}, "introspect.client_secret_env", "$WAZO_SECRET is not set or empty"},
	}
	for _, tc := range tests {
		_, err := auth.New(tc.opts)
		var fe *auth.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(fe.Msg, tc.want) {
			t.Errorf("%s: err = %v, want a FieldError on %s with %q", tc.name, err, tc.field, tc.want)
		}
	}
	// Validate alone does not need the secrets.
	if err := (auth.Options{JWT: auth.JWTOptions{HS256SecretEnv: "CHAT_SECRET"}}).Validate(); err != nil {
		t.Errorf("Validate without the secret: %v", err)
	}
}

// TestOptionsJSON: the options read and written as deploy bodies and GET
// show them: durations as strings, secrets never, unknown keys refused
// with the key named.
func TestOptionsJSON(t *testing.T) {
	o := auth.Options{
		TokenFrom:  []auth.Source{auth.Query, auth.Cookie},
		CookieName: "SESSION",
		QueryParam: "access_token",
		UserClaim:  "email",
		JWT:        auth.JWTOptions{HS256SecretEnv: "CHAT_SECRET", Issuer: "https://idp/", Audience: "api", Leeway: 30 * time.Second, Key: []byte("the-secret-value-of-thirty-two-b")},
	}
	data, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"token_from":["query","cookie"],"cookie_name":"SESSION","query_param":"access_token","user_claim":"email",` +
		`"jwt":{"hs256_secret_env":"CHAT_SECRET","issuer":"https://idp/","audience":"api","leeway":"30s"}}`
	if string(data) != want {
		t.Errorf("JSON:\n got %s\nwant %s", data, want)
	}
	var back auth.Options
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	o.JWT.Key = nil
	if !reflect.DeepEqual(back, o) {
		t.Errorf("round trip: %+v, want %+v", back, o)
	}

	in := auth.Options{Introspect: auth.IntrospectOptions{URL: "https://idp/introspect", Timeout: 1500 * time.Millisecond, CacheTTL: time.Minute,
		ClientSecretEnv: "WAZO_SECRET", ClientSecret: "hunter2"}}
	data, _ = json.Marshal(in)
	if want := `{"introspect":{"url":"https://idp/introspect","client_secret_env":"WAZO_SECRET","timeout":"1.5s","cache_ttl":"1m0s"}}`; string(data) != want {
		t.Errorf("JSON:\n got %s\nwant %s", data, want)
	}
	if strings.Contains(string(data), "hunter2") {
		t.Error("the client secret's value is in the JSON")
	}
	back = auth.Options{}
	if err := json.Unmarshal(data, &back); err != nil || back.Introspect.Timeout != 1500*time.Millisecond || back.Introspect.CacheTTL != time.Minute {
		t.Errorf("round trip: %+v, %v", back.Introspect, err)
	}

	for _, tc := range []struct{ body, field, want string }{
		{`{"jwt": {"leeway": 30}}`, "jwt.leeway", "30 is not a duration"},
		{`{"jwt": {"leeway": "30"}}`, "jwt.leeway", `"30" is not a duration`},
		{`{"introspect": {"timeout": "2 s"}}`, "introspect.timeout", "not a duration"},
		{`{"introspect": {"cache_ttl": true}}`, "introspect.cache_ttl", "not a duration"},
		{`{"jwt": {"jwks": "https://x/"}}`, "jwt", `unknown field "jwks"`},
		{`{"introspect": {"client_secret": "x"}}`, "introspect", `unknown field "client_secret"`},
		{`{"jwt": {"Key": "c2VjcmV0"}}`, "jwt", `unknown field "Key"`},
	} {
		var o auth.Options
		err := json.Unmarshal([]byte(tc.body), &o)
		var fe *auth.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(fe.Msg, tc.want) {
			t.Errorf("%s: err = %v, want a FieldError on %s with %q", tc.body, err, tc.field, tc.want)
		}
	}
}
