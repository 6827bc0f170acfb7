package wsgw

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"
)

// TokenSource is a place in the upgrade request a token may come from.
type TokenSource string

// The token sources, as token_from names them.
const (
	TokenHeader TokenSource = "header" // Authorization: Bearer <token>
	TokenQuery  TokenSource = "query"  // the query parameter named query_param
	TokenCookie TokenSource = "cookie" // the cookie named cookie_name
)

// AuthOptions is an endpoint's auth block, as the YAML file and deploy
// bodies spell it, and as a deployment stores it so that every node builds
// the same check (the auth package's Verifier). Secrets are named by their
// environment variable and read on each node into fields that never reach
// JSON or YAML, so that the options can be stored and shown as they are.
// Set exactly one of JWT and Introspect.
type AuthOptions struct {
	// TokenFrom lists where the token is looked for, in order; nil means
	// header, then query.
	TokenFrom []TokenSource `json:"token_from,omitempty" yaml:"token_from"`
	// CookieName and QueryParam name the cookie and the query parameter
	// that carry the token; "" means "token".
	CookieName string `json:"cookie_name,omitempty" yaml:"cookie_name"`
	QueryParam string `json:"query_param,omitempty" yaml:"query_param"`
	// UserClaim names the claim whose string value becomes Identity.UserID;
	// "" means "sub".
	UserClaim string `json:"user_claim,omitempty" yaml:"user_claim"`

	JWT        JWTOptions        `json:"jwt,omitzero" yaml:"jwt"`
	Introspect IntrospectOptions `json:"introspect,omitzero" yaml:"introspect"`

	// Logger receives what happens away from any request: a background key
	// set refresh that failed. nil means slog.Default().
	Logger *slog.Logger `json:"-" yaml:"-"`
}

// ReadsCookies reports whether a cookie is one of the token sources.
// Browsers send cookies with upgrades started by any site, so such an
// endpoint needs allowed_origins.
func (o AuthOptions) ReadsCookies() bool { return slices.Contains(o.TokenFrom, TokenCookie) }

// JWTOptions verifies tokens as JSON Web Tokens: with one fixed key (an
// HS256 secret, an RS256 or ES256 public key) or the keys of a JWKS URL.
type JWTOptions struct {
	HS256SecretEnv string `json:"hs256_secret_env,omitempty" yaml:"hs256_secret_env"`
	// RS256PublicKey and ES256PublicKey are a public key's PEM text. The
	// YAML file names a file instead (relative to it), which the
	// configuration reads into the text: a deployment carries the key
	// itself, so that every node verifies with the same one.
	RS256PublicKey     string `json:"rs256_public_key,omitempty" yaml:"rs256_public_key"`
	ES256PublicKey     string `json:"es256_public_key,omitempty" yaml:"es256_public_key"`
	RS256PublicKeyFile string `json:"-" yaml:"rs256_public_key_file"`
	ES256PublicKeyFile string `json:"-" yaml:"es256_public_key_file"`
	JWKSURL            string `json:"jwks_url,omitempty" yaml:"jwks_url"`

	// Issuer and Audience, when set, must match the token's iss and aud (aud
	// matches when it equals Audience or is an array holding it).
	Issuer   string `json:"issuer,omitempty" yaml:"issuer"`
	Audience string `json:"audience,omitempty" yaml:"audience"`
	// Leeway is the clock skew allowed on exp, nbf and iat.
	Leeway time.Duration `json:"leeway,omitempty" yaml:"leeway"`

	// Key is the secret in $HS256SecretEnv, read on each node.
	Key []byte `json:"-" yaml:"-"`
}

// IntrospectOptions checks opaque tokens with an RFC 7662 introspection
// endpoint.
type IntrospectOptions struct {
	URL string `json:"url,omitempty" yaml:"url"`
	// Timeout bounds one request; 0 means DefaultIntrospectTimeout.
	Timeout time.Duration `json:"timeout,omitempty" yaml:"timeout"`
	// CacheTTL is how long an answer is reused for the same token; 0 means
	// DefaultIntrospectCacheTTL.
	CacheTTL        time.Duration `json:"cache_ttl,omitempty" yaml:"cache_ttl"`
	ClientSecretEnv string        `json:"client_secret_env,omitempty" yaml:"client_secret_env"`

	// ClientSecret is the value of $ClientSecretEnv, read on each node.
	ClientSecret string `json:"-" yaml:"-"`
}

// FieldError is an invalid option. Field is its key, as YAML and deploy
// bodies spell it (allowed_origins[0]; under auth: jwt.jwks_url,
// token_from[1]), so that callers can prefix it with where the block is.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// IsZero reports whether o sets nothing: an endpoint without auth. A deploy
// gives "auth": {} to remove an endpoint's auth.
func (o AuthOptions) IsZero() bool {
	return len(o.TokenFrom) == 0 && o.CookieName == "" && o.QueryParam == "" && o.UserClaim == "" &&
		!o.JWT.configured() && !o.Introspect.Configured()
}

// Validate checks the options without the secrets, which the caller may
// read later: every error is a *FieldError.
func (o AuthOptions) Validate() error {
	seen := map[TokenSource]bool{}
	for i, s := range o.TokenFrom {
		if s != TokenHeader && s != TokenQuery && s != TokenCookie {
			return fieldErr(fmt.Sprintf("token_from[%d]", i), "%q: want header, query or cookie", s)
		}
		if seen[s] {
			return fieldErr(fmt.Sprintf("token_from[%d]", i), "%q appears twice", s)
		}
		seen[s] = true
	}
	if o.CookieName != "" && !isToken(o.CookieName) {
		return fieldErr("cookie_name", "%q is not a cookie name (letters, digits and !#$%%&'*+-.^_`|~)", o.CookieName)
	}
	if o.QueryParam != "" && !isUnreserved(o.QueryParam) {
		return fieldErr("query_param", "%q is not a plain parameter name (letters, digits and -._~)", o.QueryParam)
	}
	if err := trimmed("user_claim", o.UserClaim); err != nil {
		return err
	}
	jwtSet, inSet := o.JWT.configured(), o.Introspect.Configured()
	switch {
	case jwtSet && inSet:
		return fieldErr("introspect", "set either jwt or introspect, not both")
	case inSet:
		return o.Introspect.validate()
	case jwtSet:
		return o.JWT.validate()
	}
	return fieldErr("jwt", "set one of jwt.hs256_secret_env, jwt.rs256_public_key_file, jwt.es256_public_key_file, jwt.jwks_url or introspect.url")
}

func (j *JWTOptions) configured() bool {
	return len(j.keys()) > 0 || j.Issuer != "" || j.Audience != "" || j.Leeway != 0
}

// textUnlessFile is a key's PEM text, unless it was read from file: then
// the file is the setting.
func textUnlessFile(text, file string) string {
	if file != "" {
		return ""
	}
	return text
}

// keys lists the key settings that are set, by name.
func (j *JWTOptions) keys() (set []string) {
	for _, k := range []struct{ name, value string }{
		{"hs256_secret_env", j.HS256SecretEnv},
		{"rs256_public_key_file", j.RS256PublicKeyFile},
		{"rs256_public_key", textUnlessFile(j.RS256PublicKey, j.RS256PublicKeyFile)},
		{"es256_public_key_file", j.ES256PublicKeyFile},
		{"es256_public_key", textUnlessFile(j.ES256PublicKey, j.ES256PublicKeyFile)},
		{"jwks_url", j.JWKSURL},
	} {
		if k.value != "" {
			set = append(set, k.name)
		}
	}
	return set
}

func (j *JWTOptions) validate() error {
	if set := j.keys(); len(set) != 1 {
		return fieldErr("jwt", "set exactly one of hs256_secret_env, rs256_public_key_file, es256_public_key_file, jwks_url (found %d: %s); "+
			"a deploy gives a public key as its PEM text, in rs256_public_key or es256_public_key",
			len(set), strings.Join(set, ", "))
	}
	if j.HS256SecretEnv != "" && !isEnvName(j.HS256SecretEnv) {
		return fieldErr("jwt.hs256_secret_env", "%q is not an environment variable name", j.HS256SecretEnv)
	}
	if j.JWKSURL != "" {
		if err := httpURL("jwt.jwks_url", j.JWKSURL); err != nil {
			return err
		}
	}
	if err := trimmed("jwt.issuer", j.Issuer); err != nil {
		return err
	}
	if err := trimmed("jwt.audience", j.Audience); err != nil {
		return err
	}
	if j.Leeway < 0 {
		return fieldErr("jwt.leeway", "%s is negative", j.Leeway)
	}
	return nil
}

// Configured reports whether any introspection option is set: then the
// tokens are opaque, checked by the introspection endpoint.
func (in *IntrospectOptions) Configured() bool {
	return in.URL != "" || in.Timeout != 0 || in.CacheTTL != 0 || in.ClientSecretEnv != ""
}

func (in *IntrospectOptions) validate() error {
	if in.URL == "" {
		return fieldErr("introspect.url", "is required: the RFC 7662 introspection endpoint")
	}
	if err := httpURL("introspect.url", in.URL); err != nil {
		return err
	}
	if in.Timeout < 0 {
		return fieldErr("introspect.timeout", "%s is negative", in.Timeout)
	}
	if in.CacheTTL < 0 {
		return fieldErr("introspect.cache_ttl", "%s is negative", in.CacheTTL)
	}
	if in.ClientSecretEnv != "" && !isEnvName(in.ClientSecretEnv) {
		return fieldErr("introspect.client_secret_env", "%q is not an environment variable name", in.ClientSecretEnv)
	}
	return nil
}

func httpURL(field, s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fieldErr(field, "%q is not an http:// or https:// URL", s)
	}
	if u.User != nil {
		return fieldErr(field, "the URL carries a user and password: name the secret by its environment variable instead")
	}
	return nil
}

func trimmed(field, s string) error {
	if strings.TrimSpace(s) != s {
		return fieldErr(field, "%q has leading or trailing space", s)
	}
	return nil
}

// isToken reports whether s is an RFC 7230 token: what a cookie name may be.
func isToken(s string) bool { return onlyOf(s, "!#$%&'*+-.^_`|~") }

// isUnreserved reports whether s is made of RFC 3986 unreserved characters:
// a query parameter name that reads the same escaped or not.
func isUnreserved(s string) bool { return onlyOf(s, "-._~") }

// onlyOf reports whether s is not empty and holds only ASCII letters,
// digits and the bytes of extra.
func onlyOf(s, extra string) bool {
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return s != ""
}

func isEnvName(s string) bool {
	for i, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return s != ""
}

// MarshalJSON writes Leeway as a duration string ("30s").
func (j JWTOptions) MarshalJSON() ([]byte, error) {
	type plain JWTOptions
	return json.Marshal(struct {
		plain
		Leeway string `json:"leeway,omitempty"`
	}{plain(j), durationText(j.Leeway)})
}

// UnmarshalJSON reads Leeway as a duration string and refuses unknown keys.
func (j *JWTOptions) UnmarshalJSON(data []byte) error {
	type plain JWTOptions
	v := struct {
		*plain
		Leeway json.RawMessage `json:"leeway"`
	}{plain: (*plain)(j)}
	var files struct {
		RS json.RawMessage `json:"rs256_public_key_file"`
		ES json.RawMessage `json:"es256_public_key_file"`
	}
	_ = json.Unmarshal(data, &files) // strict reports what does not decode
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{{"rs256_public_key", files.RS}, {"es256_public_key", files.ES}} {
		if f.raw != nil {
			return fieldErr("jwt."+f.name+"_file", "a deploy gives the key itself, as jwt.%s (its PEM text): "+
				"a file would be read on one node only", f.name)
		}
	}
	if err := strict(data, &v, "jwt"); err != nil {
		return err
	}
	return parseDuration("jwt.leeway", v.Leeway, &j.Leeway)
}

// MarshalJSON writes Timeout and CacheTTL as duration strings ("2s").
func (in IntrospectOptions) MarshalJSON() ([]byte, error) {
	type plain IntrospectOptions
	return json.Marshal(struct {
		plain
		Timeout  string `json:"timeout,omitempty"`
		CacheTTL string `json:"cache_ttl,omitempty"`
	}{plain(in), durationText(in.Timeout), durationText(in.CacheTTL)})
}

// UnmarshalJSON reads Timeout and CacheTTL as duration strings and refuses
// unknown keys.
func (in *IntrospectOptions) UnmarshalJSON(data []byte) error {
	type plain IntrospectOptions
	v := struct {
		*plain
		Timeout  json.RawMessage `json:"timeout"`
		CacheTTL json.RawMessage `json:"cache_ttl"`
	}{plain: (*plain)(in)}
	if err := strict(data, &v, "introspect"); err != nil {
		return err
	}
	if err := parseDuration("introspect.timeout", v.Timeout, &in.Timeout); err != nil {
		return err
	}
	return parseDuration("introspect.cache_ttl", v.CacheTTL, &in.CacheTTL)
}

func strict(data []byte, v any, field string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fieldErr(field, "%v", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

func durationText(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

func parseDuration(field string, raw json.RawMessage, d *time.Duration) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if v, err := time.ParseDuration(s); err == nil {
			*d = v
			return nil
		}
	}
	return fieldErr(field, "%s is not a duration (write it as a string with a unit: \"500ms\", \"60s\", \"5m\")", raw)
}
