package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/internal/gwtest"
)

// stateScript keeps a counter and a nickname in websocketInfo.state; "big"
// tries to save a state over the limit, "info" answers Websocket.info of
// the socket itself, and the close event logs the state it sees.
const stateScript = `
var s = websocketInfo.state;
if (websocketInfo.type === "open") { websocketInfo.state = {nick: websocketInfo.parameters.nick || "anon", n: 0}; return websocketInfo.socket_id; }
if (websocketInfo.type === "close") { console.log(JSON.stringify(websocketInfo.state)); websocketInfo.state.n = 99; return; }
var m = websocketInfo.message;
if (m === "big") { s.blob = new Array(2000).join("x"); return "saved?"; }
if (m === "info") return JSON.stringify(Websocket.info({socket_id: websocketInfo.socket_id}));
if (m === "throw") { s.n = 1000; throw new Error("boom"); }
if (m === "cycle") { var o = {}; o.self = o; websocketInfo.state = o; return "cycle"; }
s.n++;
return s.nick + " " + s.n;`

func TestStateLastsAcrossEvents(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/s": stateScript},
		Limits:  gateway.Limits{MessagesPerSecond: 1000, Burst: 1000},
	})
	c := h.Dial("/s?nick=ana", nil)
	id := c.ReadText()
	for i := 1; i <= 3; i++ {
		c.Send("x")
		if got, want := c.ReadText(), fmt.Sprintf("ana %d", i); got != want {
			t.Fatalf("event %d: %q, want %q", i, got, want)
		}
	}
	// A deploy changes the script, not the state.
	if _, _, err := h.Deploys.Deploy(context.Background(), wsgw.Deployment{Path: "/s", Script: stateScript + "\n// v2", Source: "api"}); err != nil {
		t.Fatal(err)
	}
	c.Send("x")
	if got := c.ReadText(); got != "ana 4" {
		t.Fatalf("after a deploy: %q, want ana 4", got)
	}
	// A throw and a state with no JSON form keep the state as it was.
	c.Send("throw")
	c.Send("cycle")
	c.Send("x")
	if got := c.ReadText(); got != "ana 5" {
		t.Fatalf("after a throw and a function: %q, want ana 5", got)
	}
	// Over max_state_bytes (default 16384 bytes; this is 2000): refused as a
	// throw: logged with the socket ID, counted; the connection stays, the
	// state too.
	h2 := gwtest.New(t, gwtest.Options{
		Scripts:       map[string]string{"/s": stateScript},
		Limits:        gateway.Limits{MessagesPerSecond: 1000, Burst: 1000},
		MaxStateBytes: 1000,
	})
	d := h2.Dial("/s", nil)
	did := d.ReadText()
	d.Send("big")
	line := h2.Logs.Wait(t, "the refused state", func(r map[string]any) bool {
		return r["msg"] == "script error" && r["socket_id"] == did
	})
	if err := fmt.Sprint(line["err"]); !strings.Contains(err, "max_state_bytes") {
		t.Fatalf("logged %q, want it to name limits.max_state_bytes", err)
	}
	d.Send("x")
	if got := d.ReadText(); got != "anon 1" {
		t.Fatalf("after the refused state: %q, want anon 1", got)
	}
	if n := testutil.ToFloat64(h2.Metrics.StateRefused); n != 1 {
		t.Fatalf("wsgw_state_refused_total = %v, want 1", n)
	}

	// info shows the state, the same from a script and from the service.
	c.Send("info")
	var fromScript map[string]any
	if err := json.Unmarshal([]byte(c.ReadText()), &fromScript); err != nil {
		t.Fatal(err)
	}
	s, err := h.Service.Info(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(s)
	var fromService map[string]any
	_ = json.Unmarshal(data, &fromService)
	if fmt.Sprint(fromScript["state"]) != fmt.Sprint(fromService["state"]) || string(s.State) != `{"nick":"ana","n":5}` {
		t.Fatalf("state in info: script %v, service %s", fromScript["state"], s.State)
	}
	for k := range fromService {
		if _, ok := fromScript[k]; !ok {
			t.Errorf("Websocket.info lacks %q", k)
		}
	}
	if fromScript["user_id"] != nil || fmt.Sprint(fromScript["groups"]) != "[]" {
		t.Fatalf("user_id %v, groups %v; want null and []", fromScript["user_id"], fromScript["groups"])
	}
	// The close event sees the last saved state; what it changes is gone.
	_ = c.WS.CloseNow()
	h.Logs.Wait(t, "the close event's state", gwtest.ScriptLine(id, "close", `{"nick":"ana","n":5}`))
}

func TestOversizeStateOnOpenCloses1011(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts:       map[string]string{"/s": `if (websocketInfo.type === "open") websocketInfo.state.big = new Array(100).join("x")`},
		MaxStateBytes: 50,
	})
	c := h.Dial("/s", nil)
	if code, _ := c.ExpectClose(); code != 1011 {
		t.Fatalf("close = %d, want 1011", code)
	}
}

// userScript runs what each message asks of websocketInfo and answers
// with the result, or the name and message of what it threw.
const userScript = `
if (websocketInfo.type === "open") return websocketInfo.socket_id;
if (websocketInfo.type !== "data") return;
var c = JSON.parse(websocketInfo.message);
try {
  if (c.op === "setUser") websocketInfo.setUser(c.arg);
  if (c.op === "join") websocketInfo.join(c.arg);
  if (c.op === "leave") websocketInfo.leave(c.arg);
  if (c.op === "ws") return JSON.stringify(Websocket[c.fn](c.arg));
  return JSON.stringify({user_id: websocketInfo.user_id, groups: Websocket.info({socket_id: websocketInfo.socket_id}).groups});
} catch (e) { return e.name + ": " + e.message; }`

func TestSetUserJoinAndLeaveFromScripts(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/u": userScript},
		Limits:  gateway.Limits{MessagesPerSecond: 1000, Burst: 1000, MaxGroupsPerSocket: 2},
	})
	c := h.Dial("/u", nil)
	id := c.ReadText()
	other := h.Dial("/u", nil)
	otherID := other.ReadText()
	ask := func(cl *gwtest.Client, op string, arg any) string {
		t.Helper()
		b, _ := json.Marshal(map[string]any{"op": op, "arg": arg})
		cl.Send(string(b))
		return cl.ReadText()
	}
	long := strings.Repeat("é", 257)
	for _, tc := range []struct {
		op   string
		arg  any
		want string
	}{
		{"setUser", "ana", `{"user_id":"ana","groups":[]}`},
		{"setUser", 42, "TypeError: websocketInfo.setUser: the user ID must be a string or null"},
		{"setUser", "", "TypeError: websocketInfo.setUser: a user ID is a string of 1-256 characters"},
		{"setUser", long, "TypeError: websocketInfo.setUser: a user ID is a string of 1-256 characters"},
		{"join", "b", `{"user_id":"ana","groups":["b"]}`},
		{"join", "b", `{"user_id":"ana","groups":["b"]}`},
		{"join", "a", `{"user_id":"ana","groups":["a","b"]}`},
		{"join", "c", "RangeError: websocketInfo.join: socket " + id + " is in 2 groups already (limits.max_groups_per_socket)"},
		{"join", "bad\nname", "TypeError: websocketInfo.join: a group name has no control characters"},
		{"join", 7, "TypeError: websocketInfo.join: the group name must be a string"},
		{"leave", "nowhere", `{"user_id":"ana","groups":["a","b"]}`},
		{"leave", "a", `{"user_id":"ana","groups":["b"]}`},
	} {
		if got := ask(c, tc.op, tc.arg); got != tc.want {
			t.Fatalf("%s(%v) = %q, want %q", tc.op, tc.arg, got, tc.want)
		}
	}
	// Websocket.* answers bad input with the error object.
	wsCall := func(fn string, arg any) string {
		t.Helper()
		b, _ := json.Marshal(map[string]any{"op": "ws", "fn": fn, "arg": arg})
		other.Send(string(b))
		return other.ReadText()
	}
	for _, tc := range []struct {
		fn   string
		arg  any
		want string
	}{
		{"list", map[string]any{"user_id": "ana"}, `["` + id + `"]`},
		{"list", map[string]any{"group": "b"}, `["` + id + `"]`},
		{"list", map[string]any{"group": "nobody's"}, `[]`},
		{"join", map[string]any{"socket_id": id, "group": "c"}, `null`},
		{"join", map[string]any{"socket_id": id, "group": "d"}, `{"type":"invalid_request","error":"socket ` + id + ` is in 2 groups already (limits.max_groups_per_socket)","status":400}`},
		{"join", map[string]any{"socket_id": "nope", "group": "c"}, `{"type":"not_found","error":"no socket nope","status":404}`},
		{"join", map[string]any{"socket_id": id, "group": ""}, `{"type":"invalid_request","error":"a group name is a string of 1-256 characters","status":400}`},
		{"publish", map[string]any{"group": "b", "message": "to b", "exclude": []string{otherID}}, `null`},
		{"sendToUser", map[string]any{"user_id": "ana", "message": "to ana"}, `1`},
		{"sendToUser", map[string]any{"user_id": "", "message": "x"}, `{"type":"invalid_request","error":"a user ID is a string of 1-256 characters","status":400}`},
		{"broadcast", map[string]any{"message": "to all", "exclude": []string{otherID}}, `null`},
		{"closeUser", map[string]any{"user_id": "nobody"}, `0`},
	} {
		if got := wsCall(tc.fn, tc.arg); got != tc.want {
			t.Fatalf("Websocket.%s(%v) = %s, want %s", tc.fn, tc.arg, got, tc.want)
		}
	}
	for _, want := range []string{"to b", "to ana", "to all"} {
		if got := c.ReadText(); got != want {
			t.Fatalf("member got %q, want %q", got, want)
		}
	}
	if n := testutil.ToFloat64(h.Metrics.OpsRefused.WithLabelValues("join", "not_found")); n != 1 {
		t.Fatalf("refused joins of an unknown socket counted %v, want 1", n)
	}
	// A closed socket leaves its groups and its user.
	_ = c.WS.CloseNow()
	h.ClosedLine(id)
	if got := wsCall("list", map[string]any{"group": "b"}); got != `[]` {
		t.Fatalf("the group after its member closed = %s", got)
	}
	if got := wsCall("list", map[string]any{"user_id": "ana"}); got != `[]` {
		t.Fatalf("the user after her socket closed = %s", got)
	}
}

// TestSlowMemberDoesNotDelayOthers: a member that stops reading is closed
// with 1013 once its queue is full; the others get every publish.
func TestSlowMemberDoesNotDelayOthers(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/g": `
if (websocketInfo.type === "open") { websocketInfo.join("g"); return websocketInfo.socket_id; }` + idScript},
		Limits: gateway.Limits{MaxPendingSends: 8, CloseTimeout: 200 * time.Millisecond},
	})
	stuck := h.Dial("/g", nil)
	stuckID := stuck.ReadText()
	well := h.Dial("/g", nil)
	_ = well.ReadText()
	// In lockstep with the reading member, which therefore never has more
	// than one frame queued; the other stops reading at once, and its
	// socket buffers fill.
	big := strings.Repeat("x", 60_000)
	for i := 0; ; i++ {
		msg := fmt.Sprint(i, big)
		if err := h.Service.Publish(context.Background(), "g", &wsgw.Message{Data: []byte(msg)}, nil); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		if got := well.ReadText(); got != msg {
			t.Fatalf("publish %d reached the reading member as %.10q", i, got)
		}
		if _, err := h.Service.Info(context.Background(), stuckID); err != nil || i > 5000 {
			t.Logf("the stuck member was gone after %d publishes (%v)", i+1, err)
			break
		}
	}
	if line := h.ClosedLine(stuckID); line["code"] != int64(1013) {
		t.Fatalf("the member that stopped reading closed with %v, want 1013", line["code"])
	}
}

// TestJoinOfAClosingSocketIs404: once a socket's close has begun (its close
// frame is out), joining it is refused as for a socket that is gone,
// counted, and nothing is added to the group.
func TestJoinOfAClosingSocketIs404(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{"/x": idScript}})
	c := h.Dial("/x", nil)
	id := c.ReadText()
	ctx := context.Background()
	if err := h.Service.CloseSocket(ctx, id, 4000, "bye"); err != nil {
		t.Fatal(err)
	}
	if code, _ := c.ExpectClose(); code != 4000 {
		t.Fatalf("closed with %d", code)
	}
	err := h.Service.Join(ctx, id, "room")
	if wsgw.ErrorCode(err) != wsgw.ENotFound {
		t.Fatalf("join of a closing socket = %v, want not_found", err)
	}
	if n := testutil.ToFloat64(h.Metrics.OpsRefused.WithLabelValues("join", wsgw.ENotFound)); n != 1 {
		t.Fatalf("wsgw_ops_refused_total{op=join,type=not_found} = %v, want 1", n)
	}
	h.ClosedLine(id)
	if ids, _, err := h.Service.ListGroup(ctx, "room", "", 0); err != nil || len(ids) != 0 {
		t.Fatalf("the group after the refused join = %v, %v", ids, err)
	}
}
