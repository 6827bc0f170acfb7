package main

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/internal/gwtest"
)

// syncBuffer is a bytes.Buffer the client's goroutines may write at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLongLines: a line over 64 KiB is sent and echoed whole, and a line
// over the gateway's max_message_bytes is sent too, which the gateway
// answers with 1009.
func TestLongLines(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/echo": `if (websocketInfo.type === "data") return websocketInfo.message`},
		Limits:  gateway.Limits{MaxMessageBytes: 128 << 10},
	})
	long := strings.Repeat("x", 100<<10)    // over bufio.Scanner's 64 KiB
	tooLong := strings.Repeat("y", 200<<10) // over max_message_bytes
	stdin, lines := io.Pipe()
	defer lines.Close()
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() { code <- run([]string{h.URL("/echo")}, stdin, &stdout, &stderr) }()
	go func() { _, _ = io.WriteString(lines, "short\r\n"+long+"\n"+tooLong+"\n") }()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit %d: %s", c, stderr.String())
		}
	case <-time.After(gwtest.WaitFor):
		t.Fatalf("the connection did not end; stderr: %s", stderr.String())
	}
	if want := "< short\n< " + long + "\n"; stdout.String() != want {
		t.Fatalf("stdout: %d bytes, want the two echoes (%d bytes)", len(stdout.String()), len(want))
	}
	if !strings.Contains(stderr.String(), "closed by the server: 1009 ") {
		t.Fatalf("stderr %q: want the 1009 close", stderr.String())
	}
}

// TestPipedLinesAreAllEchoed: lines piped in and then the end of input
// (seq 5 | wsclient …) are all sent, and every echo is printed before the
// client exits: the end of input starts the closing handshake, it does not
// drop the connection under the replies.
func TestPipedLinesAreAllEchoed(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/echo": `if (websocketInfo.type === "data") return websocketInfo.message`},
		Limits:  gateway.Limits{MessagesPerSecond: 0},
	})
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() { code <- run([]string{h.URL("/echo")}, strings.NewReader("1\n2\n3\n4\n5\n"), &stdout, &stderr) }()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit %d: %s", c, stderr.String())
		}
	case <-time.After(gwtest.WaitFor):
		t.Fatalf("the connection did not end; stderr: %s", stderr.String())
	}
	if want := "< 1\n< 2\n< 3\n< 4\n< 5\n"; stdout.String() != want {
		t.Fatalf("stdout %q, want %q", stdout.String(), want)
	}
	if !strings.Contains(stderr.String(), "closed by the server: 1000") {
		t.Fatalf("stderr %q: want the server's 1000 close", stderr.String())
	}
}
