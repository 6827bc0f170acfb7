package gateway

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestExpiryQueueOrder queues connections out of order, removes one, and
// sees the others expire in order of their expiry, once each.
func TestExpiryQueueOrder(t *testing.T) {
	q := newExpiryQueue()
	now := time.Now()
	conns := make([]*conn, 5)
	for i, ms := range []int{40, 10, 30, 20, 50} {
		conns[i] = &conn{expires: now.Add(time.Duration(ms) * time.Millisecond).UnixNano(), expiryIndex: -1}
		q.add(conns[i])
	}
	q.remove(conns[2]) // the 30ms one closed before its token expired
	stop := make(chan struct{})
	got := make(chan *conn, 10)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); q.run(stop, func(c *conn) { got <- c }) }()
	for _, want := range []*conn{conns[1], conns[3], conns[0], conns[4]} {
		select {
		case c := <-got:
			if c != want {
				t.Fatalf("expired the connection due at %v, want %v", c.expires-now.UnixNano(), want.expires-now.UnixNano())
			}
			if time.Now().UnixNano() < c.expires {
				t.Fatal("expired before its time")
			}
		case <-time.After(waitForExpiry):
			t.Fatal("no expiry")
		}
	}
	// A new earliest expiry wakes the sleeping loop.
	late := &conn{expires: time.Now().Add(time.Hour).UnixNano(), expiryIndex: -1}
	q.add(late)
	soon := &conn{expires: time.Now().UnixNano(), expiryIndex: -1}
	q.add(soon)
	select {
	case c := <-got:
		if c != soon {
			t.Fatal("expired the wrong connection")
		}
	case <-time.After(waitForExpiry):
		t.Fatal("an earlier expiry added later did not wake the queue")
	}
	close(stop)
	wg.Wait()
	if len(q.items) != 1 || late.expiryIndex != 0 || conns[2].expiryIndex != -1 {
		t.Fatalf("queue left with %d items", len(q.items))
	}
}

const waitForExpiry = 15 * time.Second

// BenchmarkExpiry compares the expiry queue with a timer per connection:
// the cost of arming and disarming one connection's expiry (what a
// connection that closes before its token expires pays), and the memory
// each connection holds while it waits (bytes/conn, with 100k waiting).
//
//	go test ./gateway -run '^$' -bench BenchmarkExpiry -benchmem
func BenchmarkExpiry(b *testing.B) {
	const waiting = 100_000
	far := time.Now().Add(time.Hour)
	b.Run("heap", func(b *testing.B) {
		q := newExpiryQueue()
		conns := make([]*conn, waiting)
		perConn := heapGrowth(func() {
			for i := range conns {
				conns[i] = &conn{expires: far.Add(time.Duration(i)).UnixNano(), expiryIndex: -1}
			}
		}, func() {
			for _, c := range conns {
				q.add(c)
			}
		})
		runtime.KeepAlive(conns)
		c := &conn{expires: far.Add(time.Minute).UnixNano(), expiryIndex: -1}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			q.add(c)
			q.remove(c)
		}
		b.ReportMetric(perConn, "bytes/conn")
	})
	b.Run("timer_per_conn", func(b *testing.B) {
		conns := make([]*conn, waiting)
		timers := make([]*time.Timer, waiting)
		perConn := heapGrowth(func() {
			for i := range conns {
				conns[i] = &conn{expires: far.Add(time.Duration(i)).UnixNano()}
			}
		}, func() {
			for i, c := range conns {
				timers[i] = time.AfterFunc(time.Until(far), func() { _ = c.Close(4003, "") })
			}
		})
		runtime.KeepAlive(conns)
		c := &conn{}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			tm := time.AfterFunc(time.Hour, func() { _ = c.Close(4003, "") })
			tm.Stop()
		}
		b.ReportMetric(perConn, "bytes/conn")
		for _, tm := range timers {
			tm.Stop()
		}
	})
}

// heapGrowth runs setup, then measure, and returns the live heap measure
// added per waiting connection.
func heapGrowth(setup, measure func()) float64 {
	setup()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	measure()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return float64(after.HeapAlloc-before.HeapAlloc) / 100_000
}
