package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// leanConn is a minimal HTTP/1.1 client on one keep-alive connection, with
// one request in flight. rest-send measures the server, and on a 2-core box
// net/http's client costs about as much CPU as the server it loads; this
// one writes a request with one syscall from a buffer it reuses and reads
// only what framing needs from the answer: the status, Content-Length,
// Transfer-Encoding and Connection. It is not safe for concurrent use.
type leanConn struct {
	addr    string        // the checked loopback address dialed
	dial    time.Duration // dial timeout, also the bound of one request
	prefix  string        // the admin URL's path, without a trailing slash
	headers string        // Host, Authorization and Content-Type lines
	conn    net.Conn
	br      *bufio.Reader
	req     []byte    // the request being written, reused
	body    []byte    // the answer's body, reused
	until   time.Time // the deadline set on conn
}

// maxAnswer bounds an answer's body; send and batch answers are small.
const maxAnswer = 1 << 20

// newLeanConn prepares a client of the admin API at base (its host already
// checked to resolve to addr); it dials on first use.
func newLeanConn(base, addr, token string, timeout time.Duration) (*leanConn, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", base, err)
	}
	h := "Host: " + u.Host + "\r\nContent-Type: application/json\r\n"
	if token != "" {
		h += "Authorization: Bearer " + token + "\r\n"
	}
	return &leanConn{addr: addr, dial: timeout, prefix: strings.TrimRight(u.EscapedPath(), "/"), headers: h}, nil
}

// post sends body to path (below the admin URL) and returns the status and
// the answer's body, valid until the next call. On any error the connection
// is closed, and the next call dials a new one.
func (c *leanConn) post(ctx context.Context, path string, body []byte) (int, []byte, error) {
	if c.conn == nil {
		d := net.Dialer{Timeout: c.dial}
		conn, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return 0, nil, err
		}
		c.conn, c.until = conn, time.Time{}
		if c.br == nil {
			c.br = bufio.NewReaderSize(conn, 4096)
		} else {
			c.br.Reset(conn)
		}
	}
	c.req = append(c.req[:0], "POST "...)
	c.req = append(c.req, c.prefix...)
	c.req = append(c.req, path...)
	c.req = append(c.req, " HTTP/1.1\r\n"...)
	c.req = append(c.req, c.headers...)
	c.req = append(c.req, "Content-Length: "...)
	c.req = strconv.AppendInt(c.req, int64(len(body)), 10)
	c.req = append(c.req, "\r\n\r\n"...)
	c.req = append(c.req, body...)
	c.extendDeadline()
	if _, err := c.conn.Write(c.req); err != nil {
		c.Close()
		return 0, nil, err
	}
	status, keep, err := c.readAnswer()
	if err != nil {
		c.Close()
		return status, nil, err
	}
	if !keep {
		c.Close()
	}
	return status, c.body, nil
}

// extendDeadline bounds each request by the dial timeout, like net/http's
// Client.Timeout, but moves the deadline only when a quarter of it has
// passed: a deadline update per request would cost a runtime timer change
// per request, a noticeable part of a cheap client.
func (c *leanConn) extendDeadline() {
	now := time.Now()
	if c.until.Sub(now) > c.dial*3/4 {
		return
	}
	c.until = now.Add(c.dial)
	_ = c.conn.SetDeadline(c.until)
}

// Close closes the connection, if any.
func (c *leanConn) Close() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
}

var errMalformed = errors.New("malformed HTTP answer")

// readAnswer reads one answer (skipping 1xx ones) into c.body and reports
// whether the connection may carry another request.
func (c *leanConn) readAnswer() (status int, keep bool, err error) {
	for {
		line, err := c.line()
		if err != nil {
			return 0, false, err
		}
		// "HTTP/1.1 204 No Content"
		proto, rest, ok := bytes.Cut(line, []byte{' '})
		if !ok || !bytes.HasPrefix(proto, []byte("HTTP/1.")) || len(rest) < 3 {
			return 0, false, fmt.Errorf("%w: status line %q", errMalformed, line)
		}
		code, ok := atoi(rest[:3])
		if !ok || code < 100 || code > 999 || len(rest) > 3 && rest[3] != ' ' {
			return 0, false, fmt.Errorf("%w: status line %q", errMalformed, line)
		}
		status = int(code)
		keep = proto[len(proto)-1] == '1' // HTTP/1.0 closes unless told otherwise
		length, chunked := int64(-1), false
		for {
			h, err := c.line()
			if err != nil {
				return status, false, err
			}
			if len(h) == 0 {
				break
			}
			name, value, ok := bytes.Cut(h, []byte{':'})
			if !ok {
				return status, false, fmt.Errorf("%w: header %q", errMalformed, h)
			}
			value = bytes.TrimSpace(value)
			switch {
			case asciiEqualFold(name, "Content-Length"):
				n, ok := atoi(value)
				if !ok || length >= 0 && n != length {
					return status, false, fmt.Errorf("%w: Content-Length %q", errMalformed, value)
				}
				length = n
			case asciiEqualFold(name, "Transfer-Encoding"):
				if !asciiEqualFold(value, "chunked") {
					return status, false, fmt.Errorf("%w: Transfer-Encoding %q", errMalformed, value)
				}
				chunked = true
			case asciiEqualFold(name, "Connection"):
				if asciiEqualFold(value, "close") {
					keep = false
				} else if asciiEqualFold(value, "keep-alive") {
					keep = true
				}
			}
		}
		if status < 200 {
			continue // 100 Continue and the like: the real answer follows
		}
		c.body = c.body[:0]
		switch {
		case status == 204 || status == 304:
			return status, keep, nil
		case chunked:
			return status, keep, c.readChunked()
		case length >= 0:
			if length > maxAnswer {
				return status, false, fmt.Errorf("answer of %d bytes: more than %d", length, maxAnswer)
			}
			return status, keep, c.readN(int(length))
		default: // neither: the body runs to the end of the connection
			b, err := io.ReadAll(io.LimitReader(c.br, maxAnswer+1))
			if err == nil && len(b) > maxAnswer {
				err = fmt.Errorf("answer of more than %d bytes", maxAnswer)
			}
			c.body = append(c.body, b...)
			return status, false, err
		}
	}
}

// readChunked reads a chunked body and its trailer into c.body.
func (c *leanConn) readChunked() error {
	for {
		line, err := c.line()
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(line, []byte{';'}) // chunk extensions are ignored
		n, err := strconv.ParseUint(string(bytes.TrimSpace(size)), 16, 32)
		if err != nil {
			return fmt.Errorf("%w: chunk size %q", errMalformed, line)
		}
		if n == 0 {
			for { // trailer, up to its empty line
				t, err := c.line()
				if err != nil || len(t) == 0 {
					return err
				}
			}
		}
		if len(c.body)+int(n) > maxAnswer {
			return fmt.Errorf("answer of more than %d bytes", maxAnswer)
		}
		if err := c.readN(int(n)); err != nil {
			return err
		}
		if crlf, err := c.line(); err != nil || len(crlf) != 0 {
			return fmt.Errorf("%w: no CRLF after a chunk", errMalformed)
		}
	}
}

// readN appends the next n bytes to c.body.
func (c *leanConn) readN(n int) error {
	start := len(c.body)
	c.body = append(c.body, make([]byte, n)...)
	_, err := io.ReadFull(c.br, c.body[start:])
	return err
}

// line returns the next line without its CRLF (or bare LF), valid until the
// next read.
func (c *leanConn) line() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, fmt.Errorf("%w: a line longer than %d bytes", errMalformed, c.br.Size())
	}
	if err != nil {
		if err == io.EOF && len(line) == 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	return bytes.TrimSuffix(line, []byte{'\r'}), nil
}

// asciiEqualFold compares a header name or token case-insensitively.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
