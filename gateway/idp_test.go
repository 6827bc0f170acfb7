package gateway_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/auth"
	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/internal/gwtest"
)

// The tests here run the gateway against identity providers started by
// the test: a JWKS server whose keys rotate, and an RFC 7662
// introspection server.

// jwksServer publishes a JSON Web Key Set that the test changes, counting
// fetches; failing makes it answer 500.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []map[string]any
	failing bool
	fetches []time.Time
}

func newJWKSServer(t *testing.T) *jwksServer {
	s := &jwksServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.fetches = append(s.fetches, time.Now())
		if s.failing {
			http.Error(w, "down for maintenance", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": s.keys})
	}))
	t.Cleanup(s.Close)
	return s
}

// publish replaces the set's keys.
func (s *jwksServer) publish(keys ...map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = keys
}

func (s *jwksServer) fail() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing = true
}

// fetched answers how many fetches there were and when the last was.
func (s *jwksServer) fetched() (int, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fetches) == 0 {
		return 0, time.Time{}
	}
	return len(s.fetches), s.fetches[len(s.fetches)-1]
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func rsaJWK(kid string, k *rsa.PrivateKey) map[string]any {
	return map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "n": b64url(k.N.Bytes()), "e": b64url(big.NewInt(int64(k.E)).Bytes())}
}

func ecJWK(kid string, k *ecdsa.PrivateKey) map[string]any {
	raw, _ := k.PublicKey.Bytes() // 0x04 || x || y
	return map[string]any{"kty": "EC", "kid": kid, "crv": "P-256", "x": b64url(raw[1:33]), "y": b64url(raw[33:])}
}

func signed(t testing.TB, m jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// firstClose dials path with a token in the query and answers the code of
// the close that came first; 0 when the connection opened (its first frame
// was a message).
func firstClose(t *testing.T, h *gwtest.Harness, path, token string) websocket.StatusCode {
	t.Helper()
	c := h.Dial(path+"?token="+url.QueryEscape(token), nil)
	defer c.WS.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), gwtest.WaitFor)
	defer cancel()
	if _, _, err := c.WS.Read(ctx); err != nil {
		code := websocket.CloseStatus(err)
		if code == -1 {
			t.Fatalf("dial %s: %v, want a message or a close frame", path, err)
		}
		return code
	}
	return 0
}

// TestJWKSRotation: keys come from a JWKS URL. A token of a key the set
// publishes is admitted, with its user; a rotation (new key published, old
// removed) is picked up without a restart, the set fetched again for the
// unknown kid at most once per JWKSMinInterval however many tokens name
// it; a JWKS server that goes down leaves the cached keys working and
// unknown kids refused with 4002; an endpoint whose set was never fetched
// closes with 1013.
func TestJWKSRotation(t *testing.T) {
	t.Parallel()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	idp := newJWKSServer(t)
	idp.publish(rsaJWK("old", rsaKey))
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/jwks": authScript, "/never": authScript},
		Auth: map[string]*wsgw.AuthOptions{
			"/jwks":  {JWT: auth.JWTOptions{JWKSURL: idp.URL, Issuer: "https://idp.example/", Audience: "chat"}, TokenFrom: []auth.Source{auth.Query}},
			"/never": {JWT: auth.JWTOptions{JWKSURL: dead.URL}},
		},
		Limits: gateway.Limits{CloseTimeout: time.Second},
	})
	claims := jwt.MapClaims{"sub": "alice", "iss": "https://idp.example/", "aud": "chat", "exp": time.Now().Add(time.Hour).Unix()}
	oldTok := signed(t, jwt.SigningMethodRS256, rsaKey, "old", claims)
	newTok := signed(t, jwt.SigningMethodES256, ecKey, "new", claims)

	if code := firstClose(t, h, "/jwks", oldTok); code != 0 {
		t.Fatalf("a token of the published key: close %d, want it admitted", code)
	}
	h.Logs.Wait(t, "the open line with the user", func(r map[string]any) bool {
		return r["msg"] == "connection opened" && r["route"] == "/jwks" && r["user"] == "alice"
	})
	if n, _ := idp.fetched(); n != 1 {
		t.Fatalf("%d fetches for the first token, want 1", n)
	}

	// The provider rotates: the new key in, the old one out.
	idp.publish(ecJWK("new", ecKey))
	for range 5 { // within JWKSMinInterval of the first fetch: refused without a fetch
		if code := firstClose(t, h, "/jwks", signed(t, jwt.SigningMethodES256, ecKey, "made-up", claims)); code != 4002 {
			t.Fatalf("an unknown kid right after a fetch: close %d, want 4002", code)
		}
	}
	n, last := idp.fetched()
	if n != 1 {
		t.Fatalf("%d fetches after a flood of unknown kids within %v, want still 1", n, auth.JWKSMinInterval)
	}
	// No signal tells when the interval is over: wait it out, once.
	time.Sleep(time.Until(last.Add(auth.JWKSMinInterval)))
	if code := firstClose(t, h, "/jwks", newTok); code != 0 {
		t.Fatalf("a token of the rotated-in key: close %d, want it admitted", code)
	}
	if n, _ := idp.fetched(); n != 2 {
		t.Fatalf("%d fetches after the rotation, want 2", n)
	}
	if code := firstClose(t, h, "/jwks", oldTok); code != 4002 {
		t.Fatalf("a token of the rotated-out key: close %d, want 4002", code)
	}

	// The provider goes down: the cached key keeps working; an unknown kid
	// is refused (4002), not "try again" (1013).
	idp.fail()
	if code := firstClose(t, h, "/jwks", newTok); code != 0 {
		t.Fatalf("the cached key while the JWKS server fails: close %d, want it admitted", code)
	}
	if code := firstClose(t, h, "/jwks", signed(t, jwt.SigningMethodES256, ecKey, "other", claims)); code != 4002 {
		t.Fatalf("an unknown kid while the JWKS server fails: close %d, want 4002", code)
	}
	if code := firstClose(t, h, "/never", newTok); code != 1013 {
		t.Fatalf("an endpoint whose key set was never fetched: close %d, want 1013", code)
	}
	h.Logs.Wait(t, "the 1013 line", func(r map[string]any) bool { return r["msg"] == "authentication failed" && r["code"] == int64(1013) })
}

// introspector is an RFC 7662 introspection server: the token says what it
// answers. It needs the client secret and counts requests per token; a
// "slow" token's request waits until the request is given up.
type introspector struct {
	*httptest.Server
	mu       sync.Mutex
	requests map[string]int
	slowIn   chan struct{} // a slow request has arrived
	slowOut  atomic.Bool   // a slow request has ended
}

const introspectSecret = "client secret of the gateway"

func newIntrospector(t *testing.T) *introspector {
	in := &introspector{requests: map[string]int{}, slowIn: make(chan struct{}, 16)}
	in.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer "+introspectSecret {
			http.Error(w, "who are you?", http.StatusUnauthorized)
			return
		}
		tok := r.PostFormValue("token")
		in.mu.Lock()
		in.requests[tok]++
		in.mu.Unlock()
		answer := func(v map[string]any) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(v)
		}
		switch {
		case strings.HasPrefix(tok, "active-"):
			user, _, _ := strings.Cut(strings.TrimPrefix(tok, "active-"), ".")
			answer(map[string]any{"active": true, "sub": user, "username": user, "scope": "chat", "exp": time.Now().Add(time.Hour).Unix()})
		case strings.HasPrefix(tok, "expiring-"):
			answer(map[string]any{"active": true, "sub": "eve", "exp": time.Now().Add(time.Second).Unix() + 1})
		case tok == "inactive":
			answer(map[string]any{"active": false})
		case tok == "unknown-client":
			http.Error(w, "bad client", http.StatusUnauthorized)
		case tok == "crash":
			http.Error(w, "oops", http.StatusInternalServerError)
		case tok == "slow":
			in.slowIn <- struct{}{}
			<-r.Context().Done() // the gateway gave up
			in.slowOut.Store(true)
		default:
			answer(map[string]any{"active": false})
		}
	}))
	t.Cleanup(in.Close)
	return in
}

func (in *introspector) count(tok string) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.requests[tok]
}

// TestIntrospection: opaque tokens are checked by an RFC 7662 server with
// the client secret: active admits (the answer is websocketInfo.auth, its
// sub the user), inactive and 401 close with 4002, a 500 and a server too
// slow for the timeout close with 1013 — and a slow answer holds up no
// other upgrade; answers are cached per token; the answer's exp is
// enforced with 4003.
func TestIntrospection(t *testing.T) {
	t.Parallel()
	in := newIntrospector(t)
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/opaque": authScript},
		Auth: map[string]*wsgw.AuthOptions{"/opaque": {TokenFrom: []auth.Source{auth.Query},
			Introspect: auth.IntrospectOptions{URL: in.URL, Timeout: 3 * time.Second, CacheTTL: time.Minute, ClientSecretEnv: "INTROSPECT_SECRET"}}},
		Env:    map[string]string{"INTROSPECT_SECRET": introspectSecret},
		Limits: gateway.Limits{CloseTimeout: time.Second},
	})

	c := h.Dial("/opaque?token=active-alice", nil)
	var open struct{ Auth map[string]any }
	c.ReadJSON(&open)
	if open.Auth["active"] != true || open.Auth["username"] != "alice" || open.Auth["scope"] != "chat" {
		t.Fatalf("websocketInfo.auth = %v, want the introspection answer", open.Auth)
	}
	h.Logs.Wait(t, "the open line with the user", func(r map[string]any) bool {
		return r["msg"] == "connection opened" && r["user"] == "alice"
	})
	if code := firstClose(t, h, "/opaque", "active-alice"); code != 0 || in.count("active-alice") != 1 {
		t.Fatalf("the same token again: close %d after %d requests, want it admitted from the cache", code, in.count("active-alice"))
	}

	for _, tc := range []struct {
		token string
		code  websocket.StatusCode
	}{
		{"inactive", 4002},
		{"unknown-client", 4002},
		{"crash", 1013},
	} {
		if code := firstClose(t, h, "/opaque", tc.token); code != tc.code {
			t.Errorf("token %s: close %d, want %d", tc.token, code, tc.code)
		}
	}

	// A slow server: that upgrade waits for the timeout and gets 1013;
	// meanwhile another upgrade is checked and admitted.
	slow := make(chan websocket.StatusCode, 1)
	go func() {
		c, _, err := gwtest.TryDial(t, h.URL("/opaque?token=slow"), nil)
		if err != nil {
			slow <- -1
			return
		}
		defer c.WS.CloseNow()
		_, _, err = c.WS.Read(context.Background())
		slow <- websocket.CloseStatus(err)
	}()
	select {
	case <-in.slowIn:
	case <-time.After(gwtest.WaitFor):
		t.Fatal("the slow token's introspection never arrived")
	}
	other := h.Dial("/opaque?token=active-bob", nil)
	var bob struct{ Auth map[string]any }
	other.ReadJSON(&bob)
	if bob.Auth["sub"] != "bob" || in.slowOut.Load() {
		t.Fatalf("another upgrade during a slow introspection: auth %v, slow request ended first %v", bob.Auth, in.slowOut.Load())
	}
	select {
	case code := <-slow:
		if code != 1013 {
			t.Fatalf("the slow token: close %d, want 1013", code)
		}
	case <-time.After(gwtest.WaitFor):
		t.Fatal("the slow token's upgrade never ended")
	}

	// The answer's exp closes the connection with 4003, its close event run.
	exp := h.Dial("/opaque?token=expiring-1", nil)
	var eve struct{ ID string }
	exp.ReadJSON(&eve)
	if code, reason := exp.ExpectClose(); code != 4003 || reason != "authentication expired" {
		t.Fatalf("at the answer's exp: close %d %q, want 4003", code, reason)
	}
	h.Logs.Wait(t, "its close event", gwtest.ScriptLine(eve.ID, "close", "closed 4003 authentication expired"))
}

// TestIntrospectionWithoutTheSecret: a server that refuses the gateway's
// client (401, a wrong secret) refuses every token: 4002.
func TestIntrospectionWithoutTheSecret(t *testing.T) {
	t.Parallel()
	in := newIntrospector(t)
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/opaque": authScript},
		Auth:    map[string]*wsgw.AuthOptions{"/opaque": {Introspect: auth.IntrospectOptions{URL: in.URL, ClientSecretEnv: "S"}}},
		Env:     map[string]string{"S": "not the secret"},
	})
	if code := firstClose(t, h, "/opaque", "active-alice"); code != 4002 {
		t.Fatalf("with a wrong client secret: close %d, want 4002", code)
	}
}

// TestTokenClaimChecks: issuer, audience and leeway at their edges, and
// user_claim naming the user.
func TestTokenClaimChecks(t *testing.T) {
	t.Parallel()
	jwtOpts := auth.JWTOptions{HS256SecretEnv: "TEST_SECRET", Issuer: "https://idp.example/", Audience: "chat", Leeway: 30 * time.Second}
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/strict": authScript},
		Auth:    map[string]*wsgw.AuthOptions{"/strict": {JWT: jwtOpts, UserClaim: "email"}},
		Env:     testEnv,
	})
	now := time.Now()
	base := func(extra jwt.MapClaims) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "u1", "email": "alice@example.com", "iss": "https://idp.example/", "aud": "chat", "exp": now.Add(time.Hour).Unix()}
		for k, v := range extra {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	for _, tc := range []struct {
		name   string
		claims jwt.MapClaims
		code   websocket.StatusCode
	}{
		{"all good", base(nil), 0},
		{"other issuer", base(jwt.MapClaims{"iss": "https://evil.example/"}), 4002},
		{"issuer without its slash", base(jwt.MapClaims{"iss": "https://idp.example"}), 4002},
		{"no issuer", base(jwt.MapClaims{"iss": nil}), 4002},
		{"audience in an array", base(jwt.MapClaims{"aud": []string{"billing", "chat"}}), 0},
		{"other audience", base(jwt.MapClaims{"aud": "billing"}), 4002},
		{"no audience", base(jwt.MapClaims{"aud": nil}), 4002},
		{"expired within the leeway", base(jwt.MapClaims{"exp": now.Add(-10 * time.Second).Unix()}), 0},
		{"expired past the leeway", base(jwt.MapClaims{"exp": now.Add(-40 * time.Second).Unix()}), 4002},
		{"nbf within the leeway", base(jwt.MapClaims{"nbf": now.Add(10 * time.Second).Unix()}), 0},
		{"nbf past the leeway", base(jwt.MapClaims{"nbf": now.Add(40 * time.Second).Unix()}), 4002},
		{"iat past the leeway", base(jwt.MapClaims{"iat": now.Add(40 * time.Second).Unix()}), 4002},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code := firstClose(t, h, "/strict", hs256(t, tc.claims)); code != tc.code {
				t.Fatalf("close %d, want %d (0: admitted)", code, tc.code)
			}
		})
	}
	h.Logs.Wait(t, "the user from user_claim", func(r map[string]any) bool {
		return r["msg"] == "connection opened" && r["user"] == "alice@example.com"
	})
}

// TestTokenSourceNames: cookie_name and query_param rename where the token
// is read, and the token is taken out of what scripts see.
func TestTokenSourceNames(t *testing.T) {
	t.Parallel()
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/named": authScript},
		Auth: map[string]*wsgw.AuthOptions{"/named": {JWT: auth.JWTOptions{HS256SecretEnv: "TEST_SECRET"},
			TokenFrom: []auth.Source{auth.Query, auth.Cookie}, QueryParam: "access_token", CookieName: "SESSION"}},
		Origins: map[string][]string{"/named": {`https://app\.example`}},
		Env:     testEnv,
	})
	tok := hs256(t, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
	for _, tc := range []struct {
		name   string
		target string
		header http.Header
		code   websocket.StatusCode
	}{
		{"renamed query", "/named?x=1&access_token=" + tok, nil, 0},
		{"renamed cookie", "/named?x=1", http.Header{"Cookie": {"a=b; SESSION=" + tok}}, 0},
		{"default query name", "/named?token=" + tok, nil, 4001},
		{"default cookie name", "/named", http.Header{"Cookie": {"token=" + tok}}, 4001},
		{"cookie name in another case", "/named", http.Header{"Cookie": {"session=" + tok}}, 4001},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := h.Dial(tc.target, tc.header)
			defer c.WS.CloseNow()
			if tc.code != 0 {
				if code, _ := c.ExpectClose(); code != tc.code {
					t.Fatalf("close %d, want %d", code, tc.code)
				}
				return
			}
			var open struct {
				URI     string
				Headers map[string]string
			}
			c.ReadJSON(&open)
			if strings.Contains(open.URI, "access_token") || strings.Contains(open.Headers["cookie"], "SESSION") || !strings.Contains(open.URI, "x=1") {
				t.Fatalf("the token reached the script: uri %q, headers %v", open.URI, open.Headers)
			}
		})
	}
}

// TestDeployAddsAuth: a deploy that adds auth to a running endpoint leaves
// its open sockets connected; new upgrades need a token. A deploy that
// removes it opens the endpoint again.
func TestDeployAddsAuth(t *testing.T) {
	t.Parallel()
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{"/room": idScript}, Env: testEnv})
	before := h.Dial("/room", nil)
	before.ReadText()
	ctx := context.Background()
	dep, _, err := h.Deploys.Deploy(ctx, wsgw.Deployment{Path: "/room", Script: idScript, Source: "api",
		Options: wsgw.Options{Auth: &wsgw.AuthOptions{JWT: auth.JWTOptions{HS256SecretEnv: "TEST_SECRET"}}}})
	if err != nil || dep.Auth == nil {
		t.Fatalf("deploy adding auth: %+v, %v", dep, err)
	}
	before.Send("still open")
	if got := before.ReadText(); got != "still open" {
		t.Fatalf("the socket opened before the deploy answered %q", got)
	}
	if code := firstClose(t, h, "/room", ""); code != 4001 {
		t.Fatalf("a new upgrade without a token: close %d, want 4001", code)
	}
	if code := firstClose(t, h, "/room", hs256(t, jwt.MapClaims{"sub": "alice"})); code != 0 {
		t.Fatalf("a new upgrade with a token: close %d, want it admitted", code)
	}
	// A script-only deploy keeps the auth; one giving "auth": {} removes it.
	if _, _, err := h.Deploys.Deploy(ctx, wsgw.Deployment{Path: "/room", Script: idScript + "//v3", Source: "api"}); err != nil {
		t.Fatal(err)
	}
	if code := firstClose(t, h, "/room", ""); code != 4001 {
		t.Fatalf("after a script-only deploy, without a token: close %d, want 4001", code)
	}
	if _, _, err := h.Deploys.Deploy(ctx, wsgw.Deployment{Path: "/room", Script: idScript, Source: "api",
		Options: wsgw.Options{Auth: &wsgw.AuthOptions{}}}); err != nil {
		t.Fatal(err)
	}
	if code := firstClose(t, h, "/room", ""); code != 0 {
		t.Fatalf("after auth was removed, without a token: close %d, want it admitted", code)
	}
}
