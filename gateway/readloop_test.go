package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/wsgw/wsgw/internal/gwtest"
)

// An idle connection's read loop keeps the runtime's smallest stack (2 KiB)
// after its open and a message echoed: half the memory of an idle
// connection (docs/BENCHMARKS.md, "Memory per idle connection"). A change
// that runs something deep on the read loop grows it to 4 KiB for good.
// The clients are raw sockets, so that the only goroutines that come and go
// are the gateway's.
func TestIdleReadLoopKeepsTheSmallestStack(t *testing.T) {
	if raceEnabled {
		t.Skip("-race doubles the runtime's stack guard: no read loop fits in 2 KiB; run without -race")
	}
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{
		"/echo": `if (websocketInfo.type === "data") websocketInfo.send(websocketInfo.message);`,
	}})
	addr := strings.TrimPrefix(h.Srv.URL, "http://")
	const n = 400
	clients := make([]net.Conn, n)
	for i := range clients {
		clients[i] = dialEcho(t, addr)
	}
	open := stackInuse()
	for _, c := range clients {
		_ = c.Close()
	}
	h.Logs.WaitCount(t, "every connection closed", n, func(l map[string]any) bool { return l["msg"] == "connection closed" })
	closed := stackInuse()
	if per := (int64(open) - int64(closed)) / n; per > 3<<10 {
		t.Fatalf("each idle connection held %d bytes of goroutine stack, want 2 KiB: its read loop's stack grew", per)
	}
}

func stackInuse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.StackInuse
}

// dialEcho opens a WebSocket to /echo by hand, sends "hi" and reads its echo.
func dialEcho(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET /echo HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", addr)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	key := [4]byte{1, 2, 3, 4}
	if _, err := c.Write([]byte{0x81, 0x82, key[0], key[1], key[2], key[3], 'h' ^ key[0], 'i' ^ key[1]}); err != nil {
		t.Fatal(err)
	}
	echo := make([]byte, 4)
	if _, err := io.ReadFull(br, echo); err != nil || string(echo) != "\x81\x02hi" {
		t.Fatalf("echo %q, %v", echo, err)
	}
	return c
}
