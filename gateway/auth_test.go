package gateway_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/auth"
	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/internal/gwtest"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

func hs256(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// authScript logs every event it runs, so a test can prove none ran.
const authScript = `
console.log("event", websocketInfo.type);
if (websocketInfo.type === "open") return JSON.stringify({id: websocketInfo.socket_id, auth: websocketInfo.auth,
  uri: websocketInfo.uri, headers: websocketInfo.headers, parameters: websocketInfo.parameters});
if (websocketInfo.type === "data") return websocketInfo.auth.sub;
if (websocketInfo.type === "close") console.log("closed", websocketInfo.close_code, websocketInfo.close_reason);`

func newAuthHarness(t *testing.T, sources []auth.Source, key []byte, alg string) *gwtest.Harness {
	return newAuthHarnessWith(t, sources, key, alg, nil)
}

// newAuthHarnessWith also gives the paths of more their auth.
func newAuthHarnessWith(t *testing.T, sources []auth.Source, key []byte, alg string, more map[string]*wsgw.AuthOptions) *gwtest.Harness {
	t.Helper()
	jwtOpts := auth.JWTOptions{HS256SecretEnv: "TEST_SECRET"}
	if alg == auth.RS256 {
		jwtOpts = auth.JWTOptions{RS256PublicKey: string(key)}
	}
	auths := map[string]*wsgw.AuthOptions{"/secure": {TokenFrom: sources, JWT: jwtOpts}}
	maps.Copy(auths, more)
	return gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/secure": authScript, "/open": idScript},
		Auth:    auths,
		Env:     testEnv,
		Limits:  gateway.Limits{CloseTimeout: time.Second},
	})
}

// testEnv is the environment the harnesses' secrets are read from.
var testEnv = map[string]string{"TEST_SECRET": string(testSecret)}

// TestAuthRefusals: a missing or bad token gets the upgrade, then at once a
// 4001 or 4002 close as the first frame; no script runs for it; and a
// connection on another endpoint keeps working.
func TestAuthRefusals(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	claims := jwt.MapClaims{"sub": "mallory", "exp": time.Now().Add(time.Hour).Unix()}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	confused, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(pubPEM)

	hs := newAuthHarness(t, nil, nil, "")
	rs := newAuthHarness(t, nil, pubPEM, auth.RS256)
	tests := []struct {
		name   string
		h      *gwtest.Harness
		target string
		header http.Header
		code   websocket.StatusCode
		reason string
	}{
		{"no token", hs, "/secure", nil, 4001, "no token"},
		{"token in a source not listed", hs, "/secure", http.Header{"Cookie": {"token=" + hs256(t, claims)}}, 4001, "no token"},
		{"bad signature", hs, "/secure?token=" + hs256(t, claims) + "x", nil, 4002, "authentication failed"},
		{"expired", hs, "/secure", http.Header{"Authorization": {"Bearer " + hs256(t, jwt.MapClaims{"exp": time.Now().Add(-time.Second).Unix()})}}, 4002, "authentication failed"},
		{"alg none", hs, "/secure?token=" + none, nil, 4002, "authentication failed"},
		{"alg none on RS256", rs, "/secure?token=" + none, nil, 4002, "authentication failed"},
		{"HS256 signed with the RS256 public key", rs, "/secure?token=" + confused, nil, 4002, "authentication failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.h
			check := bystander(t, h, "/open")
			refusedClosed := func(r map[string]any) bool { return r["msg"] == "refused connection closed" }
			authFailed := func(r map[string]any) bool { return r["msg"] == "authentication failed" }
			closedBefore, failedBefore := h.Logs.Count(refusedClosed), h.Logs.Count(authFailed)
			c := h.Dial(tc.target, tc.header)
			ctx, cancel := context.WithTimeout(context.Background(), gwtest.WaitFor)
			defer cancel()
			_, _, err := c.WS.Read(ctx) // the first frame must be the close
			if code := websocket.CloseStatus(err); code != tc.code {
				t.Fatalf("first frame: %v; want close %d", err, tc.code)
			}
			var ce websocket.CloseError
			if errors.As(err, &ce); ce.Reason != tc.reason {
				t.Fatalf("close reason %q, want %q", ce.Reason, tc.reason)
			}
			h.Logs.WaitCount(t, "the refused connection closed", closedBefore+1, refusedClosed)
			h.Logs.WaitCount(t, "the auth failure", failedBefore+1, authFailed)
			if n := h.Logs.Count(func(r map[string]any) bool { return r["source"] == "script" && r["route"] == "/secure" }); n != 0 {
				t.Fatalf("%d script lines for a refused connection, want none", n)
			}
			if n := h.Logs.Count(func(r map[string]any) bool { return authFailed(r) && strings.Contains(fmt.Sprint(r), "eyJ") }); n != 0 {
				t.Fatal("an auth failure line holds the token")
			}
			check()
		})
	}
}

// TestAuthClaimsReachScripts: a valid token's claims are websocketInfo.auth
// in every event, and the credentials themselves are taken out of uri,
// headers and parameters, from whichever source they came.
func TestAuthClaimsReachScripts(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/secure/{room}": authScript},
		Auth:    map[string]*wsgw.AuthOptions{"/secure/{room}": hsAuth(auth.Header, auth.Query, auth.Cookie)},
		Env:     testEnv,
		Origins: map[string][]string{"/secure/{room}": {`^https://app\.example$`}}, // a cookie source needs them
	})
	tok := hs256(t, jwt.MapClaims{"sub": "alice", "roles": []string{"admin"}, "exp": time.Now().Add(time.Hour).Unix()})
	for _, tc := range []struct {
		name   string
		target string
		header http.Header
	}{
		{"header", "/secure/r1?x=1", http.Header{"Authorization": {"Bearer " + tok}, "Cookie": {"a=b"}}},
		{"query", "/secure/r1?x=1&token=" + tok, http.Header{"Cookie": {"a=b"}}},
		{"cookie", "/secure/r1?x=1", http.Header{"Cookie": {"a=b; token=" + tok}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := h.Dial(tc.target, tc.header)
			var open struct {
				Auth       map[string]any    `json:"auth"`
				URI        string            `json:"uri"`
				Headers    map[string]string `json:"headers"`
				Parameters map[string]string `json:"parameters"`
			}
			c.ReadJSON(&open)
			if open.Auth["sub"] != "alice" || fmt.Sprint(open.Auth["roles"]) != "[admin]" {
				t.Fatalf("websocketInfo.auth = %v", open.Auth)
			}
			if strings.Contains(open.URI, "token") || open.Headers["authorization"] != "" || open.Headers["cookie"] != "a=b" ||
				open.Parameters["token"] != "" || open.Parameters["x"] != "1" || open.Parameters["room"] != "r1" {
				t.Fatalf("credentials left for Scripts: uri %q, headers %v, parameters %v", open.URI, open.Headers, open.Parameters)
			}
			c.Send("who")
			if got := c.ReadText(); got != "alice" {
				t.Fatalf("data event's auth.sub = %q", got)
			}
		})
	}
}

// TestAuthExpiryCloses4003: when the token's exp passes, the connection is
// closed with 4003 and its close event runs; a connection whose token lasts
// longer, opened at the same time, stays.
func TestAuthExpiryCloses4003(t *testing.T) {
	h := newAuthHarness(t, nil, nil, "")
	exp := time.Now().Add(1500 * time.Millisecond)
	short := h.Dial("/secure", http.Header{"Authorization": {"Bearer " + hs256(t, jwt.MapClaims{"sub": "short", "exp": exp.Unix() + 1})}})
	long := h.Dial("/secure", http.Header{"Authorization": {"Bearer " + hs256(t, jwt.MapClaims{"sub": "long", "exp": exp.Unix() + 3600})}})
	var open struct{ ID string }
	short.ReadJSON(&open)
	long.ReadText()
	code, reason := short.ExpectClose()
	if code != 4003 || reason != "authentication expired" {
		t.Fatalf("closed with %d %q, want 4003 authentication expired", code, reason)
	}
	if time.Now().Unix() < exp.Unix()+1 {
		t.Fatalf("closed at %v, before the token's exp %d", time.Now(), exp.Unix()+1)
	}
	h.Logs.Wait(t, "close event", gwtest.ScriptLine(open.ID, "close", "closed 4003 authentication expired"))
	long.Send("still")
	if got := long.ReadText(); got != "long" {
		t.Fatalf("the connection with a longer token answered %q", got)
	}
}

// hsAuth is HS256 auth with the test secret, from sources.
func hsAuth(sources ...auth.Source) *wsgw.AuthOptions {
	return &wsgw.AuthOptions{TokenFrom: sources, JWT: auth.JWTOptions{HS256SecretEnv: "TEST_SECRET"}}
}

// TestAuthSurvivesAPIDeploys: a script-only deploy through the admin API
// replaces an endpoint's script but keeps its auth; and no deploy may put
// cookie auth on an endpoint without allowed_origins.
func TestAuthSurvivesAPIDeploys(t *testing.T) {
	h := newAuthHarnessWith(t, nil, nil, "", nil)
	ctx := context.Background()
	if _, _, err := h.Deploys.Deploy(ctx, wsgw.Deployment{Path: "/secure", Script: `return "v2"`, Source: "api"}); err != nil {
		t.Fatal(err)
	}
	c := h.Dial("/secure", nil)
	if code, _ := c.ExpectClose(); code != 4001 {
		t.Fatalf("without a token after an API deploy: close %d, want 4001", code)
	}
	tok := hs256(t, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
	c = h.Dial("/secure", http.Header{"Authorization": {"Bearer " + tok}})
	if got := c.ReadText(); got != "v2" {
		t.Fatalf("the new script answered %q", got)
	}

	for _, dep := range []wsgw.Deployment{
		{Path: "/cookie", Script: "return 1", Source: "config", Options: wsgw.Options{Auth: hsAuth(auth.Cookie)}},
		{Path: "/cookie", Script: "return 1", Source: "config", Options: wsgw.Options{Auth: hsAuth(auth.Cookie), AllowedOrigins: []string{"^https://a$"}}},
	} {
		_, _, err := h.Deploys.Deploy(ctx, dep)
		if refused := err != nil && strings.Contains(err.Error(), "cross-site WebSocket hijacking"); refused != (len(dep.AllowedOrigins) == 0) {
			t.Fatalf("deploy with cookie auth and origins %v: %v", dep.AllowedOrigins, err)
		}
	}
	// A script-only API deploy keeps the origin check; one that clears it
	// under inherited cookie auth is refused.
	dep, _, err := h.Deploys.Deploy(ctx, wsgw.Deployment{Path: "/cookie", Script: "return 2", Source: "api"})
	if err != nil || len(dep.AllowedOrigins) != 1 {
		t.Fatalf("script-only API deploy over cookie auth: %+v, %v; want it to keep the origins", dep, err)
	}
	_, _, err = h.Deploys.Deploy(ctx, wsgw.Deployment{Path: "/cookie", Script: "return 3", Source: "api",
		Options: wsgw.Options{AllowedOrigins: []string{}}})
	if err == nil || !strings.Contains(err.Error(), "auth.token_from: a cookie token needs allowed_origins") {
		t.Fatalf("API deploy clearing the origins over cookie auth: %v, want a refusal", err)
	}
}
