package wsgw

import (
	"encoding/base64"
	"errors"
	"strings"
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
