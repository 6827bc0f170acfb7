package redis_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMultiNode runs gateway nodes on the shared Redis; TestCluster runs the
// same tests on a Redis Cluster.
func TestMultiNode(t *testing.T) {
	runMultiNode(t, sharedBackend(t))
}

func runMultiNode(t *testing.T, b backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b backend)
	}{
		{"ListAndInfoOnEveryNode", testListAndInfoEverywhere},
		{"SendAndCloseAcrossNodes", testSendAndCloseAcross},
		{"ScriptSendAndCloseAcrossNodes", testScriptAcross},
		{"UnknownSocketIs404", testUnknownSocket},
		{"CloseAllCountsTheCluster", testCloseAll},
		{"KilledNodePurgedAfterTTL", testKilledNodePurged},
		{"KilledNodeSendIs404AndPurges", testKilledNodeSend},
		{"UnansweredCommandsAreNever204", testUnansweredCommands},
		{"OwnerRefusalReachesTheCaller", testOwnerRefusalReachesTheCaller},
		{"RestartedNodeClearsItsGhosts", testRestartedNode},
		{"DeployUnderTrafficOnTwoNodes", testDeployAcross},
		{"RefusedDeployChangesNoNode", testRefusedDeploy},
		{"UndeployClosesSocketsOnEveryNode", testUndeployAcross},
		{"MissedNoticeCaughtUpByPolling", testMissedNotice},
		{"RestartAdoptsTheClusterVersion", testRestartAdopts},
		{"ColdStartOfTwoNodesTogether", testColdStart},
		{"NewPathIs201", testNewPathIs201},
		{"EventHandlerOnEveryNode", testEventHandlerAcross},
		{"GroupsAcrossNodes", testGroupsAcross},
		{"UsersAcrossNodes", testUsersAcross},
		{"StateAcrossNodesAndDeploys", testStateAcross},
		{"STOMPAcrossNodes", testSTOMPAcross},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, b) })
	}
}

func testListAndInfoEverywhere(t *testing.T, b backend) {
	nodes := b.startNodes(t, 3)
	var clients []*client
	owner := map[string]string{}
	for i, n := range nodes {
		for k := range 2 {
			c := n.dial()
			// Client k of node i sends i+k messages, so every socket has
			// counters of its own for info to report.
			for m := range i + k {
				c.Send(fmt.Sprintf(`{"op": "echo", "message": "m%d"}`, m))
				if got := c.ReadText(); got != fmt.Sprintf("m%d", m) {
					t.Fatalf("echo = %q", got)
				}
			}
			clients = append(clients, c)
			owner[c.id] = n.id
		}
	}
	flushAll(t, nodes...)
	want := ids(clients...)
	for _, n := range nodes {
		if got := n.list(); !slices.Equal(got, want) {
			t.Fatalf("list on %s = %v, want %v", n.id, got, want)
		}
	}
	for _, n := range nodes {
		for _, c := range clients {
			status, s := n.info(c.id)
			if status != http.StatusOK {
				t.Fatalf("info of %s on %s = %d", c.id, n.id, status)
			}
			i, k := nodeIndex(owner[c.id]), slices.Index(clients, c)%2
			if s.Node != owner[c.id] || s.ID != c.id || s.Type != "open" || s.Route != "/relay" ||
				s.MessagesIn != int64(i+k) || !strings.HasPrefix(s.URI, "ws://") {
				t.Fatalf("info of %s on %s = %+v, want node %s with %d messages in", c.id, n.id, s, owner[c.id], i+k)
			}
		}
	}
	// messages_out is counted when a write completes, just after the
	// client can read it: the owner's live counter reaches every node.
	last := clients[len(clients)-1]
	eventually(t, "messages_out from another node", func() bool {
		_, s := nodes[0].info(last.id)
		return s.MessagesOut == s.MessagesIn+1 // the socket_id, then one echo each
	})
}

func nodeIndex(id string) int {
	var i int
	_, _ = fmt.Sscanf(id, "node-%d", &i)
	return i
}

func testSendAndCloseAcross(t *testing.T, b backend) {
	nodes := b.startNodes(t, 2)
	a, bn := nodes[0], nodes[1]
	onB := bn.dial()
	flushAll(t, nodes...)
	for _, msg := range []string{"first", "second", "third"} {
		if status, body := a.send(onB.id, msg); status != http.StatusNoContent {
			t.Fatalf("send from %s to a socket on %s = %d %s", a.id, bn.id, status, body)
		}
	}
	for _, want := range []string{"first", "second", "third"} {
		if typ, got := onB.Read(); got != want || typ != websocket.MessageText {
			t.Fatalf("client on %s got %v %q, want text %q (in order)", bn.id, typ, got, want)
		}
	}
	// A binary frame crosses as binary.
	if status, body := a.rest("POST", "/api/v1/websocket/sockets/"+onB.id+"/send", `{"message": "AAEC/w==", "type": "data-binary"}`); status != http.StatusNoContent {
		t.Fatalf("binary send = %d %s", status, body)
	}
	if typ, got := onB.Read(); typ != websocket.MessageBinary || got != "\x00\x01\x02\xff" {
		t.Fatalf("client got %v %q, want binary 00 01 02 ff", typ, got)
	}
	if status, body := a.rest("DELETE", "/api/v1/websocket/sockets/"+onB.id+"?code=4001&reason=from+a", ""); status != http.StatusNoContent {
		t.Fatalf("close from %s = %d %s", a.id, status, body)
	}
	if code, reason := onB.ExpectClose(); code != 4001 || reason != "from a" {
		t.Fatalf("client on %s closed with %d %q, want 4001 \"from a\"", bn.id, code, reason)
	}
	eventually(t, "the closed socket to leave the registry", func() bool {
		status, _ := a.info(onB.id)
		return status == http.StatusNotFound
	})
}

func testScriptAcross(t *testing.T, b backend) {
	nodes := b.startNodes(t, 2)
	onA, onB := nodes[0].dial(), nodes[1].dial()
	flushAll(t, nodes...)
	if r := onA.call(map[string]any{"op": "send", "to": onB.id, "message": "hello from a script"}); r != "null" {
		t.Fatalf("Websocket.send across nodes returned %s, want null", r)
	}
	if got := onB.ReadText(); got != "hello from a script" {
		t.Fatalf("client on node-1 got %q", got)
	}
	r := onA.call(map[string]any{"op": "info", "to": onB.id})
	if !strings.Contains(r, `"node":"node-1"`) || !strings.Contains(r, `"type":"open"`) {
		t.Fatalf("Websocket.info across nodes = %s, want node-1's live record", r)
	}
	if r := onA.call(map[string]any{"op": "close", "to": onB.id, "code": 4002, "reason": "by script"}); r != "null" {
		t.Fatalf("Websocket.close across nodes returned %s, want null", r)
	}
	if code, reason := onB.ExpectClose(); code != 4002 || reason != "by script" {
		t.Fatalf("client on node-1 closed with %d %q", code, reason)
	}
}

func testUnknownSocket(t *testing.T, b backend) {
	nodes := b.startNodes(t, 2)
	onA := nodes[0].dial()
	for _, call := range []struct {
		name, method, path, body string
	}{
		{"info", "GET", "/api/v1/websocket/sockets/nope", ""},
		{"send", "POST", "/api/v1/websocket/sockets/nope/send", `{"message": "x"}`},
		{"close", "DELETE", "/api/v1/websocket/sockets/nope", ""},
	} {
		if status, body := nodes[1].rest(call.method, call.path, call.body); status != http.StatusNotFound {
			t.Fatalf("%s of an unknown socket = %d %s, want 404", call.name, status, body)
		}
	}
	r := onA.call(map[string]any{"op": "send", "to": "nope", "message": "x"})
	if !strings.Contains(r, `"status":404`) {
		t.Fatalf("Websocket.send to an unknown socket = %s, want a 404 error object", r)
	}
}

func testCloseAll(t *testing.T, b backend) {
	nodes := b.startNodes(t, 3)
	var clients []*client
	for _, n := range nodes {
		clients = append(clients, n.dial(), n.dial())
	}
	flushAll(t, nodes...)
	status, body := nodes[1].rest("DELETE", "/api/v1/websocket/sockets", "")
	if status != http.StatusOK || strings.TrimSpace(body) != "6" {
		t.Fatalf("closeAll = %d %s, want 200 and 6 (two sockets on each of three nodes)", status, body)
	}
	for _, c := range clients {
		if code, _ := c.ExpectClose(); code != websocket.StatusNormalClosure {
			t.Fatalf("client %s closed with %d, want 1000", c.id, code)
		}
	}
	eventually(t, "an empty registry", func() bool {
		flushAll(t, nodes...)
		ids, _ := nodes[0].tryList()
		return len(ids) == 0
	})
}

func testKilledNodePurged(t *testing.T, b backend) {
	nodes := b.startNodesWith(t, 2, fastHeartbeat)
	a, dead := nodes[0], nodes[1]
	survivor := a.dial()
	ghost1, ghost2 := dead.dial(), dead.dial()
	for _, c := range []*client{survivor, ghost1, ghost2} {
		c.call(map[string]any{"op": "join", "group": "room"})
	}
	ghost1.call(map[string]any{"op": "setUser", "user": "ana"})
	ghost1.call(map[string]any{"op": "count"})
	flushAll(t, nodes...)
	if got := a.list(); len(got) != 3 {
		t.Fatalf("list before the kill = %v", got)
	}
	killed := time.Now()
	dead.kill()
	eventually(t, "the dead node's sockets to leave the list", func() bool {
		return slices.Equal(a.list(), []string{survivor.id})
	})
	t.Logf("list clean %v after the kill (heartbeat %v, TTL %v)", time.Since(killed).Round(time.Millisecond), fastHeartbeat, 3*fastHeartbeat)
	admin := b.client(t)
	eventually(t, "the dead node's records to be purged from Redis", func() bool {
		for _, key := range ghostKeys(a, ghost1.id, ghost2.id) { // one by one: they live on different cluster slots
			if n, err := admin.Exists(context.Background(), key).Result(); err != nil || n != 0 {
				return false
			}
		}
		return true
	})
	eventually(t, "the purge to be counted", func() bool {
		return testutil.ToFloat64(a.metrics.NodesPurged.WithLabelValues("heartbeat_expired")) == 1
	})
	// Its memberships, user and state went with it: no key of the dead
	// node's index is left.
	tag := a.store.KeyPrefix() + ":node:{" + dead.id + "}:"
	for _, key := range []string{tag + "sockets", tag + "index", tag + "state", tag + "group:room", tag + "user:ana"} {
		if n, err := admin.Exists(context.Background(), key).Result(); err != nil || n != 0 {
			t.Fatalf("%s is left in Redis after the purge (%v)", key, err)
		}
	}
	if status, body := a.rest("GET", "/api/v1/websocket/groups/room/sockets", ""); body != jsonOf([]string{survivor.id})+"\n" {
		t.Fatalf("the group after the purge = %d %s, want only the survivor", status, body)
	}
	if status, _ := a.info(ghost1.id); status != http.StatusNotFound {
		t.Fatalf("info of a dead node's socket = %d, want 404", status)
	}
}

// ghostKeys names the registry records of sockets, under the prefix of n.
func ghostKeys(n *node, ids ...string) []string {
	prefix := n.store.KeyPrefix()
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = prefix + ":socket:" + id
	}
	return keys
}

func testKilledNodeSend(t *testing.T, b backend) {
	nodes := b.startNodesWith(t, 2, fastHeartbeat)
	a, dead := nodes[0], nodes[1]
	ghost := dead.dial()
	flushAll(t, nodes...)
	// Fully part of the cluster (a starting node is rejoining until its
	// inbox is proven: a send then answers 503), then killed.
	eventually(t, "health 200 on the victim", func() bool { status, _ := dead.health(); return status == http.StatusOK })
	dead.kill()
	// Long before the heartbeat expires, a send finds no one at the inbox.
	status, body := a.send(ghost.id, "anyone?")
	if status != http.StatusNotFound || !strings.Contains(body, "gone") {
		t.Fatalf("send to a socket of a killed node = %d %s, want 404 naming the gone node", status, body)
	}
	eventually(t, "the killed node's sockets to be purged", func() bool {
		status, _ := a.info(ghost.id)
		return status == http.StatusNotFound && len(a.list()) == 0
	})
	eventually(t, "the purge to be counted", func() bool {
		return testutil.ToFloat64(a.metrics.NodesPurged.WithLabelValues("no_subscriber")) == 1
	})
}

func testRestartedNode(t *testing.T, b backend) {
	prefix := b.startNodes(t, 1)[0].store.KeyPrefix()
	first := b.startNode(t, prefix, "phoenix")
	ghosts := []*client{first.dial(), first.dial()}
	flushAll(t, first)
	first.kill()
	// The same node ID comes back before its heartbeat expired: it clears
	// what its previous run left before it serves.
	again := b.startNode(t, prefix, "phoenix")
	live := again.dial()
	flushAll(t, again)
	if got := again.list(); !slices.Equal(got, []string{live.id}) {
		t.Fatalf("list after the restart = %v, want only %s (ghosts %v)", got, live.id, ids(ghosts...))
	}
}
