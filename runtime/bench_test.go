package runtime_test

import (
	"context"
	"testing"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/runtime"
)

// discardConn is the cheapest Conn: the benchmark measures the runtime, not a sink.
type discardConn struct{ info *wsgw.SocketInfo }

func (c discardConn) Info() *wsgw.SocketInfo  { return c.info }
func (c discardConn) Auth() map[string]any    { return nil }
func (c discardConn) Send([]byte, bool) error { return nil }
func (c discardConn) Close(int, string) error { return nil }

// BenchmarkDataEvent is one data event through the runtime: websocketInfo
// built, the echo script called, its send queued on the connection.
func BenchmarkDataEvent(b *testing.B) {
	scripts := map[string]string{
		"send":   `websocketInfo.send(websocketInfo.message)`,
		"return": `return websocketInfo.message`,
		"spec-echo": `if (websocketInfo.type === "open") { websocketInfo.send("Welcome") }
else if (websocketInfo.type === "data") { websocketInfo.send(websocketInfo.message) }`,
	}
	for name, src := range scripts {
		b.Run(name, func(b *testing.B) {
			e := newEngine(b, runtime.Options{PoolSize: 1})
			h := mustCompile(b, src)
			conn := discardConn{newConn().info}
			payload := []byte("hello, gateway: a 32-byte message")
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				ev := runtime.Event{Type: runtime.Data, Conn: conn, Data: payload, Timestamp: 1}
				if err := e.Run(ctx, h, &ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
