package gateway_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/coder/websocket"

	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/internal/gwtest"
)

// TestUpgradeRateLimitPerIP: past the burst, upgrades from one address get
// HTTP 429 with Retry-After before any upgrade, while the connections
// already open keep working.
func TestUpgradeRateLimitPerIP(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/x": idScript},
		Limits:  gateway.Limits{UpgradesPerIPPerSecond: 0.01, UpgradesPerIPBurst: 3},
	})
	check := bystander(t, h, "/x") // the first of the burst
	h.Dial("/x", nil).ReadText()
	h.Dial("/x", nil).ReadText()
	_, resp, err := h.TryDial("/x", nil)
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
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/x": idScript},
		Limits:  gateway.Limits{MaxConnectionsPerIP: 2},
	})
	check := bystander(t, h, "/x")
	other := h.Dial("/x", nil)
	other.ReadText()
	if _, resp, err := h.TryDial("/x", nil); err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third connection from one address: %v, want HTTP 503", err)
	}
	check()
	_ = other.WS.Close(websocket.StatusNormalClosure, "")
	gwtest.Eventually(t, "the address's slot freed", func() bool {
		c, _, err := h.TryDial("/x", nil)
		if err == nil {
			c.ReadText()
			_ = c.WS.Close(websocket.StatusNormalClosure, "")
		}
		return err == nil
	})
	check()
}
