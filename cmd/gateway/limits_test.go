package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestLimitsFromTheFile: each limit set in the YAML file reaches the part
// that enforces it. Every value differs from the default, and each check
// passes only at the configured value, so a limit that is not wired (or not
// enforced) fails here.
func TestLimitsFromTheFile(t *testing.T) {
	// sendScript sends 4-byte frames until send throws, and logs how many went.
	const sendScript = `
if (websocketInfo.type === "data") {
  var n = 0;
  try { for (var i = 0; i < 20; i++) { websocketInfo.send("abcd"); n++; } } catch (e) {}
  console.log("sent " + n);
}`
	sends := func(want string) func(*testing.T, *server, *logRecords) {
		return func(t *testing.T, srv *server, logs *logRecords) {
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			ws, _, err := websocket.Dial(ctx, "ws://"+srv.publicAddr+"/echo", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer ws.CloseNow()
			if err := ws.Write(ctx, websocket.MessageText, []byte("go")); err != nil {
				t.Fatal(err)
			}
			rec := logs.match(t, "the script's count", func(r map[string]any) bool { return r["source"] == "script" })
			if rec["msg"] != want {
				t.Fatalf("the script logged %q, want %q", rec["msg"], want)
			}
		}
	}
	tests := []struct {
		name   string
		limits string
		script string
		check  func(*testing.T, *server, *logRecords)
	}{
		{"max_sends_per_event", "{max_sends_per_event: 3}", sendScript, sends("sent 3")},
		{"max_send_bytes_per_event", "{max_send_bytes_per_event: 10}", sendScript, sends("sent 2")},
		{"upgrades_per_ip_per_second and upgrades_per_ip_burst", "{upgrades_per_ip_per_second: 0.01, upgrades_per_ip_burst: 2}", echoJS,
			func(t *testing.T, srv *server, _ *logRecords) {
				ctx, cancel := context.WithTimeout(context.Background(), waitFor)
				defer cancel()
				for i := range 3 {
					ws, resp, err := websocket.Dial(ctx, "ws://"+srv.publicAddr+"/echo", nil)
					switch {
					case i < 2 && err != nil:
						t.Fatalf("upgrade %d of a burst of 2: %v", i+1, err)
					case i < 2:
						ws.CloseNow()
					case err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests:
						t.Fatalf("upgrade 3 after a burst of 2 at 0.01/s: %v, want HTTP 429", err)
					}
				}
			}},
		// The default is 10s: a connection that sends nothing must be
		// dropped long before that at 300ms (the bound leaves 10x slack).
		{"handshake_timeout", "{handshake_timeout: 300ms}", echoJS, func(t *testing.T, srv *server, _ *logRecords) {
			c, err := net.Dial("tcp", srv.publicAddr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
			_, err = io.ReadAll(c)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("a silent connection was kept for 3s with handshake_timeout: 300ms")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, logs := startGateway(t, map[string]string{
				"gateway.yaml": baseConfig + "limits: " + tc.limits + "\n",
				"echo.js":      tc.script,
			})
			tc.check(t, srv, logs)
		})
	}
}
