package auth

import (
	"net/http"
	"time"
)

// TestEnv replaces what would make tests slow or depend on the wall clock.
type TestEnv struct {
	Now         func() time.Time
	Client      *http.Client  // nil: New's own
	JWKSTimeout time.Duration // 0: the default
	MaxCached   int           // introspection answers; 0: the default
}

// NewForTest is New in the environment e.
func NewForTest(o Options, e TestEnv) (*Verifier, error) {
	if e.Now == nil {
		e.Now = time.Now
	}
	return newVerifier(o, env{now: e.Now, client: e.Client, jwksTimeout: e.JWKSTimeout, maxCached: e.MaxCached})
}
