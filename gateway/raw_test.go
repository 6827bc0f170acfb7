package gateway_test

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/wsgw/wsgw/internal/gwtest"
)

// rawConn is a WebSocket client written by hand over TCP, for the frames no
// client library would send.
type rawConn struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

// Frame opcodes and header bits, as RFC 6455 §5.2 lays them out.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	finBit         = 0x80
	rsv1, rsv2     = 0x40, 0x20
	rsv3           = 0x10
	maskBit        = 0x80
)

// rawDial opens a TCP connection to the harness and completes the opening
// handshake, waiting for the 101 before returning.
func rawDial(t testing.TB, h *gwtest.Harness, path string) *rawConn {
	t.Helper()
	r, err := dialRaw(h.Srv.Listener.Addr().String(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.t = t
	t.Cleanup(func() { _ = r.c.Close() })
	return r
}

// dialRaw does the handshake, sending ahead in the same write as the
// request; it returns errors rather than failing, for fuzzing.
func dialRaw(addr, path string, ahead []byte) (*rawConn, error) {
	c, err := net.DialTimeout("tcp", addr, gwtest.WaitFor)
	if err != nil {
		return nil, err
	}
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	_ = c.SetDeadline(time.Now().Add(gwtest.WaitFor))
	if _, err := c.Write(append([]byte(req), ahead...)); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-Websocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		c.Close()
		return nil, fmt.Errorf("handshake answered %s", resp.Status)
	}
	_ = c.SetDeadline(time.Time{})
	return &rawConn{c: c, br: br}, nil
}

// clientKey masks the frames these tests send: not zero, so that a server
// that forgot to unmask would see garbage.
var clientKey = [4]byte{0xa5, 0x3c, 0x0f, 0x71}

// frameHeader encodes a frame header claiming length payload bytes; a
// masked header carries clientKey.
func frameHeader(first byte, masked bool, length uint64) []byte {
	var mask byte
	if masked {
		mask = maskBit
	}
	h := []byte{first, 0}
	switch {
	case length < 126:
		h[1] = mask | byte(length)
	case length <= 0xffff:
		h[1] = mask | 126
		h = binary.BigEndian.AppendUint16(h, uint16(length))
	default:
		h[1] = mask | 127
		h = binary.BigEndian.AppendUint64(h, length)
	}
	if masked {
		h = append(h, clientKey[:]...)
	}
	return h
}

// frame encodes a whole frame: first is FIN, RSV bits and opcode; a masked
// frame's payload is masked with clientKey.
func frame(first byte, masked bool, payload []byte) []byte {
	f := append(frameHeader(first, masked, uint64(len(payload))), payload...)
	if masked {
		p := f[len(f)-len(payload):]
		for i := range p {
			p[i] ^= clientKey[i%4]
		}
	}
	return f
}

func (r *rawConn) write(b []byte) {
	r.t.Helper()
	_ = r.c.SetWriteDeadline(time.Now().Add(gwtest.WaitFor))
	if _, err := r.c.Write(b); err != nil {
		r.t.Fatalf("raw write: %v", err)
	}
}

// readFrame reads one server frame (servers never mask).
func (r *rawConn) readFrame() (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		return 0, nil, err
	}
	if h[1]&maskBit != 0 {
		return 0, nil, errors.New("the server masked a frame")
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 1<<24 {
		return 0, nil, fmt.Errorf("the server sent a %d-byte frame", n)
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r.br, payload); err != nil {
		return 0, nil, err
	}
	return h[0] & 0x0f, payload, nil
}

// expectClose reads frames until the server's close frame and returns its
// code and reason, then closes the socket as a client would; it fails the
// test if the connection ends without a close frame.
func (r *rawConn) expectClose() (int, string) {
	r.t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(gwtest.WaitFor))
	for {
		op, payload, err := r.readFrame()
		if err != nil {
			r.t.Fatalf("connection ended without a close frame: %v", err)
		}
		if op != opClose {
			continue
		}
		_ = r.c.Close()
		if len(payload) < 2 {
			return 1005, ""
		}
		return int(binary.BigEndian.Uint16(payload)), string(payload[2:])
	}
}
