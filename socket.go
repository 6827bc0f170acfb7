package wsgw

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SocketInfo is the registry's record of one connection: what every node can
// learn of a socket, whichever node holds it. It does not change after open.
type SocketInfo struct {
	ID         string            `json:"socket_id"`
	Node       string            `json:"node"`
	URI        string            `json:"uri"`
	Route      string            `json:"route"`
	Headers    map[string]string `json:"headers"`
	Parameters map[string]string `json:"parameters"`
	// Timestamp is when the socket opened, in milliseconds since the Unix epoch.
	Timestamp int64 `json:"timestamp"`
	// Subprotocol is the WebSocket subprotocol agreed on at the upgrade, ""
	// for none.
	Subprotocol string `json:"subprotocol"`
}

// Socket is the answer of the info operation: the registry record plus the
// live state that only the owning node knows.
type Socket struct {
	SocketInfo
	// Type is "open" while the socket is connected.
	Type            string `json:"type"`
	MessagesIn      int64  `json:"messages_in"`
	MessagesOut     int64  `json:"messages_out"`
	MessagesDropped int64  `json:"messages_dropped"`
	// ScriptVersion is the version of the script the socket's last event ran.
	ScriptVersion int64 `json:"script_version"`
	// State is websocketInfo.state as its scripts last saved it, as JSON.
	State json.RawMessage `json:"state"`
	// UserID is the user the socket is bound to, nil when none.
	UserID *string `json:"user_id"`
	// Groups are the names of the groups the socket is in, sorted.
	Groups []string `json:"groups"`
}

// EmptyState is the state of a socket whose scripts saved none.
var EmptyState = json.RawMessage("{}")

// MaxNameLength is the longest user ID or group name, in characters.
const MaxNameLength = 256

// ValidUser reports whether id may name a user: 1-256 characters.
func ValidUser(id string) error {
	if n := utf8.RuneCountInString(id); n < 1 || n > MaxNameLength {
		return fmt.Errorf("a user ID is a string of 1-%d characters", MaxNameLength)
	}
	return nil
}

// ValidGroup reports whether name may name a group: 1-256 characters,
// none of them a control character.
func ValidGroup(name string) error {
	if n := utf8.RuneCountInString(name); n < 1 || n > MaxNameLength {
		return fmt.Errorf("a group name is a string of 1-%d characters", MaxNameLength)
	}
	if strings.ContainsFunc(name, unicode.IsControl) {
		return errors.New("a group name has no control characters")
	}
	return nil
}

// Message is a message addressed to a STOMP destination (docs/stomp.md): a
// STOMP socket sends it as a MESSAGE frame to each of its subscriptions of
// Destination, a plain socket sends Data as a text or binary frame.
type Message struct {
	Data   []byte
	Binary bool
	// JSON says Data is the JSON of a value that was not a string: the
	// MESSAGE frame's content-type is application/json, not text/plain.
	JSON        bool
	Destination string
	// Headers are added to the MESSAGE frame.
	Headers map[string]string
}

// Message types, as scripts and REST bodies name them.
const (
	MessageText   = "data-text"
	MessageBinary = "data-binary"
)

// ValidCloseCode reports whether a script or REST caller may close a socket
// with code: the codes RFC 6455 lets an endpoint send (1000-1003,
// 1007-1014) and the application range 3000-4999.
func ValidCloseCode(code int) error {
	if (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999) {
		return nil
	}
	return errors.New("close code must be 1000-1003, 1007-1014 or 3000-4999")
}

// DecodeBase64 decodes a "data-binary" message: standard or URL-safe base64,
// with or without padding.
func DecodeBase64(s string) ([]byte, error) {
	enc := base64.StdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.URLEncoding
	}
	if !strings.HasSuffix(s, "=") && len(s)%4 != 0 {
		enc = enc.WithPadding(base64.NoPadding)
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return nil, errors.New("the message is not valid base64")
	}
	return b, nil
}
