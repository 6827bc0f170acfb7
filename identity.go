package wsgw

import (
	"errors"
	"net/http"
	"time"
)

// Authenticator checks the credentials of an upgrade request (auth.Verifier
// is the implementation). An endpoint's deployment carries it; it comes from
// the configuration only, since it holds keys.
type Authenticator interface {
	// Authenticate returns the verified identity, ErrNoToken when the
	// request carries no credentials, or an error wrapping ErrAuthRefused or
	// ErrAuthUnavailable that says why (never the credentials themselves).
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
	// UserID is the user the credentials name, "" when they name none.
	UserID string
	// Expires is when the credentials stop being valid; zero for never.
	Expires time.Time
}

// The three ways an upgrade's credentials fail, each with its close code.
var (
	// ErrNoToken is an upgrade request that carries no credentials (4001).
	ErrNoToken = errors.New("no token")
	// ErrAuthRefused is credentials that were checked and refused (4002).
	ErrAuthRefused = errors.New("authentication failed")
	// ErrAuthUnavailable is credentials that cannot be checked now, because
	// the identity provider is unreachable or failing (1013, try again later).
	ErrAuthUnavailable = errors.New("authentication unavailable")
)
