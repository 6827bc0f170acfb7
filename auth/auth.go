// Package auth verifies the JSON Web Token a client presents when it
// upgrades: where the token is found in the request, the one algorithm and
// key that may verify it, and the claims it carries. It knows nothing of
// WebSockets or configuration files.
package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgw/wsgw"
)

// Source is a place in the upgrade request a token may come from.
type Source string

// The token sources, as token_from names them.
const (
	Header Source = "header" // Authorization: Bearer <jwt>
	Query  Source = "query"  // the token query parameter
	Cookie Source = "cookie" // the token cookie
)

// DefaultSources are where tokens come from when token_from is not set:
// not cookies, which need an origin check (see Config.Validate).
var DefaultSources = []Source{Header, Query}

// Algorithm names, as in a token's alg header.
const (
	HS256 = "HS256"
	RS256 = "RS256"
	ES256 = "ES256"
)

// MinSecretBytes is the shortest HS256 secret accepted: 256 bits, as RFC
// 7518 §3.2 requires; a shorter one can be guessed offline from any token.
const MinSecretBytes = 32

// JWT verifies tokens signed with one algorithm and one key; it is a
// wsgw.Authenticator. Tokens that
// name any other algorithm, "none" included, are refused before the key is
// used, so a token cannot choose how it is checked: an HS256 token "signed"
// with an RS256 endpoint's public key fails like any other.
type JWT struct {
	alg     string
	key     any
	sources []Source
	parser  *jwt.Parser
}

// New makes a verifier for alg. key is the HS256 secret, or the PEM text of
// the RS256 or ES256 public key (PKIX, PKCS #1 or a certificate). sources nil
// means DefaultSources.
func New(alg string, key []byte, sources []Source) (*JWT, error) {
	var k any
	switch alg {
	case HS256:
		if len(key) < MinSecretBytes {
			return nil, fmt.Errorf("the HS256 secret is %d bytes; it must be at least %d (256 bits)", len(key), MinSecretBytes)
		}
		k = key
	case RS256:
		pub, err := publicKey(key)
		if err != nil {
			return nil, err
		}
		rk, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("the key is an %s, not an RSA public key: RS256 needs one", keyKind(pub))
		}
		if rk.N.BitLen() < 2048 {
			return nil, fmt.Errorf("the RSA key has %d bits; RS256 needs at least 2048", rk.N.BitLen())
		}
		k = rk
	case ES256:
		pub, err := publicKey(key)
		if err != nil {
			return nil, err
		}
		ek, ok := pub.(*ecdsa.PublicKey)
		if !ok || ek.Curve != elliptic.P256() {
			return nil, fmt.Errorf("the key is an %s, not an ECDSA P-256 public key: ES256 needs one", keyKind(pub))
		}
		k = ek
	default:
		return nil, fmt.Errorf("unsupported algorithm %q", alg)
	}
	if len(sources) == 0 {
		sources = DefaultSources
	}
	for _, s := range sources {
		if s != Header && s != Query && s != Cookie {
			return nil, fmt.Errorf("unknown token source %q (want header, query or cookie)", s)
		}
	}
	return &JWT{
		alg:     alg,
		key:     k,
		sources: sources,
		parser:  jwt.NewParser(jwt.WithValidMethods([]string{alg})),
	}, nil
}

// publicKey parses the PEM text of a public key or certificate.
func publicKey(text []byte) (any, error) {
	block, _ := pem.Decode(text)
	if block == nil {
		return nil, errors.New("no PEM block: want a PEM public key (-----BEGIN PUBLIC KEY-----)")
	}
	switch {
	case strings.Contains(block.Type, "PRIVATE KEY"):
		return nil, errors.New("this is a private key: give the public key (the gateway only verifies tokens)")
	case block.Type == "PUBLIC KEY":
		return x509.ParsePKIXPublicKey(block.Bytes)
	case block.Type == "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	case block.Type == "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		return cert.PublicKey, nil
	}
	return nil, fmt.Errorf("a PEM %q block is not a public key", block.Type)
}

func keyKind(k any) string {
	switch k := k.(type) {
	case *rsa.PublicKey:
		return "RSA key"
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name + " key"
	}
	return fmt.Sprintf("%T", k)
}

var _ wsgw.Authenticator = (*JWT)(nil)

// Authenticate finds the token in r and verifies it: signature, algorithm,
// and the exp and nbf claims. It returns wsgw.ErrNoToken when none of the
// sources carries a token; other errors say why the token was refused and
// never contain it.
func (j *JWT) Authenticate(r *http.Request) (wsgw.Identity, error) {
	tok, src := Token(r, j.sources)
	if tok == "" {
		return wsgw.Identity{}, wsgw.ErrNoToken
	}
	claims := jwt.MapClaims{}
	_, err := j.parser.ParseWithClaims(tok, claims, func(t *jwt.Token) (any, error) {
		if t.Method.Alg() != j.alg { // WithValidMethods has refused it already; belt and braces
			return nil, fmt.Errorf("unexpected algorithm %s", t.Method.Alg())
		}
		return j.key, nil
	})
	if err != nil {
		return wsgw.Identity{}, fmt.Errorf("token from %s: %w", src, err)
	}
	id := wsgw.Identity{Claims: claims}
	if exp, _ := claims.GetExpirationTime(); exp != nil {
		id.Expires = exp.Time
	}
	return id, nil
}

// Token returns the first token found in r's sources, in their order, and
// the source it came from; "" when there is none. An Authorization header
// with another scheme than Bearer carries no token.
func Token(r *http.Request, sources []Source) (string, Source) {
	for _, s := range sources {
		var tok string
		switch s {
		case Header:
			scheme, rest, ok := strings.Cut(r.Header.Get("Authorization"), " ")
			if ok && strings.EqualFold(scheme, "Bearer") {
				tok = strings.TrimSpace(rest)
			}
		case Query:
			tok = r.URL.Query().Get("token")
		case Cookie:
			if c, err := r.Cookie("token"); err == nil {
				tok = c.Value
			}
		}
		if tok != "" {
			return tok, s
		}
	}
	return "", ""
}

// ReadsCookies reports whether cookie is one of the token sources.
func (j *JWT) ReadsCookies() bool { return slices.Contains(j.sources, Cookie) }

// Redact removes from r the credentials of every source the verifier
// reads, so that they reach neither scripts (websocketInfo.uri, headers,
// parameters) nor the socket registry: the verified claims stand in for them.
func (j *JWT) Redact(r *http.Request) {
	for _, s := range j.sources {
		switch s {
		case Header:
			r.Header.Del("Authorization")
		case Query:
			r.URL.RawQuery = withoutToken(r.URL.RawQuery)
		case Cookie:
			redactCookie(r.Header)
		}
	}
}

// withoutToken drops every token parameter from a raw query, its name
// unescaped as url.ParseQuery would, and keeps the rest as it was written.
func withoutToken(raw string) string {
	kept := make([]string, 0, strings.Count(raw, "&")+1)
	for _, pair := range strings.Split(raw, "&") {
		name, _, _ := strings.Cut(pair, "=")
		if n, err := url.QueryUnescape(name); err != nil || n != "token" {
			kept = append(kept, pair)
		}
	}
	return strings.Join(kept, "&")
}

// redactCookie rewrites the Cookie headers without the token cookie, with
// names trimmed as net/http's cookie parser trims them.
func redactCookie(h http.Header) {
	lines := h.Values("Cookie")
	if len(lines) == 0 {
		return
	}
	var kept []string
	for _, line := range lines {
		for _, part := range strings.Split(line, ";") {
			part = strings.TrimSpace(part)
			name, _, _ := strings.Cut(part, "=")
			if part != "" && strings.TrimSpace(name) != "token" {
				kept = append(kept, part)
			}
		}
	}
	h.Del("Cookie")
	if len(kept) > 0 {
		h.Set("Cookie", strings.Join(kept, "; "))
	}
}
