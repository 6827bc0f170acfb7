package auth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/auth"
)

var secret = []byte("0123456789abcdef0123456789abcdef") // 32 bytes

func sign(t testing.TB, m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func pemOf(t testing.TB, typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pkix(t testing.TB, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pemOf(t, "PUBLIC KEY", der)
}

func request(target string, header http.Header) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for k, vs := range header {
		r.Header[k] = vs
	}
	return r
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

// fixed builds a verifier with one fixed key: the HS256 secret, or the PEM
// text of an RS256 or ES256 public key.
func fixed(alg string, key []byte, sources []auth.Source) (*auth.Verifier, error) {
	j := auth.JWTOptions{HS256SecretEnv: "SECRET", Key: key}
	switch alg {
	case auth.RS256:
		j = auth.JWTOptions{RS256PublicKey: string(key)}
	case auth.ES256:
		j = auth.JWTOptions{ES256PublicKey: string(key)}
	}
	return auth.New(auth.Options{TokenFrom: sources, JWT: j})
}

func TestAuthenticate(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	hs, err := fixed(auth.HS256, secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := fixed(auth.RS256, pkix(t, &rsaKey.PublicKey), nil)
	if err != nil {
		t.Fatal(err)
	}
	es, err := fixed(auth.ES256, pkix(t, &ecKey.PublicKey), nil)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	good := jwt.MapClaims{"sub": "alice", "exp": exp.Unix(), "roles": []any{"a", "b"}}
	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good)
	tests := []struct {
		name    string
		v       *auth.Verifier
		header  http.Header
		wantErr string // "" = valid
	}{
		{"HS256 valid", hs, bearer(sign(t, jwt.SigningMethodHS256, secret, good)), ""},
		{"RS256 valid", rs, bearer(sign(t, jwt.SigningMethodRS256, rsaKey, good)), ""},
		{"ES256 valid", es, bearer(sign(t, jwt.SigningMethodES256, ecKey, good)), ""},
		{"no token", hs, nil, "no token"},
		{"other scheme", hs, http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}, "no token"},
		{"wrong HS256 secret", hs, bearer(sign(t, jwt.SigningMethodHS256, []byte("another secret of thirty-two by."), good)), "signature is invalid"},
		{"wrong ES256 key", es, bearer(sign(t, jwt.SigningMethodES256, otherEC, good)), "signature is invalid"},
		{"expired", hs, bearer(sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"exp": time.Now().Add(-time.Minute).Unix()})), "token is expired"},
		{"not yet valid", hs, bearer(sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"nbf": time.Now().Add(time.Hour).Unix()})), "token is not valid yet"},
		{"exp of the wrong type", hs, bearer(sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"exp": "tomorrow"})), "invalid type"},
		{"garbage", hs, bearer("not.a.token"), "malformed"},
		// Algorithm confusion: the token must not choose how it is checked.
		{"alg none on HS256", hs, bearer(none), "signing method none is invalid"},
		{"alg none on RS256", rs, bearer(none), "signing method none is invalid"},
		{"alg none without a signature", hs, bearer(strings.TrimSuffix(none, ".") + "."), "signing method none is invalid"},
		{"HS256 signed with the RS256 public key", rs, bearer(sign(t, jwt.SigningMethodHS256, pkix(t, &rsaKey.PublicKey), good)), "signing method HS256 is invalid"},
		{"HS256 signed with the ES256 public key", es, bearer(sign(t, jwt.SigningMethodHS256, pkix(t, &ecKey.PublicKey), good)), "signing method HS256 is invalid"},
		{"RS256 token on an HS256 endpoint", hs, bearer(sign(t, jwt.SigningMethodRS256, rsaKey, good)), "signing method RS256 is invalid"},
		{"HS512 with the right secret", hs, bearer(sign(t, jwt.SigningMethodHS512, secret, good)), "signing method HS512 is invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := tc.v.Authenticate(request("/x", tc.header))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				if tc.wantErr == "no token" && !errors.Is(err, wsgw.ErrNoToken) {
					t.Fatalf("err = %v, want ErrNoToken", err)
				}
				if tc.wantErr != "no token" && !errors.Is(err, wsgw.ErrAuthRefused) {
					t.Fatalf("err = %v, want ErrAuthRefused", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.Claims["sub"] != "alice" || !id.Expires.Equal(exp) {
				t.Fatalf("identity = %+v, want sub alice expiring %v", id, exp)
			}
		})
	}
}

func TestNewRefusesWrongKeys(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	smallRSA, _ := rsa.GenerateKey(rand.Reader, 1024)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ecPriv, _ := x509.MarshalECPrivateKey(ecKey)
	tests := []struct {
		name, alg string
		key       []byte
		sources   []auth.Source
		want      string
	}{
		{"short secret", auth.HS256, []byte("secret"), nil, "at least 32"},
		{"not PEM", auth.RS256, []byte("ssh-rsa AAAA"), nil, "no PEM block"},
		{"EC key for RS256", auth.RS256, pkix(t, &ecKey.PublicKey), nil, "ECDSA P-256 key, not an RSA public key"},
		{"RSA key for ES256", auth.ES256, pkix(t, &rsaKey.PublicKey), nil, "RSA key, not an ECDSA P-256"},
		{"P-384 key for ES256", auth.ES256, pkix(t, &p384.PublicKey), nil, "ECDSA P-384 key"},
		{"small RSA key", auth.RS256, pkix(t, &smallRSA.PublicKey), nil, "1024 bits"},
		{"private key", auth.ES256, pemOf(t, "EC PRIVATE KEY", ecPriv), nil, "private key: give the public key"},
		{"other PEM", auth.RS256, pemOf(t, "CERTIFICATE REQUEST", []byte{1}), nil, "not a public key"},
		{"unknown source", auth.HS256, secret, []auth.Source{"body"}, `token_from[0]: "body": want header, query or cookie`},
	}
	for _, tc := range tests {
		if _, err := fixed(tc.alg, tc.key, tc.sources); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	// A PKCS #1 key and a certificate are public keys too.
	if _, err := fixed(auth.RS256, pemOf(t, "RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)), nil); err != nil {
		t.Errorf("PKCS #1 public key: %v", err)
	}
}

func TestTokenSources(t *testing.T) {
	all := []auth.Source{auth.Header, auth.Query, auth.Cookie}
	tests := []struct {
		name          string
		target        string
		header        http.Header
		sources       []auth.Source
		cookie, param string // cookie_name, query_param
		want          string
		from          auth.Source
	}{
		{"header", "/x", bearer("h"), all, "", "", "h", auth.Header},
		{"bearer in any case", "/x", http.Header{"Authorization": {"bEaReR  h "}}, all, "", "", "h", auth.Header},
		{"query", "/x?a=1&token=q", nil, all, "", "", "q", auth.Query},
		{"escaped query", "/x?token=a%2Bb", nil, all, "", "", "a+b", auth.Query},
		{"cookie", "/x", http.Header{"Cookie": {"a=1; token=c"}}, all, "", "", "c", auth.Cookie},
		{"first source wins", "/x?token=q", http.Header{"Authorization": {"Bearer h"}, "Cookie": {"token=c"}}, all, "", "", "h", auth.Header},
		{"order is token_from's", "/x?token=q", http.Header{"Authorization": {"Bearer h"}}, []auth.Source{auth.Query, auth.Header}, "", "", "q", auth.Query},
		{"unlisted sources are ignored", "/x?token=q", http.Header{"Cookie": {"token=c"}}, []auth.Source{auth.Header}, "", "", "", ""},
		{"empty bearer", "/x", http.Header{"Authorization": {"Bearer "}}, all, "", "", "", ""},
		{"empty query value", "/x?token=", nil, all, "", "", "", ""},
		{"default sources: header then query", "/x?token=q", http.Header{"Cookie": {"token=c"}}, nil, "", "", "q", auth.Query},
		// Renamed: the new name is read, the default one no longer is.
		{"query_param", "/x?token=t&access_token=q", nil, all, "", "access_token", "q", auth.Query},
		{"query_param, default name ignored", "/x?token=t", nil, all, "", "access_token", "", ""},
		{"escaped query_param", "/x?access%5Ftoken=q", nil, all, "", "access_token", "q", auth.Query},
		{"cookie_name", "/x", http.Header{"Cookie": {"token=t; SESSION=c"}}, all, "SESSION", "", "c", auth.Cookie},
		{"cookie_name is case-sensitive", "/x", http.Header{"Cookie": {"session=c"}}, all, "SESSION", "", "", ""},
		{"cookie_name, default name ignored", "/x", http.Header{"Cookie": {"token=t"}}, all, "SESSION", "", "", ""},
	}
	for _, tc := range tests {
		v, err := auth.New(auth.Options{TokenFrom: tc.sources, CookieName: tc.cookie, QueryParam: tc.param,
			JWT: auth.JWTOptions{HS256SecretEnv: "S", Key: secret}})
		if err != nil {
			t.Fatal(err)
		}
		tok, from := v.Token(request(tc.target, tc.header))
		if tok != tc.want || from != tc.from {
			t.Errorf("%s: Token = %q from %q, want %q from %q", tc.name, tok, from, tc.want, tc.from)
		}
	}
}

func TestRedact(t *testing.T) {
	v, err := fixed(auth.HS256, secret, []auth.Source{auth.Header, auth.Query, auth.Cookie})
	if err != nil {
		t.Fatal(err)
	}
	r := request("/x?a=1&token=q&%74oken=r&b=2", http.Header{
		"Authorization": {"Bearer h"},
		"Cookie":        {"a=1; token=c", "token=d; b=2"},
	})
	v.Redact(r)
	if got := r.URL.RawQuery; got != "a=1&b=2" {
		t.Errorf("query after Redact = %q", got)
	}
	if got := r.Header.Values("Cookie"); len(got) != 1 || got[0] != "a=1; b=2" {
		t.Errorf("cookies after Redact = %q", got)
	}
	if _, ok := r.Header["Authorization"]; ok {
		t.Error("Authorization kept")
	}
	// A verifier reading only the header leaves the query alone.
	hv, _ := fixed(auth.HS256, secret, []auth.Source{auth.Header})
	r = request("/x?token=q", nil)
	hv.Redact(r)
	if r.URL.RawQuery != "token=q" {
		t.Errorf("header-only Redact changed the query to %q", r.URL.RawQuery)
	}
}

// TestRedactCookieSpacing: net/http trims the space around a cookie name, so
// "token =x" is the token cookie and must go.
func TestRedactCookieSpacing(t *testing.T) {
	v, _ := fixed(auth.HS256, secret, []auth.Source{auth.Cookie})
	r := request("/x", http.Header{"Cookie": {"a=1;token =x;\ttoken\t=y"}})
	if tok, _ := v.Token(r); tok != "x" {
		t.Fatalf("Token = %q, want x", tok)
	}
	v.Redact(r)
	if got := r.Header.Get("Cookie"); got != "a=1" {
		t.Fatalf("cookies after Redact = %q", got)
	}
}

// TestRedactRenamed: with cookie_name and query_param set, Redact removes
// the token by those names and leaves a "token" parameter or cookie, which
// is then the application's own.
func TestRedactRenamed(t *testing.T) {
	v, err := auth.New(auth.Options{TokenFrom: []auth.Source{auth.Query, auth.Cookie}, CookieName: "SESSION", QueryParam: "access_token",
		JWT: auth.JWTOptions{HS256SecretEnv: "S", Key: secret}})
	if err != nil {
		t.Fatal(err)
	}
	r := request("/x?token=mine&access_token=q&access%5Ftoken=r", http.Header{"Cookie": {"token=mine; SESSION=c"}})
	v.Redact(r)
	if got := r.URL.RawQuery; got != "token=mine" {
		t.Errorf("query after Redact = %q, want token=mine", got)
	}
	if got := r.Header.Get("Cookie"); got != "token=mine" {
		t.Errorf("cookies after Redact = %q, want token=mine", got)
	}
	if tok, from := v.Token(r); tok != "" {
		t.Errorf("after Redact the %s still yields a token", from)
	}
}
