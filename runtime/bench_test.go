package runtime_test

import (
	"context"
	"testing"
	"time"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/runtime"
)

// discardConn is the cheapest Conn: the benchmark measures the runtime, not a sink.
type discardConn struct{ info *wsgw.SocketInfo }

func (c discardConn) Info() *wsgw.SocketInfo      { return c.info }
func (c discardConn) Auth() map[string]any        { return nil }
func (c discardConn) Send([]byte, bool) error     { return nil }
func (c discardConn) Deliver(*wsgw.Message) error { return nil }
func (c discardConn) Close(int, string) error     { return nil }
func (c discardConn) State() []byte               { return wsgw.EmptyState }
func (c discardConn) SaveState([]byte) error      { return nil }
func (c discardConn) User() string                { return "" }
func (c discardConn) SetUser(string) error        { return nil }
func (c discardConn) Join(string) error           { return nil }
func (c discardConn) Leave(string) error          { return nil }

// stateConn keeps what the engine saves, as the gateway's connection does.
type stateConn struct {
	discardConn
	state []byte
}

func (c *stateConn) State() []byte            { return c.state }
func (c *stateConn) SaveState(s []byte) error { c.state = append(c.state[:0], s...); return nil }

// BenchmarkStateEvent is a data event of the echo that counts its messages
// in websocketInfo.state (scripts/bench/state-echo.js) beside the plain
// echo: what reading, changing and saving the state costs.
func BenchmarkStateEvent(b *testing.B) {
	for name, src := range map[string]string{
		"echo":       `websocketInfo.send(websocketInfo.message, websocketInfo.message_type)`,
		"state-echo": `websocketInfo.state.n = (websocketInfo.state.n || 0) + 1; websocketInfo.send(websocketInfo.message, websocketInfo.message_type)`,
	} {
		b.Run(name, func(b *testing.B) {
			e := newEngine(b, runtime.Options{PoolSize: 1})
			h := mustCompile(b, src)
			conn := &stateConn{discardConn{newConn().info}, []byte("{}")}
			payload := []byte("hello, gateway: a 32-byte message")
			b.ReportAllocs()
			for b.Loop() {
				ev := runtime.Event{Type: runtime.Data, Conn: conn, Data: payload, Timestamp: 1}
				if err := e.Run(context.Background(), h, &ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

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

// BenchmarkHandOff measures what running an event on one of the engine's
// workers (Dispatch, as the gateway does) costs over running it on the
// calling goroutine (Run): docs/BENCHMARKS.md, "Memory per idle
// connection". Each iteration runs one data event of `return
// websocketInfo.message` each way, timing each; alternating them keeps a
// busy machine from favouring either. It reports both and their
// difference, the hand-off, per event.
func BenchmarkHandOff(b *testing.B) {
	e := newEngine(b, runtime.Options{PoolSize: 4})
	h := mustCompile(b, `return websocketInfo.message`)
	conn := discardConn{newConn().info}
	payload := []byte("hello, gateway: a 32-byte message")
	var direct, handed time.Duration
	b.ReportAllocs()
	for b.Loop() {
		ev := runtime.Event{Type: runtime.Data, Conn: conn, Data: payload, Timestamp: 1}
		t0 := time.Now()
		if err := e.Run(context.Background(), h, &ev); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		ev = runtime.Event{Type: runtime.Data, Conn: conn, Data: payload, Timestamp: 1}
		if err := e.Dispatch(h, &ev); err != nil {
			b.Fatal(err)
		}
		direct += t1.Sub(t0)
		handed += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(direct.Nanoseconds())/n, "direct-ns/event")
	b.ReportMetric(float64(handed.Nanoseconds())/n, "handoff-ns/event")
	b.ReportMetric(float64((handed-direct).Nanoseconds())/n, "extra-ns/event")
}
