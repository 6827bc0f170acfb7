package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

func TestMaxAge(t *testing.T) {
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", jwksDefaultMaxAge},
		{"public, max-age=120", 2 * time.Minute},
		{"max-age=120, must-revalidate", 2 * time.Minute},
		{`Max-Age="600"`, 10 * time.Minute},
		{"max-age=5", jwksMinMaxAge},
		{"max-age=86400", jwksMaxMaxAge},
		{"max-age=99999999999999999999", jwksDefaultMaxAge}, // unparsable: ignored
		{"max-age=-1", jwksDefaultMaxAge},
		{"no-cache", jwksMinMaxAge},
		{"max-age=3000, no-store", jwksMinMaxAge},
	}
	for _, tc := range tests {
		if got := maxAge(http.Header{"Cache-Control": {tc.header}}); got != tc.want {
			t.Errorf("Cache-Control %q: fresh for %s, want %s", tc.header, got, tc.want)
		}
	}
}

// TestFreshness: a cached set is fetched again by the first token at or
// after its max-age, not before. The decision is taken within key, so
// lastFetch shows it at once.
func TestFreshness(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	x := base64.RawURLEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=90")
		fmt.Fprintf(w, `{"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "a", "x": %q}]}`, x)
	}))
	defer srv.Close()
	var mu sync.Mutex
	t0 := time.Unix(1_800_000_000, 0)
	now := t0
	s := &keySet{url: srv.URL, client: srv.Client(), timeout: 10 * time.Second, log: slog.New(slog.DiscardHandler), now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}}
	at := func(d time.Duration) time.Time {
		mu.Lock()
		now = t0.Add(d)
		mu.Unlock()
		if _, err := s.key(context.Background(), "a", "EdDSA"); err != nil {
			t.Fatal(err)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.lastFetch
	}
	if got := at(0); !got.Equal(t0) {
		t.Fatalf("first fetch at %v", got)
	}
	if got := at(90*time.Second - time.Nanosecond); !got.Equal(t0) {
		t.Fatalf("fetched again before max-age, at %v", got.Sub(t0))
	}
	if got := at(90 * time.Second); !got.Equal(t0.Add(90 * time.Second)) {
		t.Fatalf("not fetched again at max-age: last fetch at %v", got.Sub(t0))
	}
	s.mu.Lock()
	done := s.inflight
	s.mu.Unlock()
	if done != nil {
		<-done // bounded by the fetch timeout
	}
}
