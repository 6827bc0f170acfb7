package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lxzan/gws"

	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/internal/gwtest"
)

// echoClient is a gws client that signals each message it receives.
type echoClient struct {
	gws.BuiltinEventHandler
	got chan struct{}
}

func (e *echoClient) OnMessage(_ *gws.Conn, m *gws.Message) {
	m.Close()
	e.got <- struct{}{}
}

// BenchmarkEchoRoundTrip is one message from a client, through the gateway's
// read loop, rate limiter and the JS echo script, back to the client, over
// loopback TCP: the whole per-message path in one process. Allocations count
// the client's too.
func BenchmarkEchoRoundTrip(b *testing.B) {
	h := gwtest.New(b, gwtest.Options{
		Scripts: map[string]string{"/echo": `return websocketInfo.message`},
		Limits:  gateway.Limits{MessagesPerSecond: 0},
	})
	roundTrips(b, h.URL("/echo"))
}

// roundTrips sends a message to url and waits for its echo, b.N times.
func roundTrips(b *testing.B, url string) {
	client := &echoClient{got: make(chan struct{}, 1)}
	conn, _, err := gws.NewClient(client, &gws.ClientOption{Addr: url})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.NetConn().Close()
	go conn.ReadLoop()
	msg := []byte("hello, gateway: a 32-byte message")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := conn.WriteMessage(gws.OpcodeText, msg); err != nil {
			b.Fatal(err)
		}
		<-client.got
	}
}

// rawEcho is the bare gws echo that BenchmarkRawGwsRoundTrip measures
// against: no script, no limiter, no store, a synchronous write.
type rawEcho struct{ gws.BuiltinEventHandler }

func (rawEcho) OnMessage(c *gws.Conn, m *gws.Message) {
	_ = c.WriteMessage(m.Opcode, m.Bytes())
	m.Close()
}

// BenchmarkRawGwsRoundTrip is BenchmarkEchoRoundTrip against a bare gws
// server, the floor of what the WebSocket layer costs on this machine.
func BenchmarkRawGwsRoundTrip(b *testing.B) {
	upgrader := gws.NewUpgrader(rawEcho{}, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if socket, err := upgrader.Upgrade(w, r); err == nil {
			go socket.ReadLoop()
		}
	}))
	defer srv.Close()
	roundTrips(b, "ws"+strings.TrimPrefix(srv.URL, "http"))
}
