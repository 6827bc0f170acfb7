package wsgw

import (
	"errors"
	"net/http"
	"time"
)

// Authenticator checks the credentials of an upgrade request (auth.JWT is
// the implementation). An endpoint's deployment carries it; it comes from
// the configuration only, since it holds keys.
type Authenticator interface {
	// Authenticate returns the verified identity, ErrNoToken when the
	// request carries no credentials, or why they were refused (never the
	// credentials themselves).
	Authenticate(r *http.Request) (Identity, error)
	// Redact removes the credentials from r, so that they reach neither
	// scripts nor the registry.
	Redact(r *http.Request)
	// ReadsCookies reports whether credentials may come from a cookie.
	// Browsers send cookies with upgrades started by any site, so such an
	// endpoint needs an origin check.
	ReadsCookies() bool
}

// Identity is what verified credentials say about a client.
type Identity struct {
	Claims map[string]any
	// Expires is when the credentials stop being valid; zero for never.
	Expires time.Time
}

// ErrNoToken is an upgrade request that carries no credentials.
var ErrNoToken = errors.New("no token")
