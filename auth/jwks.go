package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wsgw/wsgw"
)

// The key set's fetching policy.
const (
	// JWKSMinInterval is the least time between two fetches of a key set,
	// whatever asks for them: a flood of tokens with made-up kids costs at
	// most one fetch per interval.
	JWKSMinInterval = 10 * time.Second
	// jwksDefaultMaxAge is how long a set is fresh when its answer has no
	// Cache-Control max-age; max-age is clamped to [jwksMinMaxAge, jwksMaxMaxAge].
	jwksDefaultMaxAge = 5 * time.Minute
	jwksMinMaxAge     = time.Minute
	jwksMaxMaxAge     = time.Hour
	jwksTimeout       = 5 * time.Second // one fetch
	maxBodyBytes      = 1 << 20         // a key set or an introspection answer
)

// keySet is the keys of a JWKS URL, fetched when first needed and cached.
// A token whose kid the set lacks makes it fetch again (at most every
// JWKSMinInterval; concurrent misses wait for one fetch); a set older than
// its max-age is fetched again in the background while its keys go on
// verifying. A failed fetch keeps the keys it had.
type keySet struct {
	url     string
	client  *http.Client
	timeout time.Duration
	now     func() time.Time
	log     *slog.Logger

	mu         sync.Mutex
	keys       map[string][]verifyKey // by kid
	skipped    map[string]string      // kid → why that key cannot be used
	count      int                    // keys in the set
	loaded     bool                   // a fetch has succeeded once
	freshUntil time.Time
	lastFetch  time.Time     // start of the last fetch, zero before the first
	lastErr    error         // of the last fetch, nil when it succeeded
	inflight   chan struct{} // closed when the running fetch ends; nil when none runs
}

// key returns the key that verifies a token with this kid and alg.
func (s *keySet) key(ctx context.Context, kid, alg string) (any, error) {
	s.mu.Lock()
	cands, found := s.lookup(kid)
	if found {
		if !s.now().Before(s.freshUntil) && s.inflight == nil && s.mayFetch() {
			s.fetch(ctx, true)
		}
		s.mu.Unlock()
		return pick(cands, kid, alg)
	}
	done := s.inflight
	if done == nil && s.mayFetch() {
		done = s.fetch(ctx, false)
	}
	s.mu.Unlock()
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: waiting for the key set: %w", wsgw.ErrAuthUnavailable, ctx.Err())
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cands, found = s.lookup(kid); found {
		return pick(cands, kid, alg)
	}
	switch {
	case !s.loaded && s.lastErr != nil:
		return nil, fmt.Errorf("%w: no key set fetched from %s yet: %w", wsgw.ErrAuthUnavailable, s.url, s.lastErr)
	case !s.loaded:
		return nil, fmt.Errorf("%w: no key set fetched from %s yet", wsgw.ErrAuthUnavailable, s.url)
	case s.skipped[kid] != "":
		return nil, fmt.Errorf("%w: key %q of the set cannot be used: %s", wsgw.ErrAuthRefused, kid, s.skipped[kid])
	case s.lastErr != nil:
		return nil, fmt.Errorf("%w: no key %q in the cached key set, and fetching it again failed: %w", wsgw.ErrAuthRefused, kid, s.lastErr)
	case done == nil:
		return nil, fmt.Errorf("%w: no key %q in the key set (fetched again at most every %s)", wsgw.ErrAuthRefused, kid, JWKSMinInterval)
	}
	return nil, fmt.Errorf("%w: no key %q in the key set", wsgw.ErrAuthRefused, kid)
}

// lookup finds the keys for kid. A token without a kid uses the keys
// without one, or the set's only key. s.mu is held.
func (s *keySet) lookup(kid string) ([]verifyKey, bool) {
	if cands := s.keys[kid]; len(cands) > 0 {
		return cands, true
	}
	if kid == "" && s.count == 1 {
		for _, cands := range s.keys {
			return cands, true
		}
	}
	return nil, false
}

// pick returns the key of cands made for alg.
func pick(cands []verifyKey, kid, alg string) (any, error) {
	for _, k := range cands {
		if k.alg == alg {
			return k.key, nil
		}
	}
	return nil, fmt.Errorf("%w: key %q verifies %s, but the token says %s", wsgw.ErrAuthRefused, kid, cands[0].alg, alg)
}

// mayFetch reports whether JWKSMinInterval has passed since the last fetch
// began. s.mu is held.
func (s *keySet) mayFetch() bool {
	return s.lastFetch.IsZero() || s.now().Sub(s.lastFetch) >= JWKSMinInterval
}

// fetch starts a fetch and returns the channel closed when it ends. It
// runs on its own goroutine with its own deadline, so that a waiter giving
// up cancels nothing the others wait for. s.mu is held.
func (s *keySet) fetch(ctx context.Context, background bool) chan struct{} {
	done := make(chan struct{})
	s.inflight, s.lastFetch = done, s.now()
	ctx = context.WithoutCancel(ctx)
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(ctx, s.timeout)
		defer cancel()
		set, err := s.get(ctx)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.inflight, s.lastErr = nil, err
		if err != nil {
			if background {
				s.log.Warn("key set refresh failed; the cached keys stay in use", "url", s.url, "err", err)
			}
			return
		}
		s.keys, s.skipped, s.count, s.loaded = set.keys, set.skipped, set.count, true
		s.freshUntil = s.lastFetch.Add(set.maxAge)
	}()
	return done
}

type fetched struct {
	keys    map[string][]verifyKey
	skipped map[string]string
	count   int
	maxAge  time.Duration
}

// get fetches and parses the set. Keys that cannot verify are left out
// (recorded in skipped); a set with no usable key is an error.
func (s *keySet) get(ctx context.Context) (fetched, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return fetched{}, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return fetched{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fetched{}, fmt.Errorf("%s answered %s", s.url, resp.Status)
	}
	body, err := readBody(resp.Body)
	if err != nil {
		return fetched{}, fmt.Errorf("reading the key set: %w", err)
	}
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Keys == nil {
		return fetched{}, fmt.Errorf("%s is not a JSON Web Key Set (want {\"keys\": [...]})", s.url)
	}
	set := fetched{keys: map[string][]verifyKey{}, skipped: map[string]string{}, maxAge: maxAge(resp.Header)}
	var why []string
	for i, raw := range doc.Keys {
		var k jwk
		if err := json.Unmarshal(raw, &k); err != nil {
			why = append(why, fmt.Sprintf("keys[%d]: %v", i, err))
			continue
		}
		vk, err := parseJWK(k)
		switch {
		case errors.Is(err, errNotForSigning):
		case err != nil:
			set.skipped[k.Kid] = err.Error()
			why = append(why, fmt.Sprintf("key %q: %v", k.Kid, err))
		default:
			set.keys[k.Kid] = append(set.keys[k.Kid], vk)
			set.count++
		}
	}
	if set.count == 0 {
		if len(why) == 0 {
			why = append(why, "it has none for signatures")
		}
		return fetched{}, fmt.Errorf("the key set at %s has no usable signature key (%s)", s.url, strings.Join(why, "; "))
	}
	return set, nil
}

// maxAge is how long an answer stays fresh by its Cache-Control header.
func maxAge(h http.Header) time.Duration {
	age := jwksDefaultMaxAge
	for _, d := range strings.Split(h.Get("Cache-Control"), ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(name) {
		case "no-cache", "no-store":
			return jwksMinMaxAge
		case "max-age":
			if n, err := strconv.ParseInt(strings.Trim(value, `"`), 10, 64); err == nil && n >= 0 {
				age = time.Duration(min(n, int64(jwksMaxMaxAge/time.Second))) * time.Second
			}
		}
	}
	return min(max(age, jwksMinMaxAge), jwksMaxMaxAge)
}

// readBody reads at most maxBodyBytes.
func readBody(r io.Reader) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, maxBodyBytes+1))
	if err == nil && len(body) > maxBodyBytes {
		err = fmt.Errorf("the answer is larger than %d bytes", maxBodyBytes)
	}
	return body, err
}
