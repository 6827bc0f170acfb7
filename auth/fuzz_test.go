package auth_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgw/wsgw/auth"
)

// FuzzToken feeds arbitrary Authorization headers, query strings and
// Cookie headers to the token extraction and verification, with the
// default names and renamed ones. Properties: no
// panic; only a token the test signed verifies, with its claims; and after
// Redact no source yields a token any more, so credentials cannot slip
// through to scripts in some spelling the extractor reads and Redact misses.
//
//	go test ./auth -run '^$' -fuzz FuzzToken -fuzztime 3m
func FuzzToken(f *testing.F) {
	valid, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "alice", "exp": time.Now().Add(24 * time.Hour).Unix(),
	}).SignedString(secret)
	if err != nil {
		f.Fatal(err)
	}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "mallory"}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	f.Add("Bearer "+valid, "", "")
	f.Add("", "a=1&token="+valid, "")
	f.Add("", "", "a=b; token="+valid)
	f.Add("Basic x", "token=%zz&token="+valid, "token="+none)
	f.Add("bearer "+none, "%74oken="+valid, `token="`+valid+`"`)
	f.Add("Bearer a.b.c", "token=a.b.c;x", "token=; token=x")
	f.Add("", "a=1&access_token="+valid, "SESSION="+valid)
	f.Add("", "access%5Ftoken="+valid, "token=x; SESSION ="+valid)

	sources := []auth.Source{auth.Header, auth.Query, auth.Cookie}
	var verifiers []*auth.Verifier
	for _, o := range []auth.Options{
		{TokenFrom: sources, JWT: auth.JWTOptions{HS256SecretEnv: "S", Key: secret}},
		{TokenFrom: sources, CookieName: "SESSION", QueryParam: "access_token", JWT: auth.JWTOptions{HS256SecretEnv: "S", Key: secret}},
	} {
		v, err := auth.New(o)
		if err != nil {
			f.Fatal(err)
		}
		verifiers = append(verifiers, v)
	}
	f.Fuzz(func(t *testing.T, authorization, rawQuery, cookie string) {
		for _, v := range verifiers {
			fuzzOne(t, v, authorization, rawQuery, cookie)
		}
	})
}

// fuzzOne checks the properties of FuzzToken on one verifier.
func fuzzOne(t *testing.T, v *auth.Verifier, authorization, rawQuery, cookie string) {
	r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/x", RawQuery: rawQuery}, Header: http.Header{}}
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	id, err := v.Authenticate(r)
	if err == nil && id.Claims["sub"] != "alice" {
		t.Fatalf("a token the test did not sign verified: %v", id.Claims)
	}
	v.Redact(r)
	if tok, from := v.Token(r); tok != "" {
		t.Fatalf("after Redact the %s still yields a token %q", from, tok)
	}
}
