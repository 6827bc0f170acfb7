package wsgw

import "time"

// Deployment is one deployed script with its options: an endpoint's, or the
// event handler's when Path is "". Deploys replace it whole; every deploy
// gets a new, higher Version.
type Deployment struct {
	// Path is the endpoint path, e.g. /chat/{room}; "" for the event handler.
	Path    string `json:"path,omitempty"`
	Version int64  `json:"version"`
	// Script is the JavaScript source; listings leave it out.
	Script string `json:"script,omitempty"`
	// AllowedOrigins are anchored regular expressions for the Origin header.
	AllowedOrigins []string `json:"allowed_origins,omitempty"`
	// Source says where the deploy came from: "config", "file" (--watch) or "api".
	Source     string    `json:"source"`
	DeployedAt time.Time `json:"deployed_at"`
	// Name is the script's file name, used in compile errors; the path when empty.
	Name string `json:"-"`
	// Auth, when set, checks every upgrade's credentials (SPEC §8). Only the
	// configuration sets it: it holds keys. A deploy through the API keeps
	// the auth its path already has, so replacing a script never drops it.
	Auth Authenticator `json:"-"`
}

// Summary is d without its script, for listings.
func (d Deployment) Summary() Deployment {
	d.Script = ""
	return d
}
