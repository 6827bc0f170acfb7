//go:build !linux

package gateway

import (
	"net"
	"syscall"
)

// socketReader is attached on Linux only (socketread_linux.go); elsewhere
// the guard reads through net.Conn.Read.
type socketReader struct {
	raw syscall.RawConn
	p   []byte
	n   int
	err error
}

func (*socketReader) attach(net.Conn) {}

func (*socketReader) rawRead([]byte) error {
	panic("gateway: no raw socket reads on this platform")
}
