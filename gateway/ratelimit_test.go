package gateway_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/internal/gwtest"
)

// TestRateLimitDelayLosesNothing: with on_exceed: delay, 50 messages sent at
// once at 5/s reach the script, all of them, in order; none is dropped, and
// another connection keeps its echo meanwhile.
func TestRateLimitDelayLosesNothing(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/echo": idScript},
		Limits:  gateway.Limits{MessagesPerSecond: 5, Burst: 5, OnExceed: gateway.ExceedDelay},
	})
	check := bystander(t, h, "/echo")
	c := h.Dial("/echo", nil)
	id := c.ReadText()
	const n = 50
	sent := make(chan error, 1)
	go func() { // the writes may block: that is the back-pressure
		for i := range n {
			if err := c.WS.Write(context.Background(), websocket.MessageText, []byte(fmt.Sprint("m", i))); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	for i := range n {
		if got, want := c.ReadText(), fmt.Sprint("m", i); got != want {
			t.Fatalf("echo %d = %q, want %q: every message, in order", i, got, want)
		}
		if i == 10 {
			check() // while this connection is held back
		}
	}
	if err := <-sent; err != nil {
		t.Fatalf("write: %v", err)
	}
	s, err := h.Service.Info(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if s.MessagesIn != n || s.MessagesDropped != 0 {
		t.Fatalf("info: messages_in %d, messages_dropped %d; want %d and 0", s.MessagesIn, s.MessagesDropped, n)
	}
}

// TestRateLimitDelayPastMaxDelay: a connection held back for longer than
// max_delay is closed with 1008; what was let through before came in order.
func TestRateLimitDelayPastMaxDelay(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/echo": idScript},
		Limits:  gateway.Limits{MessagesPerSecond: 20, Burst: 1, OnExceed: gateway.ExceedDelay, MaxDelay: 200 * time.Millisecond},
	})
	c := h.Dial("/echo", nil)
	id := c.ReadText()
	go func() {
		for i := range 40 {
			if c.WS.Write(context.Background(), websocket.MessageText, []byte(fmt.Sprint("m", i))) != nil {
				return // closed under us: expected
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), gwtest.WaitFor)
	defer cancel()
	echoed := 0
	for {
		_, p, err := c.WS.Read(ctx)
		if err != nil {
			if code := websocket.CloseStatus(err); code != 1008 {
				t.Fatalf("after %d echoes: %v, want close 1008", echoed, err)
			}
			break
		}
		if want := fmt.Sprint("m", echoed); string(p) != want {
			t.Fatalf("echo %q, want %q", p, want)
		}
		echoed++
	}
	if echoed == 0 || echoed >= 40 {
		t.Fatalf("%d echoes before the close: want the burst and what max_delay let through, not all", echoed)
	}
	h.Logs.Wait(t, "close event", gwtest.ScriptLine(id, "close", "closed 1008 rate limit exceeded"))
	h.Logs.Wait(t, "why", func(r map[string]any) bool {
		return r["socket_id"] == id && strings.Contains(fmt.Sprint(r["msg"]), "held back too long")
	})
}

// TestRateLimitDelayEndsOnClose: a connection held back for a token that
// is a minute away is closed at once by a server close: the delay does not
// hold up its close event.
func TestRateLimitDelayEndsOnClose(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/echo": `if (websocketInfo.type === "data") console.log(websocketInfo.message);` + idScript},
		Limits:  gateway.Limits{MessagesPerSecond: 1.0 / 60, Burst: 1, OnExceed: gateway.ExceedDelay, MaxDelay: 10 * time.Minute},
	})
	c := h.Dial("/echo", nil)
	id := c.ReadText()
	c.Send("first")
	if got := c.ReadText(); got != "first" {
		t.Fatalf("echo %q", got)
	}
	c.Send("held")
	gwtest.Eventually(t, "the second message read", func() bool {
		s, err := h.Service.Info(context.Background(), id)
		return err == nil && s.MessagesIn == 2
	})
	if err := h.Service.CloseSocket(context.Background(), id, 4000, "bye"); err != nil {
		t.Fatal(err)
	}
	if code, _ := c.ExpectClose(); code != 4000 {
		t.Fatalf("closed with %d, want 4000", code)
	}
	line := h.ClosedLine(id) // within gwtest.WaitFor, far less than the minute
	if line["messages_dropped"] != int64(1) {
		t.Fatalf("messages_dropped %v, want the held message counted", line["messages_dropped"])
	}
	if h.Logs.Count(gwtest.ScriptLine(id, "data", "first")) != 1 || h.Logs.Count(gwtest.ScriptLine(id, "data", "held")) != 0 {
		t.Fatal("the held message reached the script after the close")
	}
}
