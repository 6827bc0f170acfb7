package gateway

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
)

// frameGuard is the connection gws reads a client from. It follows the
// client's frame headers as the bytes go by and fixes the one header that
// gws v1.8.9 cannot take: a 64-bit payload length with its most significant
// bit set (RFC 6455 §5.2 says that bit MUST be 0). gws converts that length
// to an int, so it turns negative, passes the max_message_bytes check and
// panics slicing a buffer. The guard raises such a length to one above any
// max_message_bytes, so gws refuses the frame as too large and closes with
// 1009 through its ordinary path; nothing of the claimed size is allocated.
//
// It also serves first the bytes net/http had read past the upgrade request,
// which gws's own hijack would drop: a client may send its first frame right
// behind the handshake without waiting for the 101.
type frameGuard struct {
	net.Conn
	ahead *bytes.Reader // bytes net/http read ahead, served before the socket's; nil when none

	state    guardState
	extLeft  uint8  // extended-length bytes still to come
	maskLeft uint8  // masking-key bytes still to come
	left     uint64 // the extended length read so far, then payload bytes left
}

type guardState uint8

const (
	atFirstByte guardState = iota // FIN, RSV and opcode
	atLength                      // MASK and the 7-bit length
	inExtendedLength
	inMaskingKey
	inPayload
)

// maxSaneLength replaces a length with its top bit set: the first byte of
// the 8-byte length becomes 0x7f, so the length is at least 0x7f << 56,
// above any max_message_bytes the configuration accepts.
const maxSaneLength = 0x7f

func (g *frameGuard) Read(p []byte) (int, error) {
	if g.ahead != nil {
		n, _ := g.ahead.Read(p)
		if g.ahead.Len() == 0 {
			g.ahead = nil
		}
		g.scan(p[:n])
		return n, nil
	}
	n, err := g.Conn.Read(p)
	g.scan(p[:n])
	return n, err
}

// scan advances the header state machine over b, which it may rewrite. It
// does constant work per frame header and per read of payload bytes.
func (g *frameGuard) scan(b []byte) {
	for i := 0; i < len(b); {
		switch g.state {
		case inPayload:
			skip := min(uint64(len(b)-i), g.left)
			i += int(skip)
			g.left -= skip
			if g.left == 0 {
				g.state = atFirstByte
			}
		case atFirstByte:
			g.state = atLength
			i++
		case atLength:
			g.maskLeft = 0
			if b[i]&0x80 != 0 {
				g.maskLeft = 4
			}
			g.left = 0
			switch code := b[i] & 0x7f; code {
			case 126:
				g.state, g.extLeft = inExtendedLength, 2
			case 127:
				g.state, g.extLeft = inExtendedLength, 8
			default:
				g.left = uint64(code)
				g.lengthDone()
			}
			i++
		case inExtendedLength:
			if g.extLeft == 8 && b[i]&0x80 != 0 {
				b[i] = maxSaneLength
			}
			g.left = g.left<<8 | uint64(b[i])
			g.extLeft--
			i++
			if g.extLeft == 0 {
				g.lengthDone()
			}
		case inMaskingKey:
			skip := min(len(b)-i, int(g.maskLeft))
			i += skip
			g.maskLeft -= uint8(skip)
			if g.maskLeft == 0 {
				g.payloadNext()
			}
		}
	}
}

func (g *frameGuard) lengthDone() {
	if g.maskLeft > 0 {
		g.state = inMaskingKey
		return
	}
	g.payloadNext()
}

func (g *frameGuard) payloadNext() {
	if g.left > 0 {
		g.state = inPayload
	} else {
		g.state = atFirstByte
	}
}

// CloseWrite half-closes the connection beneath, for the closing handshake.
func (g *frameGuard) CloseWrite() error {
	if cw, ok := g.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// guardedWriter is the ResponseWriter handed to gws's Upgrade: its Hijack
// returns the connection behind guard, which lives in the conn record so
// that it costs no allocation of its own.
type guardedWriter struct {
	http.ResponseWriter
	guard *frameGuard
}

func (w guardedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.guard.Conn = conn
	if n := brw.Reader.Buffered(); n > 0 {
		ahead, _ := brw.Reader.Peek(n)
		w.guard.ahead = bytes.NewReader(bytes.Clone(ahead))
	}
	return w.guard, brw, nil
}

func (w guardedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
