package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgw/wsgw"
)

// patient is the timeout of checks that only a failure reaches: long
// enough for a loaded machine, bounded all the same.
const patient = 10 * time.Second

// clock is a settable time, so that tests cross exact boundaries without
// waiting.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_800_000_000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// signKid signs claims with key and method, naming kid in the header ("" for none).
func signKid(t testing.TB, m jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jwkOf is the public JWK of a private key, with kid and, when given, alg.
func jwkOf(t testing.TB, kid, alg string, priv any) map[string]any {
	t.Helper()
	k := map[string]any{"kid": kid, "use": "sig"}
	if alg != "" {
		k["alg"] = alg
	}
	switch p := priv.(type) {
	case *rsa.PrivateKey:
		k["kty"], k["n"], k["e"] = "RSA", b64(p.N.Bytes()), b64(big.NewInt(int64(p.E)).Bytes())
	case *ecdsa.PrivateKey:
		raw, err := p.PublicKey.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		size := (len(raw) - 1) / 2
		k["kty"], k["crv"], k["x"], k["y"] = "EC", p.Curve.Params().Name, b64(raw[1:1+size]), b64(raw[1+size:])
	case ed25519.PrivateKey:
		k["kty"], k["crv"], k["x"] = "OKP", "Ed25519", b64(p.Public().(ed25519.PublicKey))
	default:
		t.Fatalf("no JWK for %T", priv)
	}
	return k
}

// jwksServer is a real HTTP JWKS endpoint whose keys the test changes; it
// counts the fetches and signals each one.
type jwksServer struct {
	*httptest.Server
	fetches atomic.Int64
	fetched chan struct{} // one value per fetch, dropped when full

	mu           sync.Mutex
	keys         []map[string]any
	status       int           // 0 answers 200
	cacheControl string        // the Cache-Control header, when set
	hold         chan struct{} // when set, each fetch waits for it to close
}

func newJWKSServer(t testing.TB, keys ...map[string]any) *jwksServer {
	s := &jwksServer{fetched: make(chan struct{}, 1000), keys: keys}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Server.Close)
	return s
}

// newJWKSTLSServer is newJWKSServer over HTTPS, with its own test CA.
func newJWKSTLSServer(t testing.TB, keys ...map[string]any) *jwksServer {
	s := &jwksServer{fetched: make(chan struct{}, 1000), keys: keys}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Server.Close)
	return s
}

func (s *jwksServer) serve(w http.ResponseWriter, r *http.Request) {
	s.fetches.Add(1)
	select {
	case s.fetched <- struct{}{}:
	default:
	}
	s.mu.Lock()
	keys, status, cc, hold := s.keys, s.status, s.cacheControl, s.hold
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
	}
	if cc != "" {
		w.Header().Set("Cache-Control", cc)
	}
	if status != 0 {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
}

func (s *jwksServer) publish(keys ...map[string]any) {
	s.mu.Lock()
	s.keys = keys
	s.mu.Unlock()
}

func (s *jwksServer) set(f func(s *jwksServer)) {
	s.mu.Lock()
	f(s)
	s.mu.Unlock()
}

// waitFetch waits for the next fetch to be received, bounded.
func (s *jwksServer) waitFetch(t testing.TB) {
	t.Helper()
	select {
	case <-s.fetched:
	case <-time.After(patient):
		t.Fatalf("no fetch of the key set within %s", patient)
	}
}

// logRecords is a slog handler that hands each record to a channel,
// dropping those that do not fit.
type logRecords chan slog.Record

func (l logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l logRecords) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l logRecords) WithGroup(string) slog.Handler            { return l }
func (l logRecords) Handle(_ context.Context, r slog.Record) error {
	select {
	case l <- r:
	default:
	}
	return nil
}

// kind names which of the three failures err is.
func kind(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, wsgw.ErrNoToken):
		return "no token"
	case errors.Is(err, wsgw.ErrAuthUnavailable):
		return "unavailable"
	case errors.Is(err, wsgw.ErrAuthRefused):
		return "refused"
	}
	return "unclassified"
}
