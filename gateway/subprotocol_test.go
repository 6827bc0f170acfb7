package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/internal/gwtest"
)

// TestSubprotocolNegotiation upgrades with a stock client offering
// subprotocols: the gateway names the first of the client's list that the
// endpoint speaks, nothing when none is or the endpoint lists none, and the
// script and info see the same choice.
func TestSubprotocolNegotiation(t *testing.T) {
	const script = `if (websocketInfo.type === "open") return websocketInfo.subprotocol + "|" + websocketInfo.socket_id;`
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/listed": script, "/plain": script},
		Endpoints: map[string]wsgw.Options{
			"/listed": {Subprotocols: []string{"graphql-transport-ws", "v12.stomp", "mqtt"}},
		},
	})
	for _, tc := range []struct {
		name, path string
		offered    []string
		want       string
	}{
		{"client order wins", "/listed", []string{"mqtt", "v12.stomp"}, "mqtt"},
		{"first in common", "/listed", []string{"wamp", "v12.stomp", "graphql-transport-ws"}, "v12.stomp"},
		{"none in common", "/listed", []string{"wamp", "v11.stomp"}, ""},
		{"none offered", "/listed", nil, ""},
		{"endpoint without the option", "/plain", []string{"v12.stomp", "mqtt"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), gwtest.WaitFor)
			defer cancel()
			ws, resp, err := websocket.Dial(ctx, h.URL(tc.path), &websocket.DialOptions{Subprotocols: tc.offered})
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer ws.CloseNow()
			if got := resp.Header.Values("Sec-WebSocket-Protocol"); tc.want == "" && len(got) != 0 || tc.want != "" && (len(got) != 1 || got[0] != tc.want) {
				t.Fatalf("Sec-WebSocket-Protocol = %q, want %q", got, tc.want)
			}
			if ws.Subprotocol() != tc.want {
				t.Fatalf("client's subprotocol = %q, want %q", ws.Subprotocol(), tc.want)
			}
			_, msg, err := ws.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			proto, id, _ := cut(string(msg))
			if proto != tc.want {
				t.Fatalf("websocketInfo.subprotocol = %q, want %q", proto, tc.want)
			}
			info, err := h.Service.Info(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if info.Subprotocol != tc.want {
				t.Fatalf("info subprotocol = %q, want %q", info.Subprotocol, tc.want)
			}
		})
	}
}

// TestSubprotocolOnSeveralHeaderLines offers the protocols on two header
// lines, as RFC 6455 allows: the gateway reads them all.
func TestSubprotocolOnSeveralHeaderLines(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts:   map[string]string{"/p": `if (websocketInfo.type === "open") return websocketInfo.subprotocol;`},
		Endpoints: map[string]wsgw.Options{"/p": {Subprotocols: []string{"b"}}},
	})
	conn, err := net.Dial("tcp", h.Srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(gwtest.WaitFor))
	fmt.Fprint(conn, "GET /p HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"+
		"Sec-WebSocket-Protocol: a\r\nSec-WebSocket-Protocol: c, b\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Protocol") != "b" {
		t.Fatalf("HTTP %d, Sec-WebSocket-Protocol %q; want 101 and b", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Protocol"))
	}
	// The open event's answer: an unmasked text frame "b".
	var frame [3]byte
	if _, err := io.ReadFull(br, frame[:]); err != nil || string(frame[:]) != "\x81\x01b" {
		t.Fatalf("first frame %q, %v; want websocketInfo.subprotocol b", frame, err)
	}
}

func cut(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == '|' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
