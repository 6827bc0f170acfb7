package redis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/coder/websocket"

	"github.com/wsgw/wsgw"
)

// testGroupsAcross: sockets of two nodes join one group from a script (their
// own websocketInfo.join, Websocket.join of another node's socket) and from
// REST; every node lists the same members; a publish reaches every member
// on both nodes once, but the excluded, in the publisher's order; leave and
// close take a socket out.
func testGroupsAcross(t *testing.T, b backend) {
	nodes := b.startNodes(t, 2)
	a, bn := nodes[0], nodes[1]
	a1, a2, b1, b2 := a.dial(), a.dial(), bn.dial(), bn.dial()
	flushAll(t, nodes...)
	if r := a1.call(map[string]any{"op": "join", "group": "room 1"}); r != "null" {
		t.Fatalf("websocketInfo.join = %s", r)
	}
	if r := a2.call(map[string]any{"op": "join", "to": b1.id, "group": "room 1"}); r != "null" {
		t.Fatalf("Websocket.join of another node's socket = %s", r)
	}
	if status, body := a.rest("PUT", "/api/v1/websocket/groups/"+url.PathEscape("room 1")+"/sockets/"+b2.id, ""); status != http.StatusNoContent {
		t.Fatalf("REST join = %d %s", status, body)
	}
	flushAll(t, nodes...)
	members := ids(a1, b1, b2)
	if r := b2.call(map[string]any{"op": "list", "args": map[string]any{"group": "room 1"}}); r != jsonOf(members) {
		t.Fatalf("Websocket.list({group}) on node-1 = %s, want %s", r, jsonOf(members))
	}
	for _, n := range nodes {
		status, body := n.rest("GET", "/api/v1/websocket/groups/room%201/sockets", "")
		if status != http.StatusOK || body != jsonOf(members)+"\n" {
			t.Fatalf("REST list of the group on %s = %d %s, want %s", n.id, status, body, jsonOf(members))
		}
	}
	if status, s := a.info(b1.id); status != http.StatusOK || !slices.Equal(s.Groups, []string{"room 1"}) {
		t.Fatalf("info of a member from another node = %d %+v", status, s)
	}

	// One publisher, many messages: each member gets them all, in order;
	// the excluded none (a marker sent after them comes first).
	const n = 20
	for i := range n {
		if r := a2.call(map[string]any{"op": "publish", "group": "room 1", "message": fmt.Sprint(i), "exclude": []string{b2.id}}); r != "null" {
			t.Fatalf("publish %d = %s", i, r)
		}
	}
	for _, c := range []*client{a1, b1} {
		for i := range n {
			if got := c.ReadText(); got != fmt.Sprint(i) {
				t.Fatalf("member %s got %q, want %d", c.id, got, i)
			}
		}
	}
	if status, body := a.send(b2.id, "marker"); status != http.StatusNoContent {
		t.Fatalf("send = %d %s", status, body)
	}
	if got := b2.ReadText(); got != "marker" {
		t.Fatalf("the excluded member got %q before the marker", got)
	}

	// REST publish and broadcast.
	if status, body := bn.rest("POST", "/api/v1/websocket/groups/room%201/send", `{"message": "via REST"}`); status != http.StatusAccepted {
		t.Fatalf("REST publish = %d %s", status, body)
	}
	for _, c := range []*client{a1, b1, b2} {
		if got := c.ReadText(); got != "via REST" {
			t.Fatalf("member %s got %q", c.id, got)
		}
	}
	if status, body := a.rest("POST", "/api/v1/websocket/send", `{"message": "everyone", "exclude": ["`+a1.id+`"]}`); status != http.StatusAccepted {
		t.Fatalf("REST broadcast = %d %s", status, body)
	}
	for _, c := range []*client{a2, b1, b2} {
		if got := c.ReadText(); got != "everyone" {
			t.Fatalf("socket %s got %q from the broadcast", c.id, got)
		}
	}

	// Leave over the bus, and a close: both gone from every node's list.
	if r := a2.call(map[string]any{"op": "leave", "to": b1.id, "group": "room 1"}); r != "null" {
		t.Fatalf("Websocket.leave = %s", r)
	}
	_ = b2.WS.Close(websocket.StatusNormalClosure, "")
	eventually(t, "b2's close to be registered", func() bool { status, _ := bn.info(b2.id); return status == http.StatusNotFound })
	flushAll(t, nodes...)
	for _, n := range nodes {
		if status, body := n.rest("GET", "/api/v1/websocket/groups/room%201/sockets", ""); body != jsonOf([]string{a1.id})+"\n" {
			t.Fatalf("the group on %s after a leave and a close = %d %s, want only %s", n.id, status, body, a1.id)
		}
	}
}

// testUsersAcross: a user with a socket on each node is listed, sent to and
// closed from either node, by scripts and REST.
func testUsersAcross(t *testing.T, b backend) {
	nodes := b.startNodes(t, 2)
	a, bn := nodes[0], nodes[1]
	a1, a2, b1 := a.dial(), a.dial(), bn.dial()
	for _, c := range []*client{a1, b1} {
		if r := c.call(map[string]any{"op": "setUser", "user": "ana@example.com"}); r != "null" {
			t.Fatalf("setUser = %s", r)
		}
	}
	flushAll(t, nodes...)
	want := ids(a1, b1)
	if r := a2.call(map[string]any{"op": "list", "args": map[string]any{"user_id": "ana@example.com"}}); r != jsonOf(want) {
		t.Fatalf("Websocket.list({user_id}) = %s, want %s", r, jsonOf(want))
	}
	if status, body := bn.rest("GET", "/api/v1/websocket/users/ana%40example.com/sockets", ""); body != jsonOf(want)+"\n" {
		t.Fatalf("REST list of the user = %d %s", status, body)
	}
	if status, s := bn.info(a1.id); status != http.StatusOK || s.UserID == nil || *s.UserID != "ana@example.com" {
		t.Fatalf("info of the user's socket from another node = %d %+v", status, s)
	}
	if r := a2.call(map[string]any{"op": "sendToUser", "user": "ana@example.com", "message": "hi ana"}); r != "2" {
		t.Fatalf("sendToUser = %s, want 2", r)
	}
	for _, c := range []*client{a1, b1} {
		if got := c.ReadText(); got != "hi ana" {
			t.Fatalf("%s got %q", c.id, got)
		}
	}
	if r := a2.call(map[string]any{"op": "sendToUser", "user": "nobody", "message": "x"}); r != "0" {
		t.Fatalf("sendToUser of a user with no socket = %s, want 0", r)
	}
	if status, body := bn.rest("POST", "/api/v1/websocket/users/ana%40example.com/send", `{"message": "via REST"}`); status != http.StatusOK || body != "2\n" {
		t.Fatalf("REST send to the user = %d %s", status, body)
	}
	for _, c := range []*client{a1, b1} {
		if got := c.ReadText(); got != "via REST" {
			t.Fatalf("%s got %q", c.id, got)
		}
	}
	if status, body := a.rest("DELETE", "/api/v1/websocket/users/ana%40example.com/sockets?code=4000&reason=bye", ""); status != http.StatusOK || body != "2\n" {
		t.Fatalf("REST close of the user = %d %s", status, body)
	}
	for _, c := range []*client{a1, b1} {
		if code := closeCodeOf(c); code != 4000 {
			t.Fatalf("%s closed with %d, want 4000", c.id, code)
		}
	}
}

// testStateAcross: a socket's state lasts across its events and a deploy,
// and info shows it on every node, exactly as the last event left it: the
// node holding the socket answers, whatever Redis's copy says yet.
func testStateAcross(t *testing.T, b backend) {
	nodes := b.startNodes(t, 2)
	a, bn := nodes[0], nodes[1]
	c := a.dial()
	flushAll(t, a) // node-1 finds the socket through Redis
	for want := 1; want <= 5; want++ {
		if r := c.call(map[string]any{"op": "count"}); r != fmt.Sprint(want) {
			t.Fatalf("count = %s, want %d", r, want)
		}
		for _, n := range nodes {
			if status, s := n.info(c.id); status != http.StatusOK || string(s.State) != fmt.Sprintf(`{"n":%d}`, want) {
				t.Fatalf("info from %s after count %d = %d, state %s", n.id, want, status, s.State)
			}
		}
	}
	dep := wsgw.Deployment{Path: "/relay", Script: relayScript + "\n// v2", Name: "relay.js", Source: "api"}
	deployed, _, err := bn.deploys.Deploy(context.Background(), dep)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deploy to reach node-0", func() bool {
		got, err := a.deploys.Deployment(context.Background(), "/relay")
		return err == nil && got.Version == deployed.Version
	})
	if r := c.call(map[string]any{"op": "count"}); r != "6" {
		t.Fatalf("count after a deploy = %s, want 6", r)
	}
	if _, s := a.info(c.id); s.ScriptVersion != deployed.Version {
		t.Fatalf("the count ran version %d, want the deployed %d", s.ScriptVersion, deployed.Version)
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// closeCodeOf reads until c is closed and returns the close code.
func closeCodeOf(c *client) websocket.StatusCode {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	for {
		if _, _, err := c.WS.Read(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}
