package stomp

import "strconv"

// Commands of STOMP frames: the client's, then the server's.
const (
	CmdConnect     = "CONNECT"
	CmdStomp       = "STOMP"
	CmdSend        = "SEND"
	CmdSubscribe   = "SUBSCRIBE"
	CmdUnsubscribe = "UNSUBSCRIBE"
	CmdAck         = "ACK"
	CmdNack        = "NACK"
	CmdBegin       = "BEGIN"
	CmdCommit      = "COMMIT"
	CmdAbort       = "ABORT"
	CmdDisconnect  = "DISCONNECT"

	CmdConnected = "CONNECTED"
	CmdMessage   = "MESSAGE"
	CmdReceipt   = "RECEIPT"
	CmdError     = "ERROR"
)

// command returns the constant naming the command in b, so that decoding
// allocates no string for it.
func command(b []byte) (string, bool) {
	switch string(b) {
	case CmdConnect:
		return CmdConnect, true
	case CmdStomp:
		return CmdStomp, true
	case CmdSend:
		return CmdSend, true
	case CmdSubscribe:
		return CmdSubscribe, true
	case CmdUnsubscribe:
		return CmdUnsubscribe, true
	case CmdAck:
		return CmdAck, true
	case CmdNack:
		return CmdNack, true
	case CmdBegin:
		return CmdBegin, true
	case CmdCommit:
		return CmdCommit, true
	case CmdAbort:
		return CmdAbort, true
	case CmdDisconnect:
		return CmdDisconnect, true
	case CmdConnected:
		return CmdConnected, true
	case CmdMessage:
		return CmdMessage, true
	case CmdReceipt:
		return CmdReceipt, true
	case CmdError:
		return CmdError, true
	}
	return "", false
}

// Version is a STOMP protocol version. The zero value means "not negotiated
// yet" (before CONNECT) and is decoded and encoded as 1.2.
type Version uint8

// The STOMP versions this package speaks.
const (
	V10 Version = 10
	V11 Version = 11
	V12 Version = 12
)

// SupportedVersions is the value of the version header of an ERROR frame
// that refuses a CONNECT whose accept-version names none of them.
const SupportedVersions = "1.0,1.1,1.2"

// String returns the version as STOMP headers spell it ("1.2"), or "" for
// the zero Version.
func (v Version) String() string {
	switch v {
	case V10:
		return "1.0"
	case V11:
		return "1.1"
	case V12:
		return "1.2"
	}
	return ""
}

// escaped reports whether the headers of a frame with this command are
// escaped in version v: never in 1.0, and never in CONNECT, STOMP and
// CONNECTED frames, which are read before a version is agreed.
func escaped(v Version, cmd string) bool {
	return v != V10 && cmd != CmdConnect && cmd != CmdStomp && cmd != CmdConnected
}

// crlf reports whether version v ends lines with CRLF as well as LF (1.2,
// and before negotiation so that a 1.2 client's CONNECT is read).
func crlf(v Version) bool {
	return v != V10 && v != V11
}

// Header is one header entry of a frame.
type Header struct {
	Key, Value string
}

// Frame is one STOMP frame. Headers keep their order and their repeats; the
// first occurrence of a key is its value (Lookup).
type Frame struct {
	Command string
	Headers []Header
	Body    []byte
}

// Lookup returns the value of the first header named key: repeated headers
// after it are history, as the STOMP spec says.
func (f *Frame) Lookup(key string) (string, bool) {
	for _, h := range f.Headers {
		if h.Key == key {
			return h.Value, true
		}
	}
	return "", false
}

// Get returns the value of the first header named key, or "".
func (f *Frame) Get(key string) string {
	v, _ := f.Lookup(key)
	return v
}

// ConnectedFrame answers a CONNECT: version v, the server's heart-beat pair
// (1.1 and later), the server's name and the session id.
func ConnectedFrame(v Version, hb HeartBeat, server, session string) Frame {
	f := Frame{Command: CmdConnected, Headers: make([]Header, 0, 4)}
	if v != V10 {
		f.Headers = append(f.Headers, Header{"version", v.String()}, Header{"heart-beat", hb.String()})
	} else {
		f.Headers = append(f.Headers, Header{"version", v.String()})
	}
	if server != "" {
		f.Headers = append(f.Headers, Header{"server", server})
	}
	if session != "" {
		f.Headers = append(f.Headers, Header{"session", session})
	}
	return f
}

// ReceiptFrame acknowledges the client frame whose receipt header was id.
func ReceiptFrame(id string) Frame {
	return Frame{Command: CmdReceipt, Headers: []Header{{"receipt-id", id}}}
}

// ErrorFrame reports a failure: message becomes the message header, a
// non-empty receiptID the receipt-id header (the receipt of the frame that
// failed), and body the text/plain body.
func ErrorFrame(message, receiptID, body string) Frame {
	f := Frame{Command: CmdError, Headers: make([]Header, 0, 4)}
	f.Headers = append(f.Headers, Header{"message", message})
	if receiptID != "" {
		f.Headers = append(f.Headers, Header{"receipt-id", receiptID})
	}
	if body != "" {
		f.Headers = append(f.Headers, Header{"content-type", "text/plain"}, Header{"content-length", strconv.Itoa(len(body))})
		f.Body = []byte(body)
	}
	return f
}
