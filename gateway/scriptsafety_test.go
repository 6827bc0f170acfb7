package gateway_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/internal/gwtest"
)

// hogScript runs the allocation attack its message names.
const hogScript = `
if (websocketInfo.type === "open") return websocketInfo.socket_id;
if (websocketInfo.type === "close") { console.log("closed", websocketInfo.close_code); return; }
var m = websocketInfo.message;
if (m === "double") { var t = "x"; while (true) t = t + t; }
if (m === "repeat") return "x".repeat(2**30);
if (m === "push") { var a = []; while (true) a.push("x" + a.length); }
if (m === "stringify") { var s = "x".repeat(1 << 20), b = []; for (var i = 0; i < 200; i++) b.push(s); return JSON.stringify(b); }
return m;`

// TestMemoryAttacksFromSeveralConnections runs each allocation attack from
// its own connection, all at once: every attacking event fails with a
// logged memory error, each attacker is closed with 1011 after three, and a
// well-behaved connection echoes throughout.
func TestMemoryAttacksFromSeveralConnections(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts:      map[string]string{"/hog": hogScript, "/echo": echoScript},
		Timeout:      20 * time.Second, // only the memory limit may stop them
		ScriptMemory: 8 << 20,          // small, so that the race detector's slower loops reach it soon
		Limits:       gateway.Limits{MessagesPerSecond: 0},
	})
	good := h.Dial("/echo", nil)
	good.ReadText() // Welcome

	attacks := []string{"double", "repeat", "push", "stringify"}
	ids := make([]string, len(attacks))
	var wg sync.WaitGroup
	for i, attack := range attacks {
		c := h.Dial("/hog", nil)
		ids[i] = c.ReadText()
		wg.Go(func() {
			for range 3 {
				c.Send(attack)
			}
			// three attacking events, each run until the limit stops it: seconds apiece under -race on a busy box
			if code, reason := c.ExpectCloseWithin(4 * gwtest.WaitFor); code != 1011 || !strings.Contains(reason, "interrupted 3 times") {
				t.Errorf("%s attacker closed with %d %q, want 1011 script interrupted 3 times", attack, code, reason)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for i := 0; ; i++ { // echo until every attacker has been closed
		msg := fmt.Sprint("ping ", i)
		good.Send(msg)
		if got := good.ReadText(); got != msg {
			t.Fatalf("echo = %q, want %q", got, msg)
		}
		select {
		case <-done:
		default:
			continue
		}
		break
	}
	for i, id := range ids {
		h.Logs.WaitCount(t, attacks[i]+" memory errors", 3, func(r map[string]any) bool {
			return r["msg"] == "script error" && r["socket_id"] == id && strings.Contains(fmt.Sprint(r["err"]), "script_memory")
		})
		h.Logs.Wait(t, attacks[i]+" close event", gwtest.ScriptLine(id, "close", "closed 1011"))
	}
	good.Send("still here")
	if got := good.ReadText(); got != "still here" {
		t.Fatalf("echo after the attacks = %q", got)
	}
}

// TestRepeatedTimeoutsCloseTheConnection: three timeouts in a row close the
// connection with 1011 (its close event runs once); timeouts that alternate
// with events that finish do not.
func TestRepeatedTimeoutsCloseTheConnection(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/x": `if (websocketInfo.message === "spin") while (true) {}` + idScript},
		Timeout: 50 * time.Millisecond,
	})
	alternating := h.Dial("/x", nil)
	alternating.ReadText()
	for i := range 4 {
		alternating.Send("spin")
		alternating.Send(fmt.Sprint("ok ", i))
		if got := alternating.ReadText(); got != fmt.Sprint("ok ", i) {
			t.Fatalf("alternating connection answered %q", got)
		}
	}
	c := h.Dial("/x", nil)
	id := c.ReadText()
	for range 3 {
		c.Send("spin")
	}
	if code, reason := c.ExpectClose(); code != 1011 || reason != "script interrupted 3 times in a row" {
		t.Fatalf("closed with %d %q, want 1011", code, reason)
	}
	h.Logs.Wait(t, "close event", gwtest.ScriptLine(id, "close", "closed 1011 script interrupted 3 times in a row"))
	if n := h.Logs.Count(gwtest.ScriptLine(id, "close", "")); n != 1 {
		t.Fatalf("%d close events, want 1", n)
	}
}

// TestGoneConnectionBacklogDoesNotRun: a client queues slow events and
// drops its TCP connection; the events still queued when it went away are
// not run, and its close event runs once.
func TestGoneConnectionBacklogDoesNotRun(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/slow": `
if (websocketInfo.type === "data") { console.log("ran"); var t = Date.now(); while (Date.now() - t < 200) {} }` + idScript},
		Timeout: 5 * time.Second,
		Limits:  gateway.Limits{MessagesPerSecond: 0},
	})
	c := h.Dial("/slow", nil)
	id := c.ReadText()
	for i := range 10 {
		c.Send(fmt.Sprint("m", i))
	}
	h.Logs.Wait(t, "first event", gwtest.ScriptLine(id, "data", "ran"))
	_ = c.TCP.Close() // gone, with nine events still queued behind the first
	h.ClosedLine(id)
	if n := h.Logs.Count(gwtest.ScriptLine(id, "data", "ran")); n > 2 {
		t.Fatalf("%d data events ran after the client went away, want at most the one running and one more", n)
	}
	if n := h.Logs.Count(gwtest.ScriptLine(id, "close", "")); n != 1 {
		t.Fatalf("%d close events, want 1", n)
	}
}

// TestOneEndpointCannotTakeThePool: spinners on one endpoint hold at most
// its share of the pool (half by default), so another endpoint still runs.
func TestOneEndpointCannotTakeThePool(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{
			"/spin": `if (websocketInfo.type === "data") { console.log("spinning"); while (true) {} }`,
			"/echo": echoScript,
		},
		PoolSize: 4,
		Timeout:  time.Minute, // only shutdown will stop the spinners
	})
	for range 4 { // as many spinners as runtimes
		h.Dial("/spin", nil).Send("go")
	}
	gwtest.Eventually(t, "two spinners running", func() bool {
		return h.Logs.Count(func(r map[string]any) bool { return r["msg"] == "spinning" }) >= 2
	})
	fast := h.Dial("/echo", nil)
	if got := fast.ReadText(); got != "Welcome" {
		t.Fatalf("greeting = %q", got)
	}
	fast.Send("ping")
	if got := fast.ReadText(); got != "ping" {
		t.Fatalf("echo = %q", got)
	}
	if n := h.Logs.Count(func(r map[string]any) bool { return r["msg"] == "spinning" }); n != 2 {
		t.Fatalf("%d spinners running, want the endpoint's share of 2", n)
	}
}
