package deploy

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/runtime"
	"github.com/wsgw/wsgw/stomp"
)

// Endpoint is a routed path. It outlives redeploys of its path, so that
// existing connections keep their route and pick up each new script: read
// Handler and Settings at the moment they are needed.
type Endpoint struct {
	path     string
	handler  atomic.Pointer[runtime.Handler]
	settings atomic.Pointer[Settings]
}

// Path is the endpoint's path as deployed, e.g. /chat/{room}.
func (e *Endpoint) Path() string { return e.path }

// Handler is the script the endpoint runs now.
func (e *Endpoint) Handler() *runtime.Handler { return e.handler.Load() }

// Settings are what the endpoint's current deploy set besides its script.
func (e *Endpoint) Settings() *Settings { return e.settings.Load() }

// Authenticator checks the credentials of an upgrade request (auth.Verifier
// implements it). It is this node's: it holds keys, and is never stored or
// sent to another node.
type Authenticator interface {
	// Authenticate returns the verified identity, wsgw.ErrNoToken when the
	// request carries no credentials, or an error wrapping
	// wsgw.ErrAuthRefused or wsgw.ErrAuthUnavailable that says why (never
	// the credentials themselves).
	Authenticate(r *http.Request) (wsgw.Identity, error)
	// Redact removes the credentials from r, so that they reach neither
	// scripts nor the registry.
	Redact(r *http.Request)
	// ReadsCookies reports whether credentials may come from a cookie.
	// Browsers send cookies with upgrades started by any site, so such an
	// endpoint needs an origin check.
	ReadsCookies() bool
}

// Settings are one deploy's options of an endpoint, compiled, with this
// node's auth for its path: what the gateway checks an upgrade against.
// One value holds them all, so that an upgrade never mixes two deploys.
type Settings struct {
	dep          wsgw.Deployment
	auth         Authenticator
	origins      []*regexp.Regexp
	subprotocols []string
	stomp        *STOMP // nil: a plain endpoint
}

// STOMP is what a STOMP endpoint's connections need of its deploy.
type STOMP struct {
	// HeartBeat is the endpoint's pair: what it can send, what it wants.
	HeartBeat stomp.HeartBeat
}

// DefaultSTOMPHeartbeat is a STOMP endpoint's heart-beat pair when its
// deploy gives none.
const DefaultSTOMPHeartbeat = "10s,10s"

// stompSubprotocols are the subprotocols a STOMP endpoint offers unless its
// deploy lists its own.
var stompSubprotocols = []string{"v12.stomp", "v11.stomp", "v10.stomp"}

func newSettings(dep wsgw.Deployment, auth Authenticator) (*Settings, error) {
	s := &Settings{dep: dep, auth: auth, subprotocols: dep.Subprotocols}
	for _, p := range dep.Subprotocols {
		if !validToken(p) {
			return nil, &Error{"subprotocols", wsgw.Errorf(wsgw.EInvalid, "subprotocol %q is not a token (RFC 6455: printable ASCII without separators)", p)}
		}
	}
	protocol := ""
	if dep.Protocol != nil {
		protocol = *dep.Protocol
	}
	switch protocol {
	case "":
		if dep.STOMP != nil {
			return nil, &Error{"stomp", wsgw.Errorf(wsgw.EInvalid, "stomp options need protocol: stomp")}
		}
	case wsgw.ProtocolSTOMP:
		hb := DefaultSTOMPHeartbeat
		if dep.STOMP != nil && dep.STOMP.Heartbeat != "" {
			hb = dep.STOMP.Heartbeat
		}
		pair, err := stomp.ParseHeartBeatConfig(hb)
		if err != nil {
			return nil, &Error{"stomp", wsgw.Errorf(wsgw.EInvalid, "stomp.heartbeat: %v", err)}
		}
		s.stomp = &STOMP{HeartBeat: pair}
		if dep.Subprotocols == nil {
			s.subprotocols = stompSubprotocols
		}
	default:
		return nil, &Error{"protocol", wsgw.Errorf(wsgw.EInvalid, "protocol %q: want \"\" (plain messages) or %q", protocol, wsgw.ProtocolSTOMP)}
	}
	for _, o := range dep.AllowedOrigins {
		re, err := regexp.Compile(anchor(o))
		if err != nil {
			return nil, &Error{"allowed_origins", wsgw.Errorf(wsgw.EInvalid, "allowed origin %q: %v", o, err)}
		}
		s.origins = append(s.origins, re)
	}
	if auth != nil && auth.ReadsCookies() && len(s.origins) == 0 {
		return nil, &Error{"allowed_origins", wsgw.Errorf(wsgw.EInvalid,
			"the endpoint's auth takes its token from a cookie, so allowed_origins is required: "+
				"browsers send cookies with upgrades started by any site (cross-site WebSocket hijacking)")}
	}
	return s, nil
}

// Subprotocol is the subprotocol the upgrade names: the first of the
// client's Sec-WebSocket-Protocol values (each a comma-separated list) that
// the endpoint speaks, "" when none is (or the endpoint lists none).
func (s *Settings) Subprotocol(offered []string) string {
	if len(s.subprotocols) == 0 {
		return ""
	}
	for _, line := range offered {
		for p := range strings.SplitSeq(line, ",") {
			if p = strings.TrimSpace(p); p != "" && slices.Contains(s.subprotocols, p) {
				return p
			}
		}
	}
	return ""
}

// STOMP is the endpoint's STOMP settings, nil for a plain endpoint.
func (s *Settings) STOMP() *STOMP { return s.stomp }

// validToken reports whether p may be a subprotocol name: an HTTP token
// (RFC 7230), as RFC 6455 asks.
func validToken(p string) bool {
	if p == "" {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

// Auth is the endpoint's credential check on this node, nil for none.
func (s *Settings) Auth() Authenticator { return s.auth }

// AllowsOrigin checks the Origin header against the deploy's allow-list;
// no list, or no Origin (not a browser), passes.
func (s *Settings) AllowsOrigin(origin string) bool {
	if len(s.origins) == 0 || origin == "" {
		return true
	}
	for _, re := range s.origins {
		if re.MatchString(origin) {
			return true
		}
	}
	return false
}

// anchor makes an allowed-origin pattern match the whole Origin header or
// nothing: every pattern, whatever anchors it has of its own, is matched as
// ^(?:pattern)$, so that ^a|b cannot match a longer origin that starts with a.
func anchor(pattern string) string {
	return "^(?:" + pattern + ")$"
}
