package gateway

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/runtime"
)

// benchConn is the cheapest runtime.Conn: the benchmark measures the hand-off.
type benchConn struct{ info *wsgw.SocketInfo }

func (c benchConn) Info() *wsgw.SocketInfo  { return c.info }
func (c benchConn) Auth() map[string]any    { return nil }
func (c benchConn) Send([]byte, bool) error { return nil }
func (c benchConn) Close(int, string) error { return nil }

// BenchmarkHandOff measures what running an event on a script worker costs
// over running it on the read loop's own goroutine (docs/BENCHMARKS.md,
// "Memory per idle connection"). Each iteration runs one data event of
// `return websocketInfo.message` through the engine on the calling goroutine
// and one through Gateway.handOff, which passes it to a worker and waits,
// timing each; alternating them keeps a busy machine from favouring either.
// It reports both and their difference, the hand-off, per event.
func BenchmarkHandOff(b *testing.B) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	engine := runtime.New(runtime.Options{PoolSize: 4, Logger: log})
	g, err := New(Options{Conns: NewConns(), Engine: engine, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = g.Shutdown(context.Background()) })
	h, err := runtime.Compile("bench", `return websocketInfo.message`)
	if err != nil {
		b.Fatal(err)
	}
	bc := benchConn{&wsgw.SocketInfo{ID: "bench", Route: "/bench"}}
	c := &conn{endpoint: &endpoint{path: "/bench"}, info: bc.info} // what the fair share admits
	payload := []byte("hello, gateway: a 32-byte message")
	var direct, handed time.Duration
	b.ReportAllocs()
	for b.Loop() {
		ev := runtime.Event{Type: runtime.Data, Conn: bc, Data: payload, Timestamp: 1}
		t0 := time.Now()
		if err := engine.Run(context.Background(), h, &ev); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		ev = runtime.Event{Type: runtime.Data, Conn: bc, Data: payload, Timestamp: 1}
		if err := g.handOff(c, h, &ev); err != nil {
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
