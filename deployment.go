package wsgw

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"time"
)

// Deployment is one deployed script with its options: an endpoint's, or the
// event handler's when Path is "". Every deploy gets a new, higher Version.
type Deployment struct {
	// Path is the endpoint path, e.g. /chat/{room}; "" for the event handler.
	Path    string `json:"path,omitempty"`
	Version int64  `json:"version"`
	// Script is the JavaScript source; listings leave it out.
	Script string `json:"script,omitempty"`
	// Options are the endpoint's settings besides its script.
	Options
	// Source says where the deploy came from: "config", "file" (--watch) or "api".
	// A deploy from the configuration or a watched file gives every option
	// (absent in the file means none); one from the API gives only those it
	// sets, and the endpoint keeps the others.
	Source     string    `json:"source"`
	DeployedAt time.Time `json:"deployed_at"`
	// Name is the script's file name, used in compile errors; the path when empty.
	Name string `json:"-"`
}

// Options are what an endpoint sets besides its script, in the YAML file
// and in deploys alike (one Validate for both). Every field is a slice, map
// or pointer, so that a deploy request can tell an option it does not give
// (nil: keep the endpoint's) from one it gives empty (replace it with
// nothing); Keep relies on that.
type Options struct {
	// AllowedOrigins are regular expressions, each matched against the whole
	// Origin header.
	AllowedOrigins []string `json:"allowed_origins,omitempty" yaml:"allowed_origins"`
	// Auth is the token every upgrade must present; nil or empty for none.
	Auth *AuthOptions `json:"auth,omitempty" yaml:"auth"`
	// Subprotocols are the WebSocket subprotocols the endpoint speaks, in
	// the order it prefers them.
	Subprotocols []string `json:"subprotocols,omitempty" yaml:"subprotocols"`
	// Protocol is what the messages are: "" (plain: each message is a data
	// event) or "stomp".
	Protocol *string `json:"protocol,omitempty" yaml:"protocol"`
	// STOMP tunes an endpoint whose protocol is stomp.
	STOMP *STOMPOptions `json:"stomp,omitempty" yaml:"stomp"`
}

// ProtocolSTOMP is the protocol option of a STOMP endpoint.
const ProtocolSTOMP = "stomp"

// STOMPOptions are the settings of a STOMP endpoint.
type STOMPOptions struct {
	// Heartbeat is the endpoint's heart-beat pair, "10s,10s": how often the
	// gateway can send heart-beats, and how often it wants them.
	Heartbeat string `json:"heartbeat,omitempty" yaml:"heartbeat"`
}

// Heartbeats parses Heartbeat into its two durations, zero when it is "".
func (s STOMPOptions) Heartbeats() (send, want time.Duration, err error) {
	if s.Heartbeat == "" {
		return 0, 0, nil
	}
	a, b, ok := strings.Cut(s.Heartbeat, ",")
	if ok {
		send, err = time.ParseDuration(strings.TrimSpace(a))
	}
	if ok && err == nil {
		want, err = time.ParseDuration(strings.TrimSpace(b))
	}
	if !ok || err != nil || send < 0 || want < 0 {
		return 0, 0, fmt.Errorf("%q is not two durations, what the gateway can send and what it wants: \"10s,10s\" (\"0s\" for none)", s.Heartbeat)
	}
	return send, want, nil
}

// OriginRegexp compiles an allowed_origins pattern to match the whole
// Origin header or nothing: every pattern, whatever anchors it has of its
// own, is matched as ^(?:pattern)$, so that ^a|b cannot match a longer
// origin that starts with a. A pattern must be a regular expression on its
// own too: a)(b would otherwise be read as (?:a)(b).
func OriginRegexp(pattern string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(pattern); err != nil {
		return nil, err
	}
	return regexp.Compile("^(?:" + pattern + ")$")
}

// Validate checks every option as the YAML file and deploy bodies give
// them (after Keep, for a deploy): an error is a *FieldError naming the
// key under the endpoint (allowed_origins[1], auth.jwt.jwks_url). Secrets
// are not needed: they are read where the check is built.
func (o Options) Validate() error {
	for i, p := range o.AllowedOrigins {
		if _, err := OriginRegexp(p); err != nil {
			return fieldErr(fmt.Sprintf("allowed_origins[%d]", i), "%q: %v", p, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
	}
	if o.Auth != nil && !o.Auth.IsZero() {
		if err := o.Auth.Validate(); err != nil {
			fe := err.(*FieldError)
			return &FieldError{Field: "auth." + fe.Field, Msg: fe.Msg}
		}
		if o.Auth.ReadsCookies() && len(o.AllowedOrigins) == 0 {
			return fieldErr("auth.token_from", "a cookie token needs allowed_origins on the endpoint: browsers send cookies "+
				"with WebSocket upgrades from any site, so without an origin check any web page could connect as the user "+
				"(cross-site WebSocket hijacking)")
		}
	}
	seen := map[string]bool{}
	for i, p := range o.Subprotocols {
		key := fmt.Sprintf("subprotocols[%d]", i)
		if !isToken(p) {
			return fieldErr(key, "%q is not a subprotocol name (letters, digits and !#$%%&'*+-.^_`|~)", p)
		}
		if seen[p] {
			return fieldErr(key, "%q appears twice", p)
		}
		seen[p] = true
	}
	protocol := ""
	if o.Protocol != nil {
		protocol = *o.Protocol
	}
	if protocol != "" && protocol != ProtocolSTOMP {
		return fieldErr("protocol", "%q: want %q, or leave it out for plain messages", protocol, ProtocolSTOMP)
	}
	if o.STOMP != nil && *o.STOMP != (STOMPOptions{}) {
		if protocol != ProtocolSTOMP {
			return fieldErr("stomp", "is for STOMP endpoints: set protocol: stomp, or leave stomp out")
		}
		if _, _, err := o.STOMP.Heartbeats(); err != nil {
			return fieldErr("stomp.heartbeat", "%v", err)
		}
	}
	return nil
}

// Compact returns o with the options given empty ("auth": {}, "protocol":
// "") left out: what a stored deployment keeps of them.
func (o Options) Compact() Options {
	if o.Auth != nil && o.Auth.IsZero() {
		o.Auth = nil
	}
	if o.Protocol != nil && *o.Protocol == "" {
		o.Protocol = nil
	}
	if o.STOMP != nil && *o.STOMP == (STOMPOptions{}) {
		o.STOMP = nil
	}
	if len(o.AllowedOrigins) == 0 {
		o.AllowedOrigins = nil
	}
	if len(o.Subprotocols) == 0 {
		o.Subprotocols = nil
	}
	return o
}

// Keep returns o with every option o does not give (nil) taken from base:
// a deploy that gives only a script keeps the endpoint's other options, one
// that gives an option replaces that option.
func (o Options) Keep(base Options) Options {
	v, b := reflect.ValueOf(&o).Elem(), reflect.ValueOf(base)
	for i := range v.NumField() {
		if v.Field(i).IsNil() {
			v.Field(i).Set(b.Field(i))
		}
	}
	return o
}

// Given lists, by their JSON names, the options o gives (non-nil).
func (o Options) Given() []string {
	var names []string
	v := reflect.ValueOf(o)
	for i := range v.NumField() {
		if !v.Field(i).IsNil() {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			names = append(names, name)
		}
	}
	return names
}

// Equal reports whether o and p set the same options, an option given empty
// being the same as one not given: what a stored deployment keeps of them.
func (o Options) Equal(p Options) bool {
	a, errA := json.Marshal(o)
	b, errB := json.Marshal(p)
	return errA == nil && errB == nil && string(a) == string(b)
}

// Summary is d without its script, for listings.
func (d Deployment) Summary() Deployment {
	d.Script = ""
	return d
}
