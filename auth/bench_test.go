package auth_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgw/wsgw/auth"
)

// BenchmarkAuthenticate measures one upgrade's check, the network left out:
// a fixed HS256 secret, keys of a cached JWKS (RS256, ES256, EdDSA), and a
// cached introspection answer.
//
//	go test ./auth -run '^$' -bench BenchmarkAuthenticate -benchmem
func BenchmarkAuthenticate(b *testing.B) {
	k := keys()
	exp := time.Now().Add(time.Hour).Unix()
	claims := jwt.MapClaims{"sub": "alice", "exp": exp, "iss": "https://idp/", "aud": "api"}
	srv := newJWKSServer(b, jwkOf(b, "rsa", "", k.rsa), jwkOf(b, "p256", "", k.p256), jwkOf(b, "ed", "", k.ed))
	jwks, err := auth.New(auth.Options{JWT: auth.JWTOptions{JWKSURL: srv.URL, Issuer: "https://idp/", Audience: "api"}})
	if err != nil {
		b.Fatal(err)
	}
	hs, err := auth.New(auth.Options{JWT: auth.JWTOptions{HS256SecretEnv: "S", Key: secret}})
	if err != nil {
		b.Fatal(err)
	}
	in := newIntroServer(b, time.Now, "")
	intro, err := auth.New(auth.Options{Introspect: auth.IntrospectOptions{URL: in.URL}})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		v    *auth.Verifier
		tok  string
	}{
		{"HS256", hs, sign(b, jwt.SigningMethodHS256, secret, claims)},
		{"JWKS-RS256", jwks, signKid(b, jwt.SigningMethodRS256, k.rsa, "rsa", claims)},
		{"JWKS-ES256", jwks, signKid(b, jwt.SigningMethodES256, k.p256, "p256", claims)},
		{"JWKS-EdDSA", jwks, signKid(b, jwt.SigningMethodEdDSA, k.ed, "ed", claims)},
		{"introspect-cached", intro, "good:benchmark"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := request("/x", http.Header{"Authorization": {"Bearer " + bc.tok}})
			if _, err := bc.v.Authenticate(r); err != nil { // warms the key set or the cache
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.v.Authenticate(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
