// Package auth checks the token a client presents when it upgrades: where
// the token is found in the request (header, query parameter or cookie, by
// configurable names), how it is verified, and the identity it carries. It
// knows nothing of WebSockets or configuration files: Options is the auth
// block of the YAML file and of deploy bodies, and New turns it into a
// Verifier: an endpoint's credential check (deploy.Authenticator).
//
// A token is verified in one of three ways:
//
//   - a JSON Web Token with a fixed key: an HS256 secret, or an RS256 or
//     ES256 public key. Only that algorithm is accepted.
//   - a JSON Web Token with the keys of a JWKS URL. Each key fixes its own
//     algorithm (its alg member, else its type and curve), so a token cannot
//     choose how it is checked; "none" and HMAC are never accepted. The set
//     is fetched when first needed and cached. It is fetched again when a
//     token names an unknown kid, but never more than once every
//     JWKSMinInterval (10s), whoever asks: concurrent misses wait for the
//     same fetch, later ones are refused without one. A set older than its
//     Cache-Control max-age (5 minutes without one, clamped to [1m, 1h]) is
//     fetched again in the background while its keys go on verifying, so the
//     refresh needs no goroutine of its own and a replaced Verifier leaves
//     nothing running. A server that is down keeps the cached keys working;
//     an unknown kid is then refused.
//   - an opaque token checked by RFC 7662 introspection: the token is POSTed
//     to the server, whose {"active": true, ...} answer becomes the claims.
//     Answers are cached per token (keyed by its SHA-256) for cache_ttl, at
//     most until the token's exp; refusals for at most NegativeCacheTTL; a
//     failing server's errors are not cached. Concurrent checks of one token
//     make one request. The claims of a cached answer are shared by every
//     connection it admits: callers treat Identity.Claims as read-only.
//
// JSON Web Tokens are checked for exp, nbf and iat with the leeway, and for
// iss and aud when issuer and audience are set. The claim user_claim names
// (sub by default) becomes Identity.UserID when it is a string; Expires is
// the token's exp (plus the leeway, since the check accepted that much).
//
// Errors say which of the three failures it is: wsgw.ErrNoToken (no token
// in the sources), an error wrapping wsgw.ErrAuthRefused (the token was
// checked and refused), or one wrapping wsgw.ErrAuthUnavailable (the key
// set was never fetched, or the introspection server is unreachable,
// slow, failing or answers nonsense). None ever contains the token.
package auth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/wsgw/wsgw"
)

// DefaultSources are where tokens come from when token_from is not set:
// not cookies, which need an origin check (see ReadsCookies).
var DefaultSources = []Source{Header, Query}

// Verifier finds and checks the token of an upgrade request, as its
// Options say; it is an endpoint's deploy.Authenticator, safe for
// concurrent use.
type Verifier struct {
	sources   []Source
	cookie    string
	param     string
	userClaim string
	check     func(ctx context.Context, tok string) (wsgw.Identity, error)
}

// New validates o and builds its verifier. Errors are *FieldError, naming
// the option at fault. It does no I/O: a key set is fetched when the first
// token needs it.
func New(o Options) (*Verifier, error) {
	return newVerifier(o, env{now: time.Now})
}

// env is what the tests may replace: the clock, the HTTP client and the
// limits that would make them slow.
type env struct {
	now         func() time.Time
	client      *http.Client
	jwksTimeout time.Duration
	maxCached   int
}

func newVerifier(o Options, e env) (*Verifier, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	v := &Verifier{
		sources:   o.TokenFrom,
		cookie:    cmp.Or(o.CookieName, DefaultTokenName),
		param:     cmp.Or(o.QueryParam, DefaultTokenName),
		userClaim: cmp.Or(o.UserClaim, DefaultUserClaim),
	}
	if len(v.sources) == 0 {
		v.sources = DefaultSources
	}
	client := e.client
	if client == nil && (o.Introspect.Configured() || o.JWT.JWKSURL != "") {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 16 // concurrent introspections reuse their connections
		client = &http.Client{Transport: t}
	}
	if o.Introspect.Configured() {
		if o.Introspect.ClientSecretEnv != "" && o.Introspect.ClientSecret == "" {
			return nil, fieldErr("introspect.client_secret_env", "$%s is not set or empty", o.Introspect.ClientSecretEnv)
		}
		noRedirects := *client
		noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		in := newIntrospector(o.Introspect, e.now, &noRedirects)
		if e.maxCached > 0 {
			in.maxCached = e.maxCached
		}
		v.check = in.check
		return v, nil
	}
	var keys *keySet
	if o.JWT.JWKSURL != "" {
		keys = &keySet{url: o.JWT.JWKSURL, client: client, timeout: cmp.Or(e.jwksTimeout, jwksTimeout), now: e.now,
			log: cmp.Or(o.Logger, slog.Default())}
	}
	c, err := newJWTCheck(o.JWT, e.now, keys)
	if err != nil {
		return nil, err
	}
	v.check = c.check
	return v, nil
}

// Authenticate finds the token in r and checks it. It returns
// wsgw.ErrNoToken when no source carries one; other errors wrap
// wsgw.ErrAuthRefused or wsgw.ErrAuthUnavailable, say why, and never
// contain the token. A check that needs the network is bounded by its
// timeout and by r's context.
func (v *Verifier) Authenticate(r *http.Request) (wsgw.Identity, error) {
	tok, src := v.Token(r)
	if tok == "" {
		return wsgw.Identity{}, wsgw.ErrNoToken
	}
	id, err := v.check(r.Context(), tok)
	switch {
	case err == nil:
	case errors.Is(err, wsgw.ErrAuthUnavailable) || errors.Is(err, wsgw.ErrAuthRefused):
		return wsgw.Identity{}, fmt.Errorf("token from %s: %w", src, err)
	default:
		return wsgw.Identity{}, fmt.Errorf("token from %s: %w: %w", src, wsgw.ErrAuthRefused, err)
	}
	if user, ok := id.Claims[v.userClaim].(string); ok {
		id.UserID = user
	}
	return id, nil
}

// Token returns the first token found in r's sources, in their order, and
// the source it came from; "" when there is none. An Authorization header
// with another scheme than Bearer carries no token.
func (v *Verifier) Token(r *http.Request) (string, Source) {
	for _, s := range v.sources {
		var tok string
		switch s {
		case Header:
			scheme, rest, ok := strings.Cut(r.Header.Get("Authorization"), " ")
			if ok && strings.EqualFold(scheme, "Bearer") {
				tok = strings.TrimSpace(rest)
			}
		case Query:
			tok = r.URL.Query().Get(v.param)
		case Cookie:
			if c, err := r.Cookie(v.cookie); err == nil {
				tok = c.Value
			}
		}
		if tok != "" {
			return tok, s
		}
	}
	return "", ""
}

// ReadsCookies reports whether cookie is one of the token sources.
func (v *Verifier) ReadsCookies() bool { return slices.Contains(v.sources, Cookie) }

// Redact removes from r the credentials of every source the verifier
// reads, so that they reach neither scripts (websocketInfo.uri, headers,
// parameters) nor the socket registry: the verified claims stand in for them.
func (v *Verifier) Redact(r *http.Request) {
	for _, s := range v.sources {
		switch s {
		case Header:
			r.Header.Del("Authorization")
		case Query:
			r.URL.RawQuery = withoutParam(r.URL.RawQuery, v.param)
		case Cookie:
			redactCookie(r.Header, v.cookie)
		}
	}
}

// withoutParam drops every parameter called name from a raw query, its
// name unescaped as url.ParseQuery would, and keeps the rest as it was
// written.
func withoutParam(raw, name string) string {
	kept := make([]string, 0, strings.Count(raw, "&")+1)
	for _, pair := range strings.Split(raw, "&") {
		n, _, _ := strings.Cut(pair, "=")
		if u, err := url.QueryUnescape(n); err != nil || u != name {
			kept = append(kept, pair)
		}
	}
	return strings.Join(kept, "&")
}

// redactCookie rewrites the Cookie headers without the cookie called name,
// with names trimmed as net/http's cookie parser trims them.
func redactCookie(h http.Header, name string) {
	lines := h.Values("Cookie")
	if len(lines) == 0 {
		return
	}
	var kept []string
	for _, line := range lines {
		for _, part := range strings.Split(line, ";") {
			part = strings.TrimSpace(part)
			n, _, _ := strings.Cut(part, "=")
			if part != "" && strings.TrimSpace(n) != name {
				kept = append(kept, part)
			}
		}
	}
	h.Del("Cookie")
	if len(kept) > 0 {
		h.Set("Cookie", strings.Join(kept, "; "))
	}
}
