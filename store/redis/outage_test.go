package redis_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
	for _, c := range []*client{stayA, onB, leaving} {
		c.call(map[string]any{"op": "join", "group": "room"})
	}
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
	// A publish reaches this node's members and answers 503 for the others.
	if status, body := a.rest("POST", "/api/v1/websocket/groups/room/send", `{"message": "during"}`); status != http.StatusServiceUnavailable {
		t.Fatalf("publish during the outage = %d %s, want 503", status, body)
	}
	if got := stayA.ReadText(); got != "during" {
		t.Fatalf("local member got %q from a publish during the outage", got)
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
	// The memberships of the sockets that stayed are all back, and a
	// publish reaches them on both nodes again.
	for _, n := range nodes {
		if status, body := n.rest("GET", "/api/v1/websocket/groups/room/sockets", ""); body != jsonOf(ids(stayA, onB))+"\n" {
			t.Fatalf("the group on %s after Redis came back = %d %s, want %v", n.id, status, body, ids(stayA, onB))
		}
	}
	if status, body := a.rest("POST", "/api/v1/websocket/groups/room/send", `{"message": "after"}`); status != http.StatusAccepted {
		t.Fatalf("publish after the outage = %d %s", status, body)
	}
	for _, c := range []*client{stayA, onB} {
		if got := c.ReadText(); got != "after" {
			t.Fatalf("member %s got %q after the outage", c.id, got)
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

// TestLookupsWhileTheRegistryResyncs: Redis restarts empty while node B is
// cut off from it. Node A comes back and writes its own sockets; until B has
// written its sockets again, a lookup of B's socket on A answers 503
// "registry resyncing", never 404 for a socket that exists; then 200.
func TestLookupsWhileTheRegistryResyncs(t *testing.T) {
	srv := redistest.StartServer(t, false)
	proxy := redistest.StartProxy(t, srv.Addr)
	prefix := redistest.Prefix()
	// A heartbeats every 2s: it waits 6s for the nodes it knew to come back.
	a := backend{addrs: []string{srv.Addr}, owned: srv}.startNodeOpts(t, prefix, "node-a", nodeOptions{heartbeat: 2 * time.Second})
	bn := backend{addrs: []string{proxy.Addr}, owned: srv}.startNode(t, prefix, "node-b")
	onB := bn.dial()
	flushAll(t, a, bn)
	if status, _ := a.info(onB.id); status != http.StatusOK {
		t.Fatalf("info of B's socket on A before the outage = %d", status)
	}
	eventually(t, "node A to know node B", func() bool { return slices.Contains(a.store.registry.KnownPeers(), bn.id) })

	// A lookup on A, over and over, from the outage until B is back: never
	// a 404.
	probe := func() (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", a.admin.URL+"/api/v1/websocket/sockets/"+url.PathEscape(onB.id), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	stop := make(chan struct{})
	probed := make(chan map[int]int)
	go func() {
		seen := map[int]int{}
		defer func() { probed <- seen }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			status, body := probe()
			seen[status]++
			if status == http.StatusNotFound {
				t.Errorf("a lookup of B's live socket on A answered 404: %s", body)
			}
		}
	}()

	srv.Stop()
	for _, n := range []*node{a, bn} {
		eventually(t, "health 503 on "+n.id, func() bool { status, _ := n.health(); return status == http.StatusServiceUnavailable })
	}
	proxy.Block()
	srv.Restart(t)
	eventually(t, "node A back", func() bool { status, _ := a.health(); return status == http.StatusOK })
	// B is still cut off: its socket is not in the registry, and A knows
	// that the registry is not whole.
	for range 20 {
		status, body := probe()
		if status != http.StatusServiceUnavailable || !strings.Contains(body, "registry resyncing") {
			t.Fatalf("info of B's socket while B has not written it again = %d %s, want 503 registry resyncing", status, body)
		}
		status, body = a.send(onB.id, "x")
		if status != http.StatusServiceUnavailable || !strings.Contains(body, "registry resyncing") {
			t.Fatalf("send to B's socket while B has not written it again = %d %s, want 503 registry resyncing", status, body)
		}
	}
	proxy.Unblock()
	eventually(t, "B's socket found again", func() bool { status, _ := a.info(onB.id); return status == http.StatusOK })
	close(stop)
	seen := <-probed
	t.Logf("lookups of B's socket on A through the outage: %v", seen)
	if status, body := a.send(onB.id, "back"); status != http.StatusNoContent {
		t.Fatalf("send to B's socket after B is back = %d %s", status, body)
	}
	if got := onB.ReadText(); got != "back" {
		t.Fatalf("B's client got %q", got)
	}
	// A miss now proves that a socket does not exist.
	if status, _ := a.info("no-such-socket"); status != http.StatusNotFound {
		t.Fatalf("info of an unknown socket once the registry is whole = %d, want 404", status)
	}
}
