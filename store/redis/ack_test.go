package redis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	goredis "github.com/redis/go-redis/v9"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/internal/redistest"
)

// registerRecord writes socket id into the registry under prefix as a
// socket of node, as that node's writer would, and marks node alive.
func registerRecord(t *testing.T, b backend, prefix, node, id string) {
	t.Helper()
	rc := b.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	data, _ := json.Marshal(wsgw.SocketInfo{ID: id, Node: node, URI: "ws://x/relay", Route: "/relay"})
	for _, err := range []error{ // one by one: the keys live on different cluster slots
		rc.Set(ctx, prefix+":socket:"+id, data, 0).Err(),
		rc.ZAdd(ctx, prefix+":node:{"+node+"}:sockets", goredis.Z{Member: id}).Err(),
		rc.Set(ctx, prefix+":node:{"+node+"}:alive", "1", time.Minute).Err(),
		rc.SAdd(ctx, prefix+":nodes", node).Err(),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// impostor subscribes to node's inbox as a process that Redis still
// counts as a subscriber, and reports every command it receives there
// without ever answering: a stalled process, or one killed after Redis
// delivered the command but before it carried it out.
func impostor(t *testing.T, b backend, prefix, node string) (got <-chan string, stop func()) {
	t.Helper()
	rc := b.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ps := rc.SSubscribe(ctx, prefix+":node:{"+node+"}:inbox")
	if _, err := ps.Receive(ctx); err != nil { // the subscription's confirmation
		t.Fatal(err)
	}
	ch := make(chan string, 16)
	go func() {
		for m := range ps.Channel() {
			ch <- m.Payload
		}
	}()
	t.Cleanup(func() { _ = ps.Close() })
	return ch, func() { _ = ps.Close() }
}

// testUnansweredCommands: a send or close that the owning node does not
// acknowledge never answers 204. If the node still listens to its inbox
// (stalled), the call answers 503 after the request timeout; if it stopped
// listening once the command was delivered (killed), the call answers 404
// and the node is purged at once.
func testUnansweredCommands(t *testing.T, b backend) {
	calls := []struct {
		name string
		do   func(n *node, id string) (int, string)
	}{
		{"send", func(n *node, id string) (int, string) { return n.send(id, "anyone?") }},
		{"close", func(n *node, id string) (int, string) {
			return n.rest("DELETE", "/api/v1/websocket/sockets/"+url.PathEscape(id)+"?code=4000", "")
		}},
	}
	for _, call := range calls {
		t.Run(call.name+"ToAStalledNode", func(t *testing.T) {
			prefix := redistest.Prefix()
			a := b.startNodeOpts(t, prefix, "node-a", nodeOptions{requestTimeout: 300 * time.Millisecond})
			registerRecord(t, b, prefix, "stalled", "s1")
			got, _ := impostor(t, b, prefix, "stalled")
			status, body := call.do(a, "s1")
			if status != http.StatusServiceUnavailable || !strings.Contains(body, "did not answer") {
				t.Fatalf("%s to a socket of a node that never acknowledges = %d %s, want 503", call.name, status, body)
			}
			expectCommand(t, got, "s1")
			if n := testutil.ToFloat64(a.metrics.NodesPurged.WithLabelValues("no_subscriber")); n != 0 {
				t.Fatalf("a node that still listens was purged (%v)", n)
			}
		})
		t.Run(call.name+"ToANodeKilledAfterDelivery", func(t *testing.T) {
			prefix := redistest.Prefix()
			a := b.startNodeOpts(t, prefix, "node-a", nodeOptions{requestTimeout: 300 * time.Millisecond})
			registerRecord(t, b, prefix, "killed", "s1")
			got, kill := impostor(t, b, prefix, "killed")
			go func() {
				select {
				case <-got: // delivered; the process dies before it acts
					kill()
				case <-time.After(waitFor):
				}
			}()
			status, body := call.do(a, "s1")
			if status != http.StatusNotFound || !strings.Contains(body, "gone") {
				t.Fatalf("%s to a socket of a node killed after delivery = %d %s, want 404 naming the gone node", call.name, status, body)
			}
			eventually(t, "the killed node to be purged", func() bool {
				return testutil.ToFloat64(a.metrics.NodesPurged.WithLabelValues("no_subscriber")) == 1
			})
			if status, _ := a.info("s1"); status != http.StatusNotFound {
				t.Fatalf("info of the killed node's socket after the purge = %d, want 404", status)
			}
		})
	}
}

// expectCommand waits for a command about socket id at an impostor.
func expectCommand(t *testing.T, got <-chan string, id string) {
	t.Helper()
	select {
	case payload := <-got:
		if !strings.Contains(payload, id) {
			t.Fatalf("the inbox got %q, want a command for %s", payload, id)
		}
	case <-time.After(waitFor):
		t.Fatal("the command never reached the node's inbox")
	}
}

// testOwnerRefusalReachesTheCaller: the owner's answer travels back, so a
// send or close of a socket that its node does not hold (a stale record)
// is a 404 from that node, not a 204.
func testOwnerRefusalReachesTheCaller(t *testing.T, b backend) {
	nodes := b.startNodes(t, 2)
	a, bn := nodes[0], nodes[1]
	registerRecord(t, b, bn.store.KeyPrefix(), bn.id, "stale")
	if status, body := a.send("stale", "x"); status != http.StatusNotFound || !strings.Contains(body, "no socket stale") {
		t.Fatalf("send to a socket its node does not hold = %d %s, want 404", status, body)
	}
	path := "/api/v1/websocket/sockets/stale?code=4000"
	if status, body := a.rest("DELETE", path, ""); status != http.StatusNotFound {
		t.Fatalf("close of a socket its node does not hold = %d %s, want 404", status, body)
	}
	// Many sends at once are acknowledged together, each to its caller.
	onB := bn.dial()
	flushAll(t, nodes...)
	const n = 200
	errs := make(chan error, n)
	for i := range n {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			errs <- a.svc.Send(ctx, onB.id, &wsgw.Message{Data: []byte(fmt.Sprint(i))})
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent send: %v", err)
		}
	}
	seen := map[string]bool{}
	for range n {
		seen[onB.ReadText()] = true
	}
	if len(seen) != n {
		t.Fatalf("the client got %d distinct messages, want %d", len(seen), n)
	}
}
