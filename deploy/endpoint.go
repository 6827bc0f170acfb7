package deploy

import (
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/auth"
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

// Authenticator checks the credentials of an upgrade request: the
// auth.Verifier each node builds from a deployment's auth options, with the
// secrets of its own environment. It holds keys and caches, and is never
// stored or sent to another node.
type Authenticator interface {
	// Authenticate returns the verified identity, wsgw.ErrNoToken when the
	// request carries no credentials, or an error wrapping
	// wsgw.ErrAuthRefused or wsgw.ErrAuthUnavailable that says why (never
	// the credentials themselves).
	Authenticate(r *http.Request) (wsgw.Identity, error)
	// Redact removes the credentials from r, so that they reach neither
	// scripts nor the registry.
	Redact(r *http.Request)
}

var _ Authenticator = (*auth.Verifier)(nil)

// Settings are one deploy's options of an endpoint, compiled, with the
// credential check this node built from them: what the gateway checks an
// upgrade against. One value holds them all, so that an upgrade never mixes
// two deploys.
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

// protocol sets what s needs of dep's subprotocols, protocol and stomp
// options (which Validate checked).
func (s *Settings) protocol(dep wsgw.Deployment) error {
	s.subprotocols = dep.Subprotocols
	if dep.Protocol == nil || *dep.Protocol != wsgw.ProtocolSTOMP {
		return nil
	}
	hb := DefaultSTOMPHeartbeat
	if dep.STOMP != nil && dep.STOMP.Heartbeat != "" {
		hb = dep.STOMP.Heartbeat
	}
	pair, err := stomp.ParseHeartBeatConfig(hb)
	if err != nil {
		return &Error{"stomp.heartbeat", wsgw.Errorf(wsgw.EInvalid, "stomp.heartbeat: %v", err)}
	}
	s.stomp = &STOMP{HeartBeat: pair}
	if dep.Subprotocols == nil {
		s.subprotocols = stompSubprotocols
	}
	return nil
}

// authEnv is what a node builds credential checks with: secrets come from
// lookup (an environment variable's value by its name), logs go to log.
type authEnv struct {
	lookup func(name string) (string, bool)
	log    *slog.Logger
}

// newSettings validates dep's options and builds its settings. The check
// of prev (the endpoint's settings before, nil for none) is kept when the
// auth options are the same: a script-only redeploy keeps the key set and
// the introspection cache.
func newSettings(dep wsgw.Deployment, env authEnv, prev *Settings) (*Settings, error) {
	if err := dep.Options.Validate(); err != nil {
		return nil, fieldError(err)
	}
	s := &Settings{dep: dep}
	if err := s.protocol(dep); err != nil {
		return nil, err
	}
	for _, o := range dep.AllowedOrigins {
		re, _ := wsgw.OriginRegexp(o) // Validate compiled it
		s.origins = append(s.origins, re)
	}
	a := dep.Auth
	if a == nil || a.IsZero() {
		return s, nil
	}
	if prev != nil && prev.auth != nil && (wsgw.Options{Auth: a}).Equal(wsgw.Options{Auth: prev.dep.Auth}) {
		s.auth = prev.auth
		return s, nil
	}
	o := *a
	if name := o.JWT.HS256SecretEnv; name != "" {
		if v, ok := env.lookup(name); ok {
			o.JWT.Key = []byte(v)
		}
	}
	if name := o.Introspect.ClientSecretEnv; name != "" {
		o.Introspect.ClientSecret, _ = env.lookup(name)
	}
	o.Logger = env.log
	v, err := auth.New(o)
	if err != nil {
		var fe *wsgw.FieldError
		if errors.As(err, &fe) {
			err = &wsgw.FieldError{Field: "auth." + fe.Field, Msg: fe.Msg}
		}
		return nil, fieldError(err)
	}
	s.auth = v
	return s, nil
}

// fieldError is a refused option as a deploy error naming its key.
func fieldError(err error) error {
	var fe *wsgw.FieldError
	if !errors.As(err, &fe) {
		return &Error{"auth", wsgw.Errorf(wsgw.EInvalid, "auth: %v", err)}
	}
	return &Error{fe.Field, wsgw.Errorf(wsgw.EInvalid, "%s: %s", fe.Field, fe.Msg)}
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
