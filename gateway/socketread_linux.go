package gateway

import (
	"io"
	"net"
	"syscall"
)

// socketReader reads the client's socket for the frame guard through its
// descriptor (syscall.RawConn) rather than net.Conn.Read, whose three
// stdlib frames (net.conn, netFD, poll.FD) are 300 bytes of the read loop's
// stack where it parks; the raw path costs half that, which keeps the
// parked read loop within the runtime's smallest stack (readloop.go).
type socketReader struct {
	raw  syscall.RawConn
	read func(fd uintptr) bool // readFd, bound once: a closure per call would be allocated per call
	p    []byte                // what the read fills
	n    int
	err  error
}

// attach makes s read nc's descriptor, when nc has one (not TLS).
func (s *socketReader) attach(nc net.Conn) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	s.raw, s.read = raw, s.readFd
}

// rawRead starts a read into p and waits until it is done, or the poller
// fails (a deadline, a closed socket); the read's outcome is in s.p, s.n and
// s.err, as net.Conn.Read would give it: io.EOF at the end of the stream.
// It is small enough to be inlined into the guard's Read.
func (s *socketReader) rawRead(p []byte) error {
	s.p = p
	return s.raw.Read(s.read)
}

// readFd is the RawConn.Read callback: false asks the poller to wait until
// the socket is readable.
func (s *socketReader) readFd(fd uintptr) bool {
	for {
		n, err := syscall.Read(int(fd), s.p)
		switch err {
		case nil:
			s.n, s.err = n, nil
			if n == 0 && len(s.p) > 0 {
				s.err = io.EOF
			}
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		default:
			s.n, s.err = 0, &net.OpError{Op: "read", Net: "tcp", Err: err}
		}
		return true
	}
}
