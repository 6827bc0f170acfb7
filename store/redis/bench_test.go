package redis_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/internal/redistest"
	redisstore "github.com/wsgw/wsgw/store/redis"
	"github.com/wsgw/wsgw/store/storetest"
)

// The figures of docs/operations.md come from these benchmarks, on the
// shared test Redis:
//
//	go test ./store/redis -run '^$' -bench 'RegisterStorm' -benchtime 200000x
//	go test ./store/redis -run '^$' -bench 'ConnectStorm' -benchtime 8000x
//	go test ./store/redis -run '^$' -bench 'CrossNodeSend' -benchtime 50000x
//
//	go test ./store/redis -run '^$' -bench 'KillToCleanList' -benchtime 3x
//
// (each run of the last waits for a heartbeat TTL).

// BenchmarkRegisterStorm registers b.N sockets from 64 goroutines, as a
// connect storm would, and counts until every one is written to Redis.
func BenchmarkRegisterStorm(b *testing.B) {
	be := sharedBackend(b)
	s := be.open(b, redistest.Prefix(), storetest.Node, redisstore.Options{HeartbeatInterval: time.Second}).registry
	infos := make([]*wsgw.SocketInfo, b.N)
	for i := range infos {
		infos[i] = storetest.Info("storm-" + strconv.Itoa(i))
	}
	b.ResetTimer()
	start := time.Now()
	storm(b.N, func(i int) {
		if err := s.Register(context.Background(), infos[i]); err != nil {
			b.Error(err)
		}
	})
	if err := s.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "registrations/s")
	if ids, _, err := s.List(context.Background(), "", 0); err != nil || len(ids) != b.N {
		b.Fatalf("registry holds %d sockets (%v), want %d", len(ids), err, b.N)
	}
}

// storm runs fn(0) … fn(n-1) on 64 goroutines, the storms' concurrency.
func storm(n int, fn func(i int)) {
	const workers = 64
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				fn(int(i))
			}
		})
	}
	wg.Wait()
}

// BenchmarkConnectStorm opens b.N real WebSocket connections to one node
// from 64 goroutines; each registers through the batching writer. It
// reports connects/s (handshake, open event, socket_id back to the client)
// and checks that the registry holds them all.
// The memory variant is the same storm on the embedded store, for
// comparison: what the Redis store costs the upgrade path.
func BenchmarkConnectStorm(b *testing.B) {
	b.Run("redis", func(b *testing.B) {
		connectStorm(b, sharedBackend(b).startNode(b, redistest.Prefix(), "storm"))
	})
	b.Run("memory", func(b *testing.B) { connectStorm(b, startMemoryNode(b)) })
}

func connectStorm(b *testing.B, n *node) {
	if b.N > 8000 {
		b.Skip("each connection costs two file descriptors in this process; use -benchtime 8000x or less")
	}
	clients := make([]*client, b.N)
	b.ResetTimer()
	start := time.Now()
	storm(b.N, func(i int) { clients[i] = n.dial() })
	flushAll(b, n)
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "connects/s")
	if got := len(n.list()); got != b.N {
		b.Fatalf("registry holds %d sockets, want %d", got, b.N)
	}
	for _, c := range clients {
		_ = c.WS.CloseNow()
	}
}

// BenchmarkCrossNodeSend sends b.N messages with node A's service Send to
// sockets on node B, from one sender (latency) or 16 senders (throughput),
// each with a client of its own, and reports messages/s and the latency from
// Send to the client's read.
func BenchmarkCrossNodeSend(b *testing.B) {
	for _, senders := range []int{1, 16} {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) { crossNodeSend(b, senders) })
	}
}

func crossNodeSend(b *testing.B, senders int) {
	be := sharedBackend(b)
	nodes := be.startNodes(b, 2)
	a, bn := nodes[0], nodes[1]
	clients := make([]*client, senders)
	for i := range clients {
		clients[i] = bn.dial()
	}
	flushAll(b, nodes...)
	latencies := make([][]time.Duration, senders)
	per := (b.N + senders - 1) / senders
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(2)
		go func() { // the sender
			defer wg.Done()
			for range per {
				msg := strconv.FormatInt(time.Now().UnixNano(), 10)
				if err := a.svc.Send(context.Background(), c.id, &wsgw.Message{Data: []byte(msg)}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
		go func() { // the receiver
			defer wg.Done()
			lat := make([]time.Duration, 0, per)
			for range per {
				sent, err := strconv.ParseInt(c.ReadText(), 10, 64)
				if err != nil {
					b.Error(err)
					return
				}
				lat = append(lat, time.Duration(time.Now().UnixNano()-sent))
			}
			latencies[i] = lat
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(latencies...)
	slices.Sort(all)
	if len(all) == 0 {
		b.Fatal("no message arrived")
	}
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkKillToCleanList kills a node holding 100 sockets, SIGKILL-style,
// and times until another node's list no longer shows them, with a
// heartbeat of 1s (TTL 3s). The bound is TTL + one heartbeat after the
// last heartbeat of the dead node.
func BenchmarkKillToCleanList(b *testing.B) {
	be := sharedBackend(b)
	const heartbeat = time.Second
	var total time.Duration
	for range b.N {
		b.StopTimer()
		prefix := redistest.Prefix()
		a := be.startNodeWith(b, prefix, "survivor", heartbeat)
		dead := be.startNodeWith(b, prefix, "victim", heartbeat)
		for range 100 {
			dead.dial()
		}
		flushAll(b, a, dead)
		if got := len(a.list()); got != 100 {
			b.Fatalf("list before the kill has %d sockets", got)
		}
		b.StartTimer()
		killed := time.Now()
		dead.kill()
		for {
			ids, status := a.tryList()
			if status == http.StatusOK && len(ids) == 0 {
				break
			}
			if time.Since(killed) > time.Minute {
				b.Fatal("the dead node's sockets never left the list")
			}
			time.Sleep(10 * time.Millisecond)
		}
		total += time.Since(killed)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-to-clean-list")
	b.ReportMetric(float64((3 * heartbeat).Milliseconds()), "ttl-ms")
}
