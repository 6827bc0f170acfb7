package auth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsgw/wsgw/auth"
)

// introServer is a real RFC 7662 endpoint. What it answers depends on the
// token's prefix, before the first colon:
//
//	good     200 active, sub alice, exp in an hour
//	noexp    200 active, no exp
//	soon     200 active, exp 10s after the server first saw the token
//	expired  200 active, exp a second ago
//	inactive 200 {"active": false}
//	unauth, forbidden, gone   401, 403, 404
//	broken   500
//	badjson  200 with a body that is not JSON
//	noactive 200 without "active"
//	redirect 307 to another URL
//	held     waits for release, then answers as good
//	slow     waits until the client gives up
type introServer struct {
	*httptest.Server
	now      func() time.Time
	secret   string // when set, requests must carry it as a bearer token
	requests atomic.Int64
	arrived  chan string   // the token of each request, dropped when full
	release  chan struct{} // closing it answers the held requests

	mu     sync.Mutex
	soon   map[string]int64 // the exp of each "soon" token
	counts map[string]int
	seen   []*http.Request
}

func newIntroServer(t testing.TB, now func() time.Time, secret string) *introServer {
	s := &introServer{now: now, soon: map[string]int64{}, secret: secret, arrived: make(chan string, 1000), release: make(chan struct{}), counts: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		s.releaseHeld()
		s.Server.Close()
	})
	return s
}

func (s *introServer) releaseHeld() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.release:
	default:
		close(s.release)
	}
}

func (s *introServer) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	tok := r.PostFormValue("token")
	s.mu.Lock()
	s.counts[tok]++
	if _, ok := s.soon[tok]; !ok {
		s.soon[tok] = s.now().Unix() + 10
	}
	soon := s.soon[tok]
	s.seen = append(s.seen, r)
	s.mu.Unlock()
	select {
	case s.arrived <- tok:
	default:
	}
	if s.secret != "" && r.Header.Get("Authorization") != "Bearer "+s.secret {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	now := s.now().Unix()
	answer := func(v map[string]any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	good := map[string]any{"active": true, "sub": "alice", "scope": "websocketd", "exp": now + 3600}
	prefix, _, _ := strings.Cut(tok, ":")
	switch prefix {
	case "good":
		answer(good)
	case "noexp":
		answer(map[string]any{"active": true, "username": "bob"})
	case "soon":
		answer(map[string]any{"active": true, "sub": "alice", "exp": soon})
	case "expired":
		answer(map[string]any{"active": true, "sub": "alice", "exp": now - 1})
	case "inactive":
		answer(map[string]any{"active": false})
	case "unauth":
		w.WriteHeader(http.StatusUnauthorized)
	case "forbidden":
		w.WriteHeader(http.StatusForbidden)
	case "gone":
		w.WriteHeader(http.StatusNotFound)
	case "broken":
		w.WriteHeader(http.StatusInternalServerError)
	case "badjson":
		_, _ = w.Write([]byte("<html>oops</html>"))
	case "noactive":
		answer(map[string]any{"sub": "alice"})
	case "redirect":
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	case "held":
		select {
		case <-s.release:
			answer(good)
		case <-r.Context().Done():
		}
	case "slow":
		<-r.Context().Done()
	default:
		w.WriteHeader(http.StatusBadRequest)
	}
}

func (s *introServer) count(tok string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[tok]
}

func (s *introServer) waitArrival(t testing.TB, tok string) {
	t.Helper()
	for {
		select {
		case got := <-s.arrived:
			if got == tok {
				return
			}
		case <-time.After(patient):
			t.Fatalf("no introspection request for the token within %s", patient)
		}
	}
}

func introVerifier(t testing.TB, srv *introServer, clk *clock, in auth.IntrospectOptions) *auth.Verifier {
	t.Helper()
	in.URL = srv.URL + "/introspect"
	if in.Timeout == 0 {
		in.Timeout = patient
	}
	v, err := auth.NewForTest(auth.Options{TokenFrom: []auth.Source{auth.Query}, Introspect: in}, auth.TestEnv{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func introspect(v *auth.Verifier, tok string) (map[string]any, string, time.Time, error) {
	id, err := v.Authenticate(request("/x?token="+tok, nil))
	return id.Claims, id.UserID, id.Expires, err
}

// TestIntrospectAnswers: what each answer of the server becomes: admitted
// with its claims, refused (4002), or unavailable (1013). No error
// carries the token.
func TestIntrospectAnswers(t *testing.T) {
	clk := newClock()
	srv := newIntroServer(t, clk.Now, "")
	v := introVerifier(t, srv, clk, auth.IntrospectOptions{})
	tests := []struct {
		tok, kind, want string
	}{
		{"good:Zm9vYmFy", "ok", ""},
		{"noexp:Zm9vYmFy", "ok", ""},
		{"expired:Zm9vYmFy", "refused", "the token expired at"},
		{"inactive:Zm9vYmFy", "refused", "the token is not active"},
		{"unauth:Zm9vYmFy", "refused", "401 Unauthorized"},
		{"forbidden:Zm9vYmFy", "refused", "403 Forbidden"},
		{"gone:Zm9vYmFy", "refused", "404 Not Found"},
		{"broken:Zm9vYmFy", "unavailable", "answered 500 Internal Server Error"},
		{"badjson:Zm9vYmFy", "unavailable", "the answer is not a JSON object"},
		{"noactive:Zm9vYmFy", "unavailable", `the answer has no boolean "active"`},
		{"redirect:Zm9vYmFy", "unavailable", "answered 307 Temporary Redirect"},
	}
	for _, tc := range tests {
		claims, user, expires, err := introspect(v, tc.tok)
		if kind(err) != tc.kind || tc.want != "" && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %s with %q", tc.tok, err, tc.kind, tc.want)
			continue
		}
		if err != nil && strings.Contains(err.Error(), tc.tok) {
			t.Errorf("%s: the error carries the token: %v", tc.tok, err)
		}
		switch tc.tok {
		case "good:Zm9vYmFy":
			if claims["scope"] != "websocketd" || claims["active"] != true || user != "alice" || !expires.Equal(clk.Now().Add(time.Hour)) {
				t.Errorf("good: claims %v, user %q, expires %v", claims, user, expires)
			}
		case "noexp:Zm9vYmFy":
			if claims["username"] != "bob" || user != "" || !expires.IsZero() {
				t.Errorf("noexp: claims %v, user %q, expires %v", claims, user, expires)
			}
		}
	}
	// A server that does not answer within the timeout.
	sv := introVerifier(t, srv, clk, auth.IntrospectOptions{Timeout: 200 * time.Millisecond})
	if _, _, _, err := introspect(sv, "slow:Zm9vYmFy"); kind(err) != "unavailable" || !strings.Contains(err.Error(), "no answer within 200ms") {
		t.Errorf("slow server: %v, want unavailable at the timeout", err)
	}
	// A server that cannot be reached at all.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	dv, _ := auth.New(auth.Options{Introspect: auth.IntrospectOptions{URL: dead.URL}})
	if _, err := dv.Authenticate(request("/x", bearer("good:x"))); kind(err) != "unavailable" || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("unreachable server: %v, want unavailable", err)
	}
}

// TestIntrospectRequest: the token is POSTed form-encoded (escaped), with
// the client secret as a bearer token when one is set, and none otherwise.
func TestIntrospectRequest(t *testing.T) {
	clk := newClock()
	srv := newIntroServer(t, clk.Now, "s3cret")
	in := auth.IntrospectOptions{URL: srv.URL, Timeout: patient, ClientSecretEnv: "INTROSPECT_SECRET", ClientSecret: "s3cret"}
	v, err := auth.NewForTest(auth.Options{Introspect: in}, auth.TestEnv{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	tok := "good:a+b/c=d&e"
	if _, err := v.Authenticate(request("/x", bearer(tok))); err != nil {
		t.Fatal(err)
	}
	if srv.count(tok) != 1 {
		t.Fatalf("the server saw the token %d times, want once intact", srv.count(tok))
	}
	r := srv.seen[0]
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.Header.Get("Authorization") != "Bearer s3cret" {
		t.Errorf("request %s, Content-Type %q, Authorization %q", r.Method, r.Header.Get("Content-Type"), r.Header.Get("Authorization"))
	}
	// Without the secret the server refuses; nothing is sent in its place.
	open, _ := auth.NewForTest(auth.Options{Introspect: auth.IntrospectOptions{URL: srv.URL, Timeout: patient}}, auth.TestEnv{Now: clk.Now})
	if _, err := open.Authenticate(request("/x", bearer("good:2"))); kind(err) != "refused" || !strings.Contains(err.Error(), "401") {
		t.Errorf("without the secret: %v, want refused for the 401", err)
	}
	if got := srv.seen[1].Header.Get("Authorization"); got != "" {
		t.Errorf("without a secret, Authorization %q was sent", got)
	}
}

// TestIntrospectCache: an answer is reused for cache_ttl, at most until
// the token's exp; a refusal for NegativeCacheTTL at most; a failure is
// not reused.
func TestIntrospectCache(t *testing.T) {
	clk := newClock()
	srv := newIntroServer(t, clk.Now, "")
	v := introVerifier(t, srv, clk, auth.IntrospectOptions{CacheTTL: 30 * time.Second})
	ask := func(step, tok, wantKind string, wantRequests int) {
		t.Helper()
		_, _, _, err := introspect(v, tok)
		if kind(err) != wantKind {
			t.Fatalf("%s: err = %v, want %s", step, err, wantKind)
		}
		if n := srv.count(tok); n != wantRequests {
			t.Fatalf("%s: %d requests for the token, want %d", step, n, wantRequests)
		}
	}
	ask("first", "good:1", "ok", 1)
	ask("again", "good:1", "ok", 1)
	clk.Advance(30*time.Second - time.Nanosecond)
	ask("just before cache_ttl", "good:1", "ok", 1)
	clk.Advance(time.Nanosecond)
	ask("at cache_ttl", "good:1", "ok", 2)

	ask("exp in 10s", "soon:1", "ok", 1)
	clk.Advance(10 * time.Second)
	ask("at exp, cached", "soon:1", "refused", 2) // the cache ended at exp; the server now says expired
	ask("expired, cached refusal", "soon:1", "refused", 2)

	ask("inactive", "inactive:1", "refused", 1)
	ask("inactive again", "inactive:1", "refused", 1)
	ask("401", "unauth:1", "refused", 1)
	ask("401 again", "unauth:1", "refused", 1)
	clk.Advance(auth.NegativeCacheTTL)
	ask("inactive after NegativeCacheTTL", "inactive:1", "refused", 2)
	ask("401 after NegativeCacheTTL", "unauth:1", "refused", 2)

	ask("500", "broken:1", "unavailable", 1)
	ask("500 again", "broken:1", "unavailable", 2)

	// A short cache_ttl also shortens the negative cache.
	short := introVerifier(t, srv, clk, auth.IntrospectOptions{CacheTTL: time.Second})
	for i, want := range []int{3, 3} {
		if _, _, _, err := introspect(short, "inactive:1"); kind(err) != "refused" || srv.count("inactive:1") != want {
			t.Fatalf("short cache, try %d: %v, %d requests", i, err, srv.count("inactive:1"))
		}
	}
	clk.Advance(time.Second)
	if _, _, _, err := introspect(short, "inactive:1"); kind(err) != "refused" || srv.count("inactive:1") != 4 {
		t.Fatalf("short cache after 1s: %v, %d requests, want 4", err, srv.count("inactive:1"))
	}
}

// TestIntrospectCacheBound: the cache holds at most its size; past it,
// answers are dropped and asked again.
func TestIntrospectCacheBound(t *testing.T) {
	clk := newClock()
	srv := newIntroServer(t, clk.Now, "")
	v, err := auth.NewForTest(auth.Options{Introspect: auth.IntrospectOptions{URL: srv.URL, Timeout: patient}}, auth.TestEnv{Now: clk.Now, MaxCached: 3})
	if err != nil {
		t.Fatal(err)
	}
	const tokens = 8
	for round := range 2 {
		for i := range tokens {
			if _, err := v.Authenticate(request("/x", bearer(fmt.Sprintf("good:%d", i)))); err != nil {
				t.Fatalf("round %d, token %d: %v", round, i, err)
			}
		}
	}
	// The second round found at most 3 answers cached.
	if n := srv.requests.Load(); n < 2*tokens-3 {
		t.Fatalf("%d requests for %d tokens asked twice with room for 3 answers: the cache holds more than its size", n, tokens)
	}
}

// TestIntrospectOneRequestPerToken: concurrent checks of one token share
// one request and its answer.
func TestIntrospectOneRequestPerToken(t *testing.T) {
	clk := newClock()
	srv := newIntroServer(t, clk.Now, "")
	v := introVerifier(t, srv, clk, auth.IntrospectOptions{})
	const n = 50
	results := make(chan error, n)
	var started sync.WaitGroup
	started.Add(n)
	for range n {
		go func() {
			started.Done()
			_, _, _, err := introspect(v, "held:1")
			results <- err
		}()
	}
	srv.waitArrival(t, "held:1")
	started.Wait()
	srv.releaseHeld()
	for range n {
		select {
		case err := <-results:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a check still waits 10s after the answer")
		}
	}
	if got := srv.count("held:1"); got != 1 {
		t.Fatalf("%d requests for %d concurrent checks of one token, want 1", got, n)
	}
}

// TestIntrospectSlowServerStallsNoOneElse: while the server holds one
// token's request, other tokens are checked; a client that gives up stops
// waiting at once without cancelling the request the others share. (The
// held request ending at the timeout is in TestIntrospectAnswers.)
func TestIntrospectSlowServerStallsNoOneElse(t *testing.T) {
	clk := newClock()
	srv := newIntroServer(t, clk.Now, "")
	v := introVerifier(t, srv, clk, auth.IntrospectOptions{})
	held := make(chan error, 1)
	go func() {
		_, _, _, err := introspect(v, "held:1")
		held <- err
	}()
	srv.waitArrival(t, "held:1")
	for i := range 5 {
		if _, _, _, err := introspect(v, fmt.Sprintf("good:%d", i)); err != nil {
			t.Fatalf("another token while the server holds one: %v", err)
		}
	}
	select {
	case err := <-held:
		t.Fatalf("the held check ended before the server answered: %v", err)
	default:
	}
	srv.releaseHeld()
	if err := <-held; err != nil {
		t.Fatalf("the held check: %v", err)
	}

	// A client that leaves: its check ends with its context; the request
	// goes on and its answer serves the next check of that token.
	srv = newIntroServer(t, clk.Now, "")
	v = introVerifier(t, srv, clk, auth.IntrospectOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() {
		_, err := v.Authenticate(request("/x?token=held:2", nil).WithContext(ctx))
		left <- err
	}()
	srv.waitArrival(t, "held:2")
	cancel()
	if err := <-left; kind(err) != "unavailable" || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("the leaving client's check: %v, want unavailable", err)
	}
	srv.releaseHeld()
	if _, _, _, err := introspect(v, "held:2"); err != nil {
		t.Fatal(err)
	}
	if got := srv.count("held:2"); got != 1 {
		t.Fatalf("%d requests for held:2, want 1 (the one the leaving client started)", got)
	}
}
