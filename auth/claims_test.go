package auth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgw/wsgw/auth"
)

// TestClaimChecks: exp, nbf and iat with and without leeway, exactly at
// their boundaries; issuer and audience when set (aud as a string or an
// array); Expires moved by the leeway the check allowed.
func TestClaimChecks(t *testing.T) {
	clk := newClock()
	now := clk.Now().Unix()
	const leeway = 30
	strict := auth.JWTOptions{HS256SecretEnv: "S", Key: secret}
	lenient := auth.JWTOptions{HS256SecretEnv: "S", Key: secret, Leeway: leeway * time.Second}
	withIss := auth.JWTOptions{HS256SecretEnv: "S", Key: secret, Issuer: "https://idp.example.com/"}
	withAud := auth.JWTOptions{HS256SecretEnv: "S", Key: secret, Audience: "api"}
	tests := []struct {
		name   string
		opts   auth.JWTOptions
		claims jwt.MapClaims
		want   string // "" = valid, else part of the refusal
	}{
		{"exp a second ahead", strict, jwt.MapClaims{"exp": now + 1}, ""},
		{"exp now", strict, jwt.MapClaims{"exp": now}, "token is expired"},
		{"exp within the leeway", lenient, jwt.MapClaims{"exp": now - leeway + 1}, ""},
		{"exp exactly at the leeway", lenient, jwt.MapClaims{"exp": now - leeway}, "token is expired"},
		{"nbf now", strict, jwt.MapClaims{"nbf": now}, ""},
		{"nbf a second ahead", strict, jwt.MapClaims{"nbf": now + 1}, "token is not valid yet"},
		{"nbf exactly at the leeway", lenient, jwt.MapClaims{"nbf": now + leeway}, ""},
		{"nbf past the leeway", lenient, jwt.MapClaims{"nbf": now + leeway + 1}, "token is not valid yet"},
		{"iat now", strict, jwt.MapClaims{"iat": now}, ""},
		{"iat a second ahead", strict, jwt.MapClaims{"iat": now + 1}, "token used before issued"},
		{"iat exactly at the leeway", lenient, jwt.MapClaims{"iat": now + leeway}, ""},
		{"iat past the leeway", lenient, jwt.MapClaims{"iat": now + leeway + 1}, "token used before issued"},
		{"issuer matches", withIss, jwt.MapClaims{"iss": "https://idp.example.com/"}, ""},
		{"issuer missing", withIss, jwt.MapClaims{"sub": "a"}, "iss claim is required"},
		{"issuer differs by a slash", withIss, jwt.MapClaims{"iss": "https://idp.example.com"}, "token has invalid issuer"},
		{"issuer not required", strict, jwt.MapClaims{"iss": "anyone"}, ""},
		{"aud string", withAud, jwt.MapClaims{"aud": "api"}, ""},
		{"aud array holding it", withAud, jwt.MapClaims{"aud": []string{"web", "api"}}, ""},
		{"aud array without it", withAud, jwt.MapClaims{"aud": []string{"web", "admin"}}, "token has invalid audience"},
		{"aud other string", withAud, jwt.MapClaims{"aud": "API"}, "token has invalid audience"},
		{"aud missing", withAud, jwt.MapClaims{"sub": "a"}, "aud claim is required"},
		{"aud empty array", withAud, jwt.MapClaims{"aud": []string{}}, "aud claim is required"},
		{"aud of the wrong type", withAud, jwt.MapClaims{"aud": 7}, "aud claim"},
		{"aud not required", strict, jwt.MapClaims{"aud": "other"}, ""},
	}
	for _, tc := range tests {
		v, err := auth.NewForTest(auth.Options{JWT: tc.opts}, auth.TestEnv{Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Authenticate(request("/x", bearer(sign(t, jwt.SigningMethodHS256, secret, tc.claims))))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (kind(err) != "refused" || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want refused with %q", tc.name, err, tc.want)
		}
	}

	// The connection lives as long as the check would have admitted it.
	v, _ := auth.NewForTest(auth.Options{JWT: lenient}, auth.TestEnv{Now: clk.Now})
	id, err := v.Authenticate(request("/x", bearer(sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"exp": now + 60}))))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Unix(now+60+leeway, 0); !id.Expires.Equal(want) {
		t.Errorf("Expires = %v, want exp + leeway = %v", id.Expires, want)
	}
}

// TestUserClaim: the claim user_claim names becomes UserID when it is a
// string, and only then.
func TestUserClaim(t *testing.T) {
	tests := []struct {
		claim  string
		claims jwt.MapClaims
		want   string
	}{
		{"", jwt.MapClaims{"sub": "alice"}, "alice"},
		{"", jwt.MapClaims{"sub": 42}, ""},
		{"", jwt.MapClaims{"email": "alice@example.com"}, ""},
		{"email", jwt.MapClaims{"sub": "u1", "email": "alice@example.com"}, "alice@example.com"},
		{"https://example.com/uid", jwt.MapClaims{"sub": "u1", "https://example.com/uid": "a-1"}, "a-1"},
		{"groups", jwt.MapClaims{"groups": []string{"a"}}, ""},
	}
	for _, tc := range tests {
		v, err := auth.New(auth.Options{UserClaim: tc.claim, JWT: auth.JWTOptions{HS256SecretEnv: "S", Key: secret}})
		if err != nil {
			t.Fatal(err)
		}
		id, err := v.Authenticate(request("/x", bearer(sign(t, jwt.SigningMethodHS256, secret, tc.claims))))
		if err != nil {
			t.Fatal(err)
		}
		if id.UserID != tc.want {
			t.Errorf("user_claim %q of %v: UserID %q, want %q", tc.claim, tc.claims, id.UserID, tc.want)
		}
	}
}
