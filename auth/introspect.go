package auth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/wsgw/wsgw"
)

// The introspection cache's limits.
const (
	// NegativeCacheTTL caps how long a refusal (active false, 401, 403,
	// 404) is reused: long enough that a flood of one bad token costs one
	// request every few seconds, short enough that a token being issued
	// while it is tried is not refused for long.
	NegativeCacheTTL = 5 * time.Second
	// maxCachedAnswers bounds the cache; past it, expired answers are
	// dropped, then arbitrary ones. An eviction only costs a request.
	maxCachedAnswers = 10000
	// maxExp is the latest exp taken as such (the year 36812), so that a
	// huge one cannot overflow a time.Time.
	maxExp = 1 << 40
)

// introspector checks opaque tokens the RFC 7662 way. Answers are cached
// per token under the SHA-256 of the token, never the token itself, and
// concurrent checks of one token share one request. Each request runs on
// its own goroutine bounded by timeout, so a slow server delays only the
// upgrades waiting for that token, and a waiter whose client leaves stops
// waiting without cancelling the request for the others.
type introspector struct {
	url       string
	secret    string
	timeout   time.Duration
	ttl       time.Duration
	client    *http.Client
	now       func() time.Time
	maxCached int

	mu      sync.Mutex
	cache   map[[sha256.Size]byte]answer
	flights map[[sha256.Size]byte]*flight
}

// answer is what the server said of a token, and until when it is reused.
type answer struct {
	claims  map[string]any
	expires time.Time // the token's exp; zero for none
	refused error     // the server refused the token
	until   time.Time
}

// flight is a request in progress, which every check of its token waits for.
type flight struct {
	done chan struct{}
	a    answer
	err  error // the server could not answer
}

func newIntrospector(o IntrospectOptions, now func() time.Time, client *http.Client) *introspector {
	in := &introspector{
		url: o.URL, secret: o.ClientSecret, timeout: o.Timeout, ttl: o.CacheTTL,
		client: client, now: now, maxCached: maxCachedAnswers,
		cache:   map[[sha256.Size]byte]answer{},
		flights: map[[sha256.Size]byte]*flight{},
	}
	if in.timeout == 0 {
		in.timeout = DefaultIntrospectTimeout
	}
	if in.ttl == 0 {
		in.ttl = DefaultIntrospectCacheTTL
	}
	return in
}

func (in *introspector) check(ctx context.Context, tok string) (wsgw.Identity, error) {
	key := sha256.Sum256([]byte(tok))
	in.mu.Lock()
	if a, ok := in.cache[key]; ok && in.now().Before(a.until) {
		in.mu.Unlock()
		return a.identity(in.now())
	}
	f := in.flights[key]
	if f == nil {
		f = &flight{done: make(chan struct{})}
		in.flights[key] = f
		go in.fly(context.WithoutCancel(ctx), key, tok, f)
	}
	in.mu.Unlock()
	select {
	case <-f.done:
	case <-ctx.Done():
		return wsgw.Identity{}, fmt.Errorf("%w: waiting for introspection: %w", wsgw.ErrAuthUnavailable, ctx.Err())
	}
	if f.err != nil {
		return wsgw.Identity{}, f.err
	}
	return f.a.identity(in.now())
}

// fly asks the server about one token and caches the answer.
func (in *introspector) fly(ctx context.Context, key [sha256.Size]byte, tok string, f *flight) {
	defer close(f.done)
	ctx, cancel := context.WithTimeout(ctx, in.timeout)
	defer cancel()
	f.a, f.err = in.ask(ctx, tok)
	in.mu.Lock()
	defer in.mu.Unlock()
	delete(in.flights, key)
	if f.err == nil {
		in.store(key, f.a)
	}
}

// store caches an answer. in.mu is held.
func (in *introspector) store(key [sha256.Size]byte, a answer) {
	if len(in.cache) >= in.maxCached {
		now := in.now()
		for k, e := range in.cache {
			if !now.Before(e.until) {
				delete(in.cache, k)
			}
		}
		for k := range in.cache {
			if len(in.cache) < in.maxCached {
				break
			}
			delete(in.cache, k)
		}
	}
	in.cache[key] = a
}

// identity is the answer as a verified identity, or the refusal. A token
// whose exp has passed is refused, cached or not.
func (a answer) identity(now time.Time) (wsgw.Identity, error) {
	if a.refused != nil {
		return wsgw.Identity{}, a.refused
	}
	if !a.expires.IsZero() && !now.Before(a.expires) {
		return wsgw.Identity{}, fmt.Errorf("%w: the token expired at %s", wsgw.ErrAuthRefused, a.expires.UTC().Format(time.RFC3339))
	}
	return wsgw.Identity{Claims: a.claims, Expires: a.expires}, nil
}

// ask POSTs the token to the server. An answer, refusals included, comes
// back as an answer; an error wraps ErrAuthUnavailable. Redirects are not
// followed: the token goes to the configured URL only.
func (in *introspector) ask(ctx context.Context, tok string) (answer, error) {
	unavailable := func(format string, args ...any) (answer, error) {
		return answer{}, fmt.Errorf("%w: introspection at %s: %s", wsgw.ErrAuthUnavailable, in.url, fmt.Sprintf(format, args...))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.url, strings.NewReader(url.Values{"token": {tok}}.Encode()))
	if err != nil {
		return unavailable("%v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if in.secret != "" {
		req.Header.Set("Authorization", "Bearer "+in.secret)
	}
	resp, err := in.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return unavailable("no answer within %s", in.timeout)
		}
		return unavailable("%v", unwrapURLError(err))
	}
	defer resp.Body.Close()
	now := in.now()
	refused := func(format string, args ...any) (answer, error) {
		return answer{
			refused: fmt.Errorf("%w: %s", wsgw.ErrAuthRefused, fmt.Sprintf(format, args...)),
			until:   now.Add(min(in.ttl, NegativeCacheTTL)),
		}, nil
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return refused("the introspection server answered %s", resp.Status)
	default:
		return unavailable("answered %s", resp.Status)
	}
	body, err := readBody(resp.Body)
	if err != nil {
		return unavailable("%v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(body, &claims); err != nil || claims == nil {
		return unavailable("the answer is not a JSON object")
	}
	active, ok := claims["active"].(bool)
	if !ok {
		return unavailable("the answer has no boolean \"active\"")
	}
	if !active {
		return refused("the token is not active")
	}
	a := answer{claims: claims, until: now.Add(in.ttl)}
	if exp, ok := claims["exp"].(float64); ok {
		sec, frac := math.Modf(min(exp, maxExp))
		a.expires = time.Unix(int64(sec), int64(frac*1e9))
		if !now.Before(a.expires) {
			return refused("the token expired at %s", a.expires.UTC().Format(time.RFC3339))
		}
		a.until = minTime(a.until, a.expires)
	}
	return a, nil
}

// unwrapURLError drops the "Post URL:" prefix that the error message
// already carries.
func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
