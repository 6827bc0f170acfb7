package auth_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgw/wsgw/auth"
)

// keys are generated once: RSA generation is slow under -race.
var keys = sync.OnceValue(func() (k struct {
	rsa, rsa2, small *rsa.PrivateKey
	p256, p384, p521 *ecdsa.PrivateKey
	ed               ed25519.PrivateKey
}) {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	var err error
	k.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.rsa2, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.small, err = rsa.GenerateKey(rand.Reader, 1024)
	must(err)
	k.p256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	k.p384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	must(err)
	k.p521, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	must(err)
	_, k.ed, err = ed25519.GenerateKey(rand.Reader)
	must(err)
	return k
})

// jwksVerifier is a verifier of srv's keys on clk.
func jwksVerifier(t testing.TB, srv *jwksServer, clk *clock, o auth.Options) *auth.Verifier {
	t.Helper()
	o.JWT.JWKSURL = srv.URL + "/.well-known/jwks.json"
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	v, err := auth.NewForTest(o, auth.TestEnv{Now: clk.Now, JWKSTimeout: patient})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestJWKSKeyTypes: RSA (PKCS #1 and PSS), EC on the three curves and
// Ed25519 keys of one set verify their tokens, with one fetch in all.
func TestJWKSKeyTypes(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t,
		jwkOf(t, "rsa", "", k.rsa),
		jwkOf(t, "pss", "PS256", k.rsa2),
		jwkOf(t, "p256", "", k.p256),
		jwkOf(t, "p384", "ES384", k.p384),
		jwkOf(t, "p521", "", k.p521),
		jwkOf(t, "ed", "EdDSA", k.ed),
	)
	clk := newClock()
	v := jwksVerifier(t, srv, clk, auth.Options{})
	claims := jwt.MapClaims{"sub": "alice", "exp": clk.Now().Add(time.Hour).Unix()}
	tests := []struct {
		kid string
		m   jwt.SigningMethod
		key any
	}{
		{"rsa", jwt.SigningMethodRS256, k.rsa},
		{"pss", jwt.SigningMethodPS256, k.rsa2},
		{"p256", jwt.SigningMethodES256, k.p256},
		{"p384", jwt.SigningMethodES384, k.p384},
		{"p521", jwt.SigningMethodES512, k.p521},
		{"ed", jwt.SigningMethodEdDSA, k.ed},
	}
	for _, tc := range tests {
		id, err := v.Authenticate(request("/x", bearer(signKid(t, tc.m, tc.key, tc.kid, claims))))
		if err != nil {
			t.Errorf("%s: %v", tc.kid, err)
			continue
		}
		if id.UserID != "alice" || id.Claims["sub"] != "alice" {
			t.Errorf("%s: identity %+v, want user alice", tc.kid, id)
		}
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Errorf("%d fetches of the key set, want 1", n)
	}
}

// TestJWKSAlgorithmFromKey: the key fixes the algorithm; a token cannot
// pick another one, HMAC or none, whatever kid it names.
func TestJWKSAlgorithmFromKey(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwkOf(t, "rsa", "", k.rsa), jwkOf(t, "p384", "", k.p384), jwkOf(t, "ed", "", k.ed))
	clk := newClock()
	v := jwksVerifier(t, srv, clk, auth.Options{})
	claims := jwt.MapClaims{"sub": "mallory"}
	rsaJWK := jwkOf(t, "rsa", "", k.rsa)
	none := signKid(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "rsa", claims)
	tests := []struct {
		name, tok, want string
	}{
		{"RS384 with an RS256 key", signKid(t, jwt.SigningMethodRS384, k.rsa, "rsa", claims), `key "rsa" verifies RS256, but the token says RS384`},
		{"PS256 with an RS256 key", signKid(t, jwt.SigningMethodPS256, k.rsa, "rsa", claims), `key "rsa" verifies RS256, but the token says PS256`},
		{"ES256 with a P-384 key", signKid(t, jwt.SigningMethodES256, k.p256, "p384", claims), `key "p384" verifies ES384, but the token says ES256`},
		{"RS256 naming the Ed25519 key", signKid(t, jwt.SigningMethodRS256, k.rsa, "ed", claims), `key "ed" verifies EdDSA, but the token says RS256`},
		{"HS256 signed with the modulus", signKid(t, jwt.SigningMethodHS256, []byte(rsaJWK["n"].(string)), "rsa", claims), "signing method HS256 is invalid"},
		{"HS256 signed with the PEM", signKid(t, jwt.SigningMethodHS256, pkix(t, &k.rsa.PublicKey), "rsa", claims), "signing method HS256 is invalid"},
		{"alg none", none, "signing method none is invalid"},
		{"kid of another type", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
			tok.Header["kid"] = 7
			s, _ := tok.SignedString(k.rsa)
			return s
		}(), "the kid header is not a string"},
		{"no kid with several keys", signKid(t, jwt.SigningMethodRS256, k.rsa, "", claims), `no key "" in the key set`},
	}
	for _, tc := range tests {
		_, err := v.Authenticate(request("/x", bearer(tc.tok)))
		if kind(err) != "refused" || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want refused with %q", tc.name, err, tc.want)
		}
	}
}

// TestJWKSNoKidOneKey: a token without a kid is verified by a set's only key.
func TestJWKSNoKidOneKey(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwkOf(t, "only", "", k.p256))
	v := jwksVerifier(t, srv, newClock(), auth.Options{})
	if _, err := v.Authenticate(request("/x", bearer(signKid(t, jwt.SigningMethodES256, k.p256, "", jwt.MapClaims{"sub": "a"})))); err != nil {
		t.Fatal(err)
	}
}

// TestJWKSRotation: a key published after the set was cached is fetched
// for the first token naming it, once JWKSMinInterval has passed since the
// last fetch (not a nanosecond before); the key removed with it is then
// refused; no restart.
func TestJWKSRotation(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwkOf(t, "old", "", k.rsa))
	clk := newClock()
	v := jwksVerifier(t, srv, clk, auth.Options{})
	claims := jwt.MapClaims{"sub": "alice"}
	oldTok := signKid(t, jwt.SigningMethodRS256, k.rsa, "old", claims)
	newTok := signKid(t, jwt.SigningMethodES256, k.p256, "new", claims)
	check := func(step, tok, want string, fetches int64) {
		t.Helper()
		_, err := v.Authenticate(request("/x", bearer(tok)))
		if kind(err) != want {
			t.Fatalf("%s: err = %v, want %s", step, err, want)
		}
		if n := srv.fetches.Load(); n != fetches {
			t.Fatalf("%s: %d fetches, want %d", step, n, fetches)
		}
	}
	check("old key, first token", oldTok, "ok", 1)
	srv.publish(jwkOf(t, "new", "", k.p256))
	check("new key within 10s of the fetch", newTok, "refused", 1)
	clk.Advance(auth.JWKSMinInterval - time.Nanosecond)
	check("new key a nanosecond before 10s", newTok, "refused", 1)
	clk.Advance(time.Nanosecond)
	check("new key at 10s", newTok, "ok", 2)
	check("old key, removed", oldTok, "refused", 2)
	check("new key again", newTok, "ok", 2)
	clk.Advance(auth.JWKSMinInterval)
	check("old key after 10s more", oldTok, "refused", 3)
}

// TestJWKSFlood: made-up kids cost one fetch per JWKSMinInterval however
// many arrive; the ones arriving during that fetch wait for it and share
// it, so a key published meanwhile is found by all.
func TestJWKSFlood(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwkOf(t, "a", "", k.rsa))
	clk := newClock()
	v := jwksVerifier(t, srv, clk, auth.Options{})
	claims := jwt.MapClaims{"sub": "alice"}
	if _, err := v.Authenticate(request("/x", bearer(signKid(t, jwt.SigningMethodRS256, k.rsa, "a", claims)))); err != nil {
		t.Fatal(err)
	}
	srv.waitFetch(t) // the first fetch
	srv.publish(jwkOf(t, "a", "", k.rsa), jwkOf(t, "c", "", k.p256))
	hold := make(chan struct{})
	srv.set(func(s *jwksServer) { s.hold = hold })
	clk.Advance(auth.JWKSMinInterval)

	const madeUp, genuine = 200, 20
	results := make(chan string, madeUp+genuine)
	var started sync.WaitGroup
	started.Add(madeUp + genuine)
	for i := range madeUp + genuine {
		tok := signKid(t, jwt.SigningMethodRS256, k.rsa, fmt.Sprintf("made-up-%d", i), claims)
		if i < genuine {
			tok = signKid(t, jwt.SigningMethodES256, k.p256, "c", claims)
		}
		go func() {
			started.Done()
			_, err := v.Authenticate(request("/x", bearer(tok)))
			results <- kind(err)
		}()
	}
	srv.waitFetch(t) // the second fetch is held at the server
	started.Wait()
	close(hold)
	counts := map[string]int{}
	for range madeUp + genuine {
		select {
		case r := <-results:
			counts[r]++
		case <-time.After(3 * patient):
			t.Fatalf("verifications still pending after %s: %v so far", 3*patient, counts)
		}
	}
	if counts["ok"] != genuine || counts["refused"] != madeUp {
		t.Errorf("results %v, want %d ok and %d refused", counts, genuine, madeUp)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Errorf("%d fetches, want 2 (one for the flood)", n)
	}
	// A second wave within the interval costs nothing.
	for i := range 50 {
		if _, err := v.Authenticate(request("/x", bearer(signKid(t, jwt.SigningMethodRS256, k.rsa, fmt.Sprintf("again-%d", i), claims)))); kind(err) != "refused" {
			t.Fatalf("made-up kid: %v, want refused", err)
		}
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Errorf("%d fetches after the second wave, want 2", n)
	}
}

// TestJWKSServerDown: once the set is cached, the server going away (or
// failing) changes nothing for known keys, even past the set's max-age,
// and the failed background refresh is logged; an unknown kid is refused
// (4002, not 1013) with the failed fetch as the reason.
func TestJWKSServerDown(t *testing.T) {
	for _, down := range []string{"closed", "503"} {
		t.Run(down, func(t *testing.T) {
			k := keys()
			srv := newJWKSServer(t, jwkOf(t, "a", "", k.rsa))
			clk := newClock()
			logs := make(logRecords, 10)
			v := jwksVerifier(t, srv, clk, auth.Options{Logger: slog.New(logs)})
			good := signKid(t, jwt.SigningMethodRS256, k.rsa, "a", jwt.MapClaims{"sub": "alice"})
			if _, err := v.Authenticate(request("/x", bearer(good))); err != nil {
				t.Fatal(err)
			}
			if down == "closed" {
				srv.Close()
			} else {
				srv.set(func(s *jwksServer) { s.status = http.StatusServiceUnavailable })
			}
			clk.Advance(time.Hour) // stale: a background refresh is tried, and fails
			for range 3 {
				if _, err := v.Authenticate(request("/x", bearer(good))); err != nil {
					t.Fatalf("known key with the server %s: %v", down, err)
				}
			}
			select {
			case r := <-logs:
				if r.Level != slog.LevelWarn || r.Message != "key set refresh failed; the cached keys stay in use" {
					t.Fatalf("log %s %q, want the failed refresh at warn level", r.Level, r.Message)
				}
			case <-time.After(patient):
				t.Fatal("the failed background refresh was not logged")
			}
			clk.Advance(auth.JWKSMinInterval)
			_, err := v.Authenticate(request("/x", bearer(signKid(t, jwt.SigningMethodES256, k.p256, "b", jwt.MapClaims{}))))
			if kind(err) != "refused" || !strings.Contains(err.Error(), `no key "b" in the cached key set, and fetching it again failed`) {
				t.Fatalf("unknown kid with the server %s: %v, want refused naming the failed fetch", down, err)
			}
			if _, err := v.Authenticate(request("/x", bearer(good))); err != nil {
				t.Fatalf("known key after the failed fetch: %v", err)
			}
		})
	}
}

// TestJWKSNeverFetched: while no set could ever be fetched, nothing can be
// checked: unavailable (1013), with one attempt per JWKSMinInterval; the
// first success serves.
func TestJWKSNeverFetched(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwkOf(t, "a", "", k.rsa))
	srv.set(func(s *jwksServer) { s.status = http.StatusInternalServerError })
	clk := newClock()
	v := jwksVerifier(t, srv, clk, auth.Options{})
	tok := signKid(t, jwt.SigningMethodRS256, k.rsa, "a", jwt.MapClaims{"sub": "alice"})
	for i := range 3 {
		_, err := v.Authenticate(request("/x", bearer(tok)))
		if kind(err) != "unavailable" || !strings.Contains(err.Error(), "500 Internal Server Error") {
			t.Fatalf("try %d: %v, want unavailable naming the 500", i, err)
		}
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
	srv.set(func(s *jwksServer) { s.status = 0 })
	clk.Advance(auth.JWKSMinInterval)
	if _, err := v.Authenticate(request("/x", bearer(tok))); err != nil {
		t.Fatal(err)
	}
}

// TestJWKSTimeout: a key set server that does not answer within the fetch
// timeout makes the check unavailable rather than hang.
func TestJWKSTimeout(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwkOf(t, "a", "", k.rsa))
	srv.set(func(s *jwksServer) { s.hold = make(chan struct{}) }) // never released: the request ends with the client
	v, err := auth.NewForTest(auth.Options{JWT: auth.JWTOptions{JWKSURL: srv.URL}, Logger: slog.New(slog.DiscardHandler)}, auth.TestEnv{JWKSTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Authenticate(request("/x", bearer(signKid(t, jwt.SigningMethodRS256, k.rsa, "a", jwt.MapClaims{}))))
	if kind(err) != "unavailable" || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("err = %v, want unavailable after the deadline", err)
	}
}

// TestJWKSRefreshAfterMaxAge: a set older than its max-age is fetched
// again in the background on the next token, which the cached keys still
// verify; a key rotated in meanwhile is found without another fetch.
func TestJWKSRefreshAfterMaxAge(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwkOf(t, "a", "", k.rsa))
	srv.set(func(s *jwksServer) { s.cacheControl = "public, max-age=120" })
	clk := newClock()
	v := jwksVerifier(t, srv, clk, auth.Options{})
	oldTok := signKid(t, jwt.SigningMethodRS256, k.rsa, "a", jwt.MapClaims{})
	newTok := signKid(t, jwt.SigningMethodEdDSA, k.ed, "b", jwt.MapClaims{})
	if _, err := v.Authenticate(request("/x", bearer(oldTok))); err != nil {
		t.Fatal(err)
	}
	srv.publish(jwkOf(t, "b", "", k.ed))
	clk.Advance(120 * time.Second)
	if _, err := v.Authenticate(request("/x", bearer(oldTok))); err != nil {
		t.Fatalf("cached key while the set refreshes: %v", err)
	}
	srv.waitFetch(t) // the initial one
	srv.waitFetch(t) // the refresh
	if _, err := v.Authenticate(request("/x", bearer(newTok))); err != nil {
		t.Fatalf("rotated key after the refresh: %v", err)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}

// TestJWKSUnusableKeys: keys that cannot verify are left out of the set
// with the reason, which a token naming them gets; encryption keys are
// ignored; a set with no usable key, or no set at all, is a failed fetch.
func TestJWKSUnusableKeys(t *testing.T) {
	k := keys()
	offCurve := jwkOf(t, "off", "", k.p256)
	offCurve["y"] = offCurve["x"]
	enc := jwkOf(t, "enc", "", k.rsa2)
	enc["use"] = "enc"
	wrongAlg := jwkOf(t, "wrong", "ES256", k.rsa2)
	srv := newJWKSServer(t,
		jwkOf(t, "good", "", k.rsa),
		jwkOf(t, "small", "", k.small),
		map[string]any{"kty": "oct", "kid": "hmac", "k": b64(secret)},
		offCurve, enc, wrongAlg,
		map[string]any{"kty": "EC", "kid": "k1", "crv": "secp256k1", "x": "AA", "y": "AA"},
	)
	v := jwksVerifier(t, srv, newClock(), auth.Options{})
	claims := jwt.MapClaims{}
	tests := []struct{ kid, want string }{
		{"good", ""},
		{"small", "cannot be used: the RSA key has 1024 bits"},
		{"hmac", `cannot be used: key type "oct" is not supported`},
		{"off", "cannot be used: the point is not on P-256"},
		{"wrong", `cannot be used: alg "ES256" does not fit an RSA key`},
		{"k1", `cannot be used: EC curve "secp256k1" is not supported`},
		{"enc", `no key "enc"`},
	}
	for _, tc := range tests {
		_, err := v.Authenticate(request("/x", bearer(signKid(t, jwt.SigningMethodRS256, k.rsa, tc.kid, claims))))
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.kid, err)
			}
			continue
		}
		if kind(err) != "refused" || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want refused with %q", tc.kid, err, tc.want)
		}
	}

	for name, body := range map[string][]map[string]any{
		"no usable key": {jwkOf(t, "small", "", k.small)},
		"only for enc":  {enc},
		"no keys":       nil,
	} {
		srv := newJWKSServer(t, body...)
		v := jwksVerifier(t, srv, newClock(), auth.Options{})
		_, err := v.Authenticate(request("/x", bearer(signKid(t, jwt.SigningMethodRS256, k.small, "small", claims))))
		if kind(err) != "unavailable" || !strings.Contains(err.Error(), "no usable signature key") && !strings.Contains(err.Error(), "not a JSON Web Key Set") {
			t.Errorf("%s: err = %v, want unavailable", name, err)
		}
	}
}

// TestJWKSOverTLS: an https:// key set is fetched with the certificate
// checked: a server the client does not trust serves no keys.
func TestJWKSOverTLS(t *testing.T) {
	k := keys()
	srv := newJWKSTLSServer(t, jwkOf(t, "a", "", k.rsa))
	tok := signKid(t, jwt.SigningMethodRS256, k.rsa, "a", jwt.MapClaims{})
	o := auth.Options{JWT: auth.JWTOptions{JWKSURL: srv.URL}, Logger: slog.New(slog.DiscardHandler)}
	trusting, err := auth.NewForTest(o, auth.TestEnv{Client: srv.Client(), JWKSTimeout: patient})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := trusting.Authenticate(request("/x", bearer(tok))); err != nil {
		t.Fatalf("with the test CA trusted: %v", err)
	}
	untrusting, err := auth.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := untrusting.Authenticate(request("/x", bearer(tok))); kind(err) != "unavailable" || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("with an unknown CA: %v, want unavailable for the certificate", err)
	}
}
