package wsgw

import (
	"encoding/json"
	"reflect"
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

// Options are what a deploy may set on an endpoint besides its script. Every
// field is a slice, map or pointer, so that a deploy request can tell an
// option it does not give (nil: keep the endpoint's) from one it gives empty
// (replace it with nothing); Keep relies on that.
type Options struct {
	// AllowedOrigins are regular expressions, each matched against the whole
	// Origin header.
	AllowedOrigins []string `json:"allowed_origins,omitempty"`
	// Subprotocols are the WebSocket subprotocols the endpoint speaks: the
	// upgrade names the first of the client's list that is one of them.
	Subprotocols []string `json:"subprotocols,omitempty"`
	// Protocol is what the endpoint's messages are: "" (plain text and
	// binary messages) or "stomp" (STOMP frames, docs/stomp.md).
	Protocol *string `json:"protocol,omitempty"`
	// STOMP tunes a STOMP endpoint.
	STOMP *STOMPOptions `json:"stomp,omitempty"`
}

// ProtocolSTOMP is the Protocol of a STOMP endpoint.
const ProtocolSTOMP = "stomp"

// STOMPOptions tune a STOMP endpoint.
type STOMPOptions struct {
	// Heartbeat is the endpoint's heart-beat pair, "10s,10s": the interval
	// at which it can send heart-beats and the one at which it wants them
	// ("0" for none).
	Heartbeat string `json:"heartbeat,omitempty" yaml:"heartbeat"`
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
