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
)

// refusal is why an upgraded connection is closed before its open event.
type refusal struct {
	code   int
	reason string
	err    error
}

// authenticate runs an endpoint's check on r, then redacts r's credentials.
// It returns the verified claims, the user they name (auth.user_claim)
// and their expiry (Unix ns, 0 for none), or the refusal the connection
// will be closed with once upgraded.
func (g *Gateway) authenticate(a deploy.Authenticator, r *http.Request) (map[string]any, string, int64, *refusal) {
	id, err := a.Authenticate(r)
	a.Redact(r)
	switch {
	case errors.Is(err, wsgw.ErrNoToken):
		return nil, "", 0, &refusal{closeNoToken, "no token", err}
	case err != nil:
		return nil, "", 0, &refusal{closeAuthFailed, "authentication failed", err}
	}
	var expires int64
	if !id.Expires.IsZero() {
		expires = id.Expires.UnixNano()
	}
	user := id.UserID
	if wsgw.ValidUser(user) != nil {
		user = "" // a claim no user ID can be: the socket starts unbound
	}
	return id.Claims, user, expires, nil
}

// refuseUpgraded closes a connection whose credentials failed, on its read
// loop before anything else: no script runs, nothing is registered.
func (g *Gateway) refuseUpgraded(c *conn) {
	reason := "no_token"
	if c.refusal.code == closeAuthFailed {
		reason = "invalid"
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
