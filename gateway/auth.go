package gateway

import (
	"errors"
	"net/http"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/deploy"
)

// The close codes of a refused or expired token (docs/security.md,
// "Authentication"). Browsers cannot read the HTTP status of a
// refused upgrade, but they can read a close code: the upgrade completes,
// then the connection is closed at once, before any script runs.
const (
	closeNoToken     = 4001
	closeAuthFailed  = 4002
	closeAuthExpired = 4003
	// closeTryAgain is a token that could not be checked: the identity
	// provider is unreachable, slow or failing.
	closeTryAgain = 1013
)

// refusal is why an upgraded connection is closed before its open event.
type refusal struct {
	code   int
	reason string
	err    error
}

// authenticate runs an endpoint's check on r, then redacts r's credentials.
// It returns the verified identity, or the refusal the connection will be
// closed with once upgraded. A check that needs the identity provider waits
// for it on this request's goroutine only, at most its timeout.
func (g *Gateway) authenticate(a deploy.Authenticator, r *http.Request) (wsgw.Identity, *refusal) {
	id, err := a.Authenticate(r)
	a.Redact(r)
	switch {
	case err == nil:
		return id, nil
	case errors.Is(err, wsgw.ErrNoToken):
		return wsgw.Identity{}, &refusal{closeNoToken, "no token", err}
	case errors.Is(err, wsgw.ErrAuthUnavailable):
		return wsgw.Identity{}, &refusal{closeTryAgain, "try again later", err}
	}
	return wsgw.Identity{}, &refusal{closeAuthFailed, "authentication failed", err}
}

// refuseUpgraded closes a connection whose credentials failed, on its read
// loop before anything else: no script runs, nothing is registered.
func (g *Gateway) refuseUpgraded(c *conn) {
	reason := "no_token"
	switch c.refusal.code {
	case closeAuthFailed:
		reason = "invalid"
	case closeTryAgain:
		reason = "unavailable"
	}
	g.metrics.AuthFailures.WithLabelValues(reason).Inc()
	g.log.Info("authentication failed", "remote", c.remote, "route", c.info.Route, "code", c.refusal.code, "err", c.refusal.err)
	_ = c.Close(c.refusal.code, c.refusal.reason)
}

// expire closes a connection whose token has expired; its close event runs.
func (g *Gateway) expire(c *conn) {
	g.metrics.AuthFailures.WithLabelValues("expired").Inc()
	g.log.Info("authentication expired", "socket_id", c.info.ID, "route", c.info.Route, "remote", c.remote)
	_ = c.Close(closeAuthExpired, "authentication expired")
}
