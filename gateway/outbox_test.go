package gateway_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/internal/gwtest"
)

// Frames an event sends wait in the connection's outbox and are written by
// its read loop; frames from elsewhere go through gws's writer unless the
// outbox is filling. Each sender's frames must still arrive in the order
// it sent them: the event's own (a, b through the service, c), and the
// REST caller's, sent one after the other while the events run.
func TestFramesKeepOrderWhenOutboxAndQueueMix(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/order": `
if (websocketInfo.type === "open") return websocketInfo.socket_id;
if (websocketInfo.type === "data") {
  var n = websocketInfo.message;
  websocketInfo.send("a" + n);
  Websocket.send({socket_id: websocketInfo.socket_id, message: "b" + n});
  websocketInfo.send("c" + n);
}`},
		Limits: gateway.Limits{MessagesPerSecond: 10000, Burst: 10000},
	})
	c := h.Dial("/order", nil)
	id := c.ReadText()
	const events, pushes = 100, 200
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range pushes {
			if err := h.Service.Send(context.Background(), id, &wsgw.Message{Data: []byte(fmt.Sprint("r", i))}); err != nil {
				t.Errorf("push %d: %v", i, err)
				return
			}
		}
	}()
	for i := range events {
		c.Send(fmt.Sprint(i))
	}
	next := map[byte]int{} // the next number expected of each series
	step := byte('a')      // the next of a, b, c within one event
	for range 3*events + pushes {
		got := c.ReadText()
		series, n := got[0], 0
		if _, err := fmt.Sscan(got[1:], &n); err != nil {
			t.Fatalf("frame %q", got)
		}
		if series != 'r' {
			if series != step {
				t.Fatalf("frame %q, want %c%d first", got, step, next[step])
			}
			step = map[byte]byte{'a': 'b', 'b': 'c', 'c': 'a'}[series]
		}
		if n != next[series] {
			t.Fatalf("frame %q, want %c%d: frames overtook each other", got, series, next[series])
		}
		next[series]++
	}
	wg.Wait()
}

// A client that sends and does not read stalls its own read loop on a
// write once the socket buffers are full; frames sent to it from elsewhere
// meanwhile count against max_pending_sends, so it is still closed with
// 1013 and its close event runs, while another client is served.
func TestSlowReaderOfDirectWritesClosedWith1013(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/big": `
if (websocketInfo.message === "big") return new Array(65536).join("x");` + idScript},
		Limits: gateway.Limits{MaxPendingSends: 8, CloseTimeout: 200 * time.Millisecond, MessagesPerSecond: 10000, Burst: 10000},
	})
	stuck := h.Dial("/big", nil)
	id := stuck.ReadText()
	well := h.Dial("/big", nil)
	well.ReadText()
	for range 300 { // 19 MiB of replies, more than loopback buffers hold
		stuck.Send("big")
	}
	var err error
	for i := 0; err == nil && i < 10000; i++ {
		err = h.Service.Send(context.Background(), id, &wsgw.Message{Data: []byte("push")})
	}
	if err == nil {
		t.Fatal("10,000 pushes to a client that does not read were all accepted")
	}
	if line := h.ClosedLine(id); line["code"] != int64(1013) {
		t.Fatalf("slow reader closed with %v, want 1013", line["code"])
	}
	h.Logs.Wait(t, "close event of the slow reader", gwtest.ScriptLine(id, "close", "closed 1013 too many pending messages"))
	well.Send("still here")
	if got := well.ReadText(); got != "still here" {
		t.Fatalf("well-behaved client got %q", got)
	}
}

// A connection whose messages come back to back runs its events on its own
// read loop; a runaway script there is interrupted at script_timeout as on
// a worker, holds one runtime of the endpoint's share meanwhile, and the
// connection is served again after.
func TestRunawayScriptOfBusyConnectionInterrupted(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/x": `
if (websocketInfo.message === "spin") { console.log("spinning"); while (true) {} }` + idScript},
		Timeout:  time.Second,
		PoolSize: 4,
		Limits:   gateway.Limits{MessagesPerSecond: 10000, Burst: 10000},
	})
	spinner := h.Dial("/x", nil)
	id := spinner.ReadText()
	other := h.Dial("/x", nil)
	other.ReadText()
	for i := range 10 { // back to back: the connection is busy
		spinner.Send(fmt.Sprint(i))
		if got := spinner.ReadText(); got != fmt.Sprint(i) {
			t.Fatalf("echo %q, want %d", got, i)
		}
	}
	spinner.Send("spin")
	h.Logs.Wait(t, "spinning", func(r map[string]any) bool { return r["msg"] == "spinning" })
	other.Send("served meanwhile")
	if got := other.ReadText(); got != "served meanwhile" {
		t.Fatalf("other socket answered %q", got)
	}
	h.Logs.Wait(t, "timeout logged", func(r map[string]any) bool {
		return r["msg"] == "script error" && r["socket_id"] == id && strings.Contains(fmt.Sprint(r["err"]), "timeout")
	})
	spinner.Send("after")
	if got := spinner.ReadText(); got != "after" {
		t.Fatalf("socket after a timed-out event answered %q", got)
	}
}
