// Command wsclient is a minimal interactive WebSocket client for trying the
// gateway from a shell: each line typed is sent as a text message, whatever
// its length (a line over limits.max_message_bytes shows the 1009 close),
// and every message received is printed.
//
//	go run ./cmd/wsclient ws://127.0.0.1:8080/echo
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/lxzan/gws"
)

// maxLine is the longest line wsclient sends: above the largest
// max_message_bytes the gateway accepts (1 GiB), so that every limit can be
// tried.
const maxLine = 1<<30 + 1

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("wsclient", flag.ContinueOnError)
	flags.SetOutput(stderr)
	header := flags.String("H", "", `extra request header, "Name: value"`)
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: wsclient [-H 'Name: value'] ws://host:port/path")
	}
	if err := flags.Parse(args); err != nil || flags.NArg() != 1 {
		flags.Usage()
		return 2
	}
	h := http.Header{}
	if name, value, ok := cutHeader(*header); ok {
		h.Set(name, value)
	}
	p := printer{out: stdout, err: stderr, done: make(chan struct{})}
	conn, resp, err := gws.NewClient(p, &gws.ClientOption{Addr: flags.Arg(0), RequestHeader: h, WriteMaxPayloadSize: maxLine})
	if err != nil {
		if resp != nil {
			fmt.Fprintf(stderr, "wsclient: %v (HTTP %s)\n", err, resp.Status)
		} else {
			fmt.Fprintf(stderr, "wsclient: %v\n", err)
		}
		return 1
	}
	go conn.ReadLoop()
	go send(conn, stdin, stderr)
	<-p.done
	return 0
}

// send sends each line of in as a text message, then starts the closing
// handshake with 1000. Lines are read whole, however long: a line is a
// message. The close frame is written as a plain frame, not with WriteClose
// (which drops the connection at once), so the replies still on their way
// are read and printed until the server's close frame ends the read loop.
func send(conn *gws.Conn, in io.Reader, stderr io.Writer) {
	r := bufio.NewReader(in)
	for {
		line, err := r.ReadString('\n')
		if err == nil || line != "" {
			line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
			if werr := conn.WriteString(line); werr != nil {
				fmt.Fprintf(stderr, "wsclient: sending a %d-byte line: %v\n", len(line), werr)
				return
			}
		}
		if err != nil {
			break
		}
	}
	_ = conn.WriteMessage(gws.OpcodeCloseConnection, []byte{1000 >> 8, 1000 & 0xff})
}

func cutHeader(s string) (string, string, bool) {
	name, value, ok := strings.Cut(s, ":")
	return name, strings.TrimLeft(value, " "), ok
}

// printer prints what the server sends and how the connection ends.
type printer struct {
	out, err io.Writer
	done     chan struct{}
}

func (p printer) OnOpen(*gws.Conn)             { fmt.Fprintln(p.err, "connected; type a line to send it") }
func (p printer) OnPing(c *gws.Conn, b []byte) { _ = c.WritePong(b) }
func (p printer) OnPong(*gws.Conn, []byte)     {}
func (p printer) OnClose(_ *gws.Conn, err error) {
	var ce *gws.CloseError
	if errors.As(err, &ce) {
		fmt.Fprintf(p.err, "closed by the server: %d %s\n", ce.Code, ce.Reason)
	} else {
		fmt.Fprintln(p.err, "closed:", err)
	}
	close(p.done)
}
func (p printer) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	if m.Opcode == gws.OpcodeBinary {
		fmt.Fprintf(p.out, "< (binary, %d bytes) %x\n", len(m.Bytes()), m.Bytes())
		return
	}
	fmt.Fprintf(p.out, "< %s\n", m.Bytes())
}
