// Command wsclient is a minimal interactive WebSocket client for trying the
// gateway from a shell: each line typed is sent as a text message, and every
// message received is printed.
//
//	go run ./cmd/wsclient ws://127.0.0.1:8080/echo
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net/http"
	"os"

	"github.com/lxzan/gws"
)

func main() {
	header := flag.String("H", "", `extra request header, "Name: value"`)
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: wsclient [-H 'Name: value'] ws://host:port/path")
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	h := http.Header{}
	if name, value, ok := cutHeader(*header); ok {
		h.Set(name, value)
	}
	done := make(chan struct{})
	conn, resp, err := gws.NewClient(printer{done}, &gws.ClientOption{Addr: flag.Arg(0), RequestHeader: h})
	if err != nil {
		if resp != nil {
			fmt.Fprintf(os.Stderr, "wsclient: %v (HTTP %s)\n", err, resp.Status)
		} else {
			fmt.Fprintf(os.Stderr, "wsclient: %v\n", err)
		}
		os.Exit(1)
	}
	go conn.ReadLoop()
	go func() {
		in := bufio.NewScanner(os.Stdin)
		for in.Scan() {
			if err := conn.WriteString(in.Text()); err != nil {
				return
			}
		}
		_ = conn.WriteClose(1000, nil)
	}()
	<-done
}

func cutHeader(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			j := i + 1
			for j < len(s) && s[j] == ' ' {
				j++
			}
			return s[:i], s[j:], true
		}
	}
	return "", "", false
}

// printer prints what the server sends and how the connection ends.
type printer struct{ done chan struct{} }

func (p printer) OnOpen(*gws.Conn)             { fmt.Fprintln(os.Stderr, "connected; type a line to send it") }
func (p printer) OnPing(c *gws.Conn, b []byte) { _ = c.WritePong(b) }
func (p printer) OnPong(*gws.Conn, []byte)     {}
func (p printer) OnClose(_ *gws.Conn, err error) {
	fmt.Fprintln(os.Stderr, "closed:", err)
	close(p.done)
}
func (p printer) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	if m.Opcode == gws.OpcodeBinary {
		fmt.Printf("< (binary, %d bytes) %x\n", len(m.Bytes()), m.Bytes())
		return
	}
	fmt.Printf("< %s\n", m.Bytes())
}
