package gateway

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// The raw socket read gives what net.Conn.Read would: the bytes, io.EOF at
// the end of the stream, a timeout at a deadline, an error once closed.
func TestSocketReaderReadsAsNetConn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var s socketReader
	s.attach(nc)
	if s.raw == nil {
		t.Fatal("a TCP connection was not attached")
	}
	read := func(p []byte) (int, error) {
		if err := s.rawRead(p); err != nil {
			return 0, err
		}
		return s.n, s.err
	}
	buf := make([]byte, 16)

	if err := nc.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v, want a deadline error", err)
	}
	_ = nc.SetReadDeadline(time.Time{})

	if _, err := peer.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if n, err := read(buf); err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("read %q, %v; want hello", buf[:n], err)
	}

	_ = peer.Close()
	if n, err := read(buf); n != 0 || err != io.EOF {
		t.Fatalf("read after the peer closed: %d, %v; want 0, EOF", n, err)
	}

	_ = nc.Close()
	if _, err := read(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after close: %v, want net.ErrClosed", err)
	}
}

// A connection without a descriptor (TLS) is read through net.Conn.Read.
func TestSocketReaderLeavesOtherConnsAlone(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	var s socketReader
	s.attach(a)
	if s.raw != nil {
		t.Fatal("a net.Pipe was attached")
	}
}
