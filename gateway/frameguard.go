package gateway

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"

	"github.com/wsgw/wsgw"
)

// frameGuard is the connection gws reads a client from. It follows the
// client's frames as the bytes go by and stops, before gws sees it, every
// frame after which RFC 6455 says the connection must fail: a message over
// max_message_bytes (1009, from the header alone, so nothing of the claimed
// size is allocated), text or a close reason that is not UTF-8 (1007,
// checked as the bytes arrive, so a fragmented message fails at the fragment
// that spoils it), and any other protocol violation (1002). gws would fail
// most of those itself, but it writes its close frame at once from the read
// loop, ahead of replies still queued for the messages before, and names
// itself in the reason; the guard leaves gws every frame before the bad one,
// then fails the connection (conn.fail) after the queued frames, in the
// gateway's words.
//
// For the same reason it holds a client's close frame back until the frames
// queued before it are written: gws answers a close at once.
//
// It also serves first the bytes net/http had read past the upgrade request,
// which gws's own hijack would drop: a client may send its first frame right
// behind the handshake without waiting for the 101.
type frameGuard struct {
	net.Conn
	sock  socketReader  // reads the socket beneath Conn, when attached
	c     *conn         // the connection it guards; nil in unit tests of scan
	ahead *bytes.Reader // bytes to serve before the socket's: read ahead by net/http, or held back at a close frame; nil when none
	fault *closeFault

	max      uint32 // max_message_bytes
	msgLen   uint32 // payload bytes of the current message so far
	left     uint64 // the length read so far, then payload bytes left
	state    guardState
	first    byte  // FIN, RSV and opcode of the current frame
	masked   bool  // the current frame has a masking key
	extLeft  uint8 // extended-length bytes still to come
	maskLeft uint8 // masking-key bytes still to come
	msgOp    byte  // opcode of the message being received in fragments; 0 for none
	own      bool  // the guard unmasks this frame's payload and checks it: text and close frames
	keyAt    uint8 // payload offset modulo 4
	key      [4]byte
	closeLen uint8 // close payload bytes seen, up to the 2 of the code
	flushed  bool  // the writer was flushed at the close frame that comes next
	code     uint16
	text     utf8Stream
}

type guardState uint8

const (
	atFirstByte guardState = iota // FIN, RSV and opcode
	atLength                      // MASK and the 7-bit length
	inExtendedLength
	inMaskingKey
	inPayload
)

// closeFault is why the guard fails a connection: the close code and the
// reason both the client and the close event see.
type closeFault struct {
	code   int
	reason string
}

func protocolError(format string, args ...any) *closeFault {
	return &closeFault{1002, "protocol error: " + fmt.Sprintf(format, args...)}
}

var (
	badText        = &closeFault{1007, "invalid UTF-8 in a text message"}
	badCloseReason = &closeFault{1007, "invalid UTF-8 in the close reason"}
)

// Read serves the client's bytes up to the first frame gws must not have as
// it is. At a bad frame it returns what came before; the next Read, once gws
// has handled that, fails the connection. At a close frame it flushes the
// writer before gws reads the frame. The common case, bytes from the socket
// that scan lets through whole, keeps to a small frame: the read loop parks
// in it, close to the limit of its stack (readloop.go).
func (g *frameGuard) Read(p []byte) (int, error) {
	if g.fault != nil || g.ahead != nil || g.sock.raw == nil {
		return g.readSlow(p)
	}
	if err := g.sock.rawRead(p); err != nil {
		return 0, err
	}
	return g.scanRead()
}

// scanRead scans what the socket read gave.
func (g *frameGuard) scanRead() (int, error) {
	p, n, err := g.sock.p, g.sock.n, g.sock.err
	g.sock.p = nil
	if k := g.scan(p[:n]); k < n {
		return g.stopAt(p, n, k)
	}
	return n, err
}

// readSlow fails the connection at a fault, serves bytes held ahead, or
// reads a socket without a descriptor (TLS).
func (g *frameGuard) readSlow(p []byte) (int, error) {
	if g.fault != nil {
		return 0, g.c.fail(g.fault.code, g.fault.reason)
	}
	var n int
	var err error
	if g.ahead != nil {
		n, _ = g.ahead.Read(p)
		if g.ahead.Len() == 0 {
			g.ahead = nil
		}
	} else {
		n, err = g.Conn.Read(p)
	}
	if k := g.scan(p[:n]); k < n {
		return g.stopAt(p, n, k)
	}
	return n, err
}

// stopAt ends a read of n bytes that scan stopped at k: it serves those
// before the frame at k, if any; else the frame is a close frame held back
// until the writer is flushed, or a fault, which the next Read serves.
func (g *frameGuard) stopAt(p []byte, n, k int) (int, error) {
	if g.fault == nil { // a close frame at p[k]: keep it for after the flush
		g.unread(p[k:n])
	}
	if k > 0 {
		return k, nil
	}
	if g.fault == nil {
		// gws has handled every frame before the close frame.
		g.c.flush()
		g.flushed = true
	}
	return g.Read(p)
}

// unread puts b back in front of the bytes still to serve.
func (g *frameGuard) unread(b []byte) {
	held := bytes.Clone(b)
	if g.ahead != nil {
		rest := make([]byte, g.ahead.Len())
		_, _ = g.ahead.Read(rest)
		held = append(held, rest...)
	}
	g.ahead = bytes.NewReader(held)
}

// scan advances the frame state machine over b, unmasking text and close
// payloads in place, and returns how many bytes of b gws may have: all of
// them, or those before a close frame that needs a flush first (fault nil),
// or those before a frame that fails the connection (fault set). It does
// constant work per frame header and per read of binary payload.
func (g *frameGuard) scan(b []byte) int {
	start := 0 // where the current frame began in b; 0 if before b
	for i := 0; i < len(b); {
		switch g.state {
		case atFirstByte:
			if b[i]&0x0f == opcodeClose {
				if !g.flushed {
					return i
				}
				g.flushed = false
			}
			start = i
			g.first = b[i]
			g.state = atLength
			i++
		case atLength:
			g.masked = b[i]&0x80 != 0
			g.left = 0
			switch code := b[i] & 0x7f; code {
			case 126:
				g.state, g.extLeft = inExtendedLength, 2
			case 127:
				g.state, g.extLeft = inExtendedLength, 8
			default:
				g.left = uint64(code)
				g.headerDone()
			}
			i++
		case inExtendedLength:
			g.left = g.left<<8 | uint64(b[i])
			g.extLeft--
			i++
			if g.extLeft == 0 {
				g.headerDone()
			}
		case inMaskingKey:
			n := min(len(b)-i, int(g.maskLeft))
			if g.own { // gws unmasks with zeros; the guard does the real work
				copy(g.key[4-g.maskLeft:], b[i:i+n])
				clear(b[i : i+n])
			}
			g.maskLeft -= uint8(n)
			i += n
			if g.maskLeft == 0 {
				g.payloadNext()
			}
		case inPayload:
			n := int(min(uint64(len(b)-i), g.left))
			if g.own {
				g.payload(b[i : i+n])
			}
			i += n
			g.left -= uint64(n)
			if g.left == 0 && g.fault == nil {
				g.frameDone()
			}
		}
		if g.fault != nil {
			return start
		}
	}
	return len(b)
}

// Frame opcodes (RFC 6455 §5.2).
const (
	opcodeContinuation = 0x0
	opcodeText         = 0x1
	opcodeBinary       = 0x2
	opcodeClose        = 0x8
	opcodePing         = 0x9
	opcodePong         = 0xa
)

// headerDone checks a frame once its length is known, in the order gws
// would: the size first, then the header bits, then the framing rules.
func (g *frameGuard) headerDone() {
	op := g.first & 0x0f
	fin := g.first&0x80 != 0
	control := op&0x8 != 0
	switch {
	case g.left > uint64(g.max) || (op == opcodeContinuation && uint64(g.msgLen)+g.left > uint64(g.max)):
		g.fault = &closeFault{1009, fmt.Sprintf("message too large: over %d bytes", g.max)}
	case g.first&0x70 != 0:
		g.fault = protocolError("reserved bits set")
	case !g.masked:
		g.fault = protocolError("unmasked client frame")
	case op > opcodeBinary && op != opcodeClose && op != opcodePing && op != opcodePong:
		g.fault = protocolError("reserved opcode %d", op)
	case control && !fin:
		g.fault = protocolError("fragmented control frame")
	case control && g.left > 125:
		g.fault = protocolError("control frame over 125 bytes")
	case op == opcodeContinuation && g.msgOp == 0:
		g.fault = protocolError("continuation frame without a message to continue")
	case !control && op != opcodeContinuation && g.msgOp != 0:
		g.fault = protocolError("new message inside a fragmented one")
	case op == opcodeClose && g.left == 1:
		g.fault = protocolError("close frame with a 1-byte payload")
	}
	if g.fault != nil {
		return
	}
	switch {
	case op == opcodeClose:
		g.own, g.closeLen, g.text = true, 0, utf8Stream{}
	case control:
		g.own = false
	default:
		if op != opcodeContinuation {
			g.msgOp, g.msgLen, g.text = op, 0, utf8Stream{}
		}
		g.msgLen += uint32(g.left)
		g.own = g.msgOp == opcodeText
	}
	g.keyAt = 0
	g.maskLeft = 4
	g.state = inMaskingKey
}

func (g *frameGuard) payloadNext() {
	if g.left > 0 {
		g.state = inPayload
		return
	}
	g.frameDone()
}

// payload unmasks and checks the next bytes of a text or close payload.
func (g *frameGuard) payload(p []byte) {
	maskXOR(p, g.key, g.keyAt)
	g.keyAt = uint8((int(g.keyAt) + len(p)) & 3)
	if g.first&0x0f == opcodeClose {
		for g.closeLen < 2 && len(p) > 0 {
			g.code = g.code<<8 | uint16(p[0])
			g.closeLen++
			p = p[1:]
			if g.closeLen == 2 && wsgw.ValidCloseCode(int(g.code)) != nil {
				g.fault = protocolError("invalid close code %d", g.code)
				return
			}
		}
		if !g.text.feed(p) {
			g.fault = badCloseReason
		}
		return
	}
	if !g.text.feed(p) {
		g.fault = badText
	}
}

// frameDone ends a frame whose payload has all been read.
func (g *frameGuard) frameDone() {
	g.state = atFirstByte
	op := g.first & 0x0f
	switch {
	case op == opcodeClose:
		if !g.text.complete() {
			g.fault = badCloseReason
		}
	case op&0x8 == 0 && g.first&0x80 != 0: // the last frame of a message
		if g.msgOp == opcodeText && !g.text.complete() {
			g.fault = badText
		}
		g.msgOp, g.msgLen = 0, 0
	}
}

// maskXOR applies a masking key to p, whose first byte is at offset at of
// the payload; eight bytes at a time, as a payload may be large.
func maskXOR(p []byte, key [4]byte, at uint8) {
	var k [8]byte
	for i := range k {
		k[i] = key[(int(at)+i)&3]
	}
	k64 := binary.LittleEndian.Uint64(k[:])
	for len(p) >= 8 {
		binary.LittleEndian.PutUint64(p, binary.LittleEndian.Uint64(p)^k64)
		p = p[8:]
	}
	for i := range p {
		p[i] ^= k[i]
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
	w.guard.sock.attach(conn)
	if n := brw.Reader.Buffered(); n > 0 {
		ahead, _ := brw.Reader.Peek(n)
		w.guard.ahead = bytes.NewReader(bytes.Clone(ahead))
	}
	return w.guard, brw, nil
}

func (w guardedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
