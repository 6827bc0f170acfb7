package redis_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wsgw/wsgw/internal/gwtest"
	"github.com/wsgw/wsgw/internal/redistest"
)

// TestRedisOutage stops a Redis of its own mid-traffic and starts it again,
// empty; TestCluster does the same to a whole Redis Cluster.
func TestRedisOutage(t *testing.T) {
	srv := redistest.StartServer(t, false)
	testOutage(t, backend{addrs: []string{srv.Addr}, owned: srv})
}

func testOutage(t *testing.T, b backend) {
	prefix := redistest.Prefix()
	logs := gwtest.NewLogSink()
	a := b.startNodeOpts(t, prefix, "node-0", nodeOptions{logger: slog.New(logs)})
	bn := b.startNode(t, prefix, "node-1")
	nodes := []*node{a, bn}
	onA, stayA, onB, leaving := a.dial(), a.dial(), bn.dial(), bn.dial()
	flushAll(t, nodes...)

	// Traffic that must flow through the whole outage: a client of node A
	// echoing, and node A's script sending to its own sockets.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	traffic := onA
	var exchanged atomic.Int64
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			want := fmt.Sprintf("echo %d", i)
			traffic.Send(`{"op": "echo", "message": "` + want + `"}`)
			if got := traffic.ReadText(); got != want {
				t.Errorf("echo during the outage = %q, want %q", got, want)
				return
			}
			exchanged.Add(1)
		}
	}()

	b.owned.Stop()
	for _, n := range nodes {
		eventually(t, "health 503 on "+n.id, func() bool {
			status, body := n.health()
			return status == http.StatusServiceUnavailable && strings.Contains(body, "unavailable")
		})
	}
	// From here on, both nodes know that Redis is gone: what the echo
	// counter gains until the restart went through the outage.
	atOutage := exchanged.Load()
	if status, body := a.send(stayA.id, "local, no Redis needed"); status != http.StatusNoContent {
		t.Fatalf("REST send to a local socket during the outage = %d %s, want 204", status, body)
	}
	if got := stayA.ReadText(); got != "local, no Redis needed" {
		t.Fatalf("local socket got %q", got)
	}
	// Every call for another node's socket fails; the log says so once,
	// then once per interval with a count, not once per call.
	const failing = 20
	for range failing {
		if status, body := a.send(onB.id, "across"); status != http.StatusServiceUnavailable {
			t.Fatalf("send to another node's socket during the outage = %d %s, want 503", status, body)
		}
	}
	if n := logs.Count(func(r map[string]any) bool { return r["level"] == "ERROR" }); n > 2 {
		t.Fatalf("%d failed calls logged %d error lines, want at most one from the gateway and one from the store", failing, n)
	}
	newcomer := a.dial() // registered when Redis returns
	_ = leaving.WS.CloseNow()
	eventually(t, "the leaving socket's close event", func() bool {
		status, _ := bn.info(leaving.id)
		return status != http.StatusOK
	})
	eventually(t, "store errors counted", func() bool {
		return testutil.CollectAndCount(a.metrics.StoreErrors) > 0
	})

	eventually(t, "echoes during the outage", func() bool { return exchanged.Load() > atOutage })
	duringOutage := exchanged.Load() - atOutage
	b.owned.Restart(t)
	for _, n := range nodes {
		eventually(t, "health 200 on "+n.id, func() bool {
			status, _ := n.health()
			return status == http.StatusOK
		})
	}
	for _, n := range nodes {
		// go-redis subscribed the inbox again by itself: the node's own
		// fallback (a fresh subscription) never had to.
		if got := testutil.ToFloat64(n.metrics.StoreErrors.WithLabelValues("subscribe")); got != 0 {
			t.Fatalf("%s had to subscribe its inbox again itself (%v times): go-redis did not resubscribe", n.id, got)
		}
	}
	close(stop)
	wg.Wait()
	want := ids(onA, stayA, onB, newcomer)
	for _, n := range nodes {
		flushAll(t, nodes...)
		if got := n.list(); !slices.Equal(got, want) {
			t.Fatalf("list on %s after Redis came back = %v, want %v (the live sockets, not %s)", n.id, got, want, leaving.id)
		}
	}
	// The inboxes are subscribed again: commands cross both ways.
	if status, body := a.send(onB.id, "after the outage"); status != http.StatusNoContent {
		t.Fatalf("send across after the outage = %d %s", status, body)
	}
	if got := onB.ReadText(); got != "after the outage" {
		t.Fatalf("client on node-1 got %q", got)
	}
	if r := onB.call(map[string]any{"op": "send", "to": newcomer.id, "message": "welcome back"}); r != "null" {
		t.Fatalf("script send to a socket registered during the outage = %s", r)
	}
	if got := newcomer.ReadText(); got != "welcome back" {
		t.Fatalf("newcomer got %q", got)
	}
	t.Logf("%d echoes went through while both nodes answered 503, %d in all", duringOutage, exchanged.Load())
}
