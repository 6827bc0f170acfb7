package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wsgw/wsgw/gateway"
)

// TestUpgradeRateLimitPerIP: past the burst, upgrades from one address get
// HTTP 429 with Retry-After before any upgrade, while the connections
// already open keep working.
func TestUpgradeRateLimitPerIP(t *testing.T) {
	h := newHarness(t, harnessOptions{
		scripts: map[string]string{"/x": idScript},
		limits:  gateway.Limits{UpgradesPerIPPerSecond: 0.01, UpgradesPerIPBurst: 3},
	})
	check := h.bystander("/x") // the first of the burst
	h.dial("/x", nil).readText()
	h.dial("/x", nil).readText()
	_, resp, err := h.tryDial("/x", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("fourth upgrade: %v, want HTTP 429", err)
	}
	var body struct {
		Type   string `json:"type"`
		Status int    `json:"status"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if body.Type != "too_many_requests" || body.Status != 429 || resp.Header.Get("Retry-After") != "100" {
		t.Fatalf("429 answer: body %+v, Retry-After %q; want the error shape and 100 seconds", body, resp.Header.Get("Retry-After"))
	}
	check()
}

func TestMaxConnectionsPerIP(t *testing.T) {
	h := newHarness(t, harnessOptions{
		scripts: map[string]string{"/x": idScript},
		limits:  gateway.Limits{MaxConnectionsPerIP: 2},
	})
	check := h.bystander("/x")
	other := h.dial("/x", nil)
	other.readText()
	if _, resp, err := h.tryDial("/x", nil); err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third connection from one address: %v, want HTTP 503", err)
	}
	check()
	_ = other.ws.Close(websocket.StatusNormalClosure, "")
	eventually(t, "the address's slot freed", func() bool {
		c, _, err := h.tryDial("/x", nil)
		if err == nil {
			c.readText()
			_ = c.ws.Close(websocket.StatusNormalClosure, "")
		}
		return err == nil
	})
	check()
}

// TestIdleTimeout: the server pings a quiet connection; one that never
// answers is closed with 1001 "idle timeout", one whose client answers the
// pings stays open.
func TestIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	h := newHarness(t, harnessOptions{
		scripts: map[string]string{"/x": idScript},
		limits:  gateway.Limits{IdleTimeout: idle, CloseTimeout: 200 * time.Millisecond},
	})
	// The live client reads all the time, so its library answers pings.
	live := h.dial("/x", nil)
	live.readText()
	frames := make(chan string, 1)
	go func() {
		for {
			_, data, err := live.ws.Read(context.Background())
			if err != nil {
				close(frames)
				return
			}
			frames <- string(data)
		}
	}()

	opened := time.Now() // before the server starts its idle clock
	deaf := h.rawDial("/x")
	id := readRawText(t, deaf)
	_ = deaf.c.SetReadDeadline(time.Now().Add(waitFor))
	op, _, err := deaf.readFrame()
	if err != nil || op != opPing {
		t.Fatalf("first frame of a quiet connection: op %d, err %v; want a ping", op, err)
	}
	if code, reason := deaf.expectClose(); code != 1001 || reason != "idle timeout" {
		t.Fatalf("closed with %d %q, want 1001 idle timeout", code, reason)
	}
	h.logs.wait(t, "close event", scriptLine(id, "close", "closed 1001 idle timeout"))
	if quiet := time.Since(opened); quiet < idle {
		t.Fatalf("closed after %v of quiet, before idle_timeout %v", quiet, idle)
	}
	// The live client has been quiet as long, but answered the pings.
	live.send("still here")
	if got, ok := <-frames; !ok || got != "still here" {
		t.Fatalf("the client that answered pings got %q (open %v)", got, ok)
	}
}
