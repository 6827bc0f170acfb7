package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// echo dials /echo and checks one round trip.
func echo(t *testing.T, wsURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, _, err := websocket.Dial(ctx, wsURL+"/echo", nil)
	if err != nil {
		t.Fatalf("a well-behaved client could not connect: %v", err)
	}
	defer c.CloseNow()
	if _, m, err := c.Read(ctx); err != nil || string(m) != "Welcome" {
		t.Fatalf("greeting %q, %v", m, err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, m, err := c.Read(ctx); err != nil || string(m) != "ping" {
		t.Fatalf("echo %q, %v", m, err)
	}
}

// expectDropped waits for the server to drop c, which must not get an
// upgrade meanwhile.
func expectDropped(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitFor))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept a slow client for more than %v", waitFor)
	}
	if s := string(b); s != "" && !strings.HasPrefix(s, "HTTP/1.1 4") {
		t.Fatalf("the server answered a slow client with %q", s)
	}
}

// stillOpen reports whether the server has not closed c yet.
func stillOpen(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestSlowClientsAreDropped holds thousands of connections that never finish
// their upgrade request: some send nothing, some half a request line, some
// all but the final blank line, and one trickles a byte at a time. Meanwhile
// a well-behaved client connects and echoes; then every slow connection is
// dropped by handshake_timeout.
func TestSlowClientsAreDropped(t *testing.T) {
	srv, _ := startGateway(t, map[string]string{
		"gateway.yaml": baseConfig + "limits: {handshake_timeout: 4s}\n",
		"echo.js":      echoJS,
	})
	wsURL := "ws://" + srv.publicAddr
	partials := []string{
		"",
		"GET /echo HT",
		"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
	}
	const n = 2000
	slow := make([]net.Conn, 0, n)
	for i := range n {
		c, err := net.Dial("tcp", srv.publicAddr)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		defer c.Close()
		if p := partials[i%len(partials)]; p != "" {
			if _, err := io.WriteString(c, p); err != nil {
				t.Fatal(err)
			}
		}
		slow = append(slow, c)
	}
	trickle, err := net.Dial("tcp", srv.publicAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer trickle.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // a byte every 50ms, never a whole header block
		defer wg.Done()
		for i := 0; ; i++ {
			if _, err := trickle.Write([]byte{"GET /echo HTTP/1.1\r\nX-Slow: "[min(i, 25)]}); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()

	echo(t, wsURL)
	if !stillOpen(slow[n-1]) {
		t.Fatal("the slow connections were gone before the well-behaved client was served: nothing was proved")
	}
	for _, c := range slow {
		expectDropped(t, c)
	}
	expectDropped(t, trickle)
	wg.Wait()
	echo(t, wsURL)
}

// TestIdleKeepAliveIsDropped: after a plain request (the health probe), a
// client that keeps the connection open and silent is dropped.
func TestIdleKeepAliveIsDropped(t *testing.T) {
	srv, _ := startGateway(t, map[string]string{
		"gateway.yaml": baseConfig + "limits: {handshake_timeout: 300ms}\n",
		"echo.js":      echoJS,
	})
	c, err := net.Dial("tcp", srv.publicAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /api/v1/solution/health HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(waitFor))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("health: %v %v", resp, err)
	}
	_ = resp.Body.Close()
	expectDropped(t, c)
	echo(t, "ws://"+srv.publicAddr)
}
