package runtime_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/runtime"
)

// countingService counts Websocket.send calls that reach it.
type countingService struct {
	wsgw.SocketService
	sends int
}

func (s *countingService) Send(context.Context, string, *wsgw.Message) error {
	s.sends++
	return nil
}

// TestSendCapsPerEvent loops send past each cap: the send past it throws a
// RangeError that names the limit, nothing past it goes out, the event ends
// as a script error even when the script catches the throw, and the next
// event starts with a fresh budget.
func TestSendCapsPerEvent(t *testing.T) {
	svc := &countingService{}
	e := newEngine(t, runtime.Options{Limits: runtime.Limits{MaxSendsPerEvent: 5, MaxSendBytesPerEvent: 100}, Service: svc})
	tests := []struct {
		name      string
		src       string
		frames    int // reaching the connection
		svcSends  int // reaching the service
		errSubstr string
	}{
		{"frames, uncaught", `for (;;) websocketInfo.send("x")`, 5, 0, "already sent 5 frames (limits.max_sends_per_event)"},
		{"bytes, uncaught", `for (;;) websocketInfo.send("0123456789012345678901234567890123456789")`, 2, 0, "past 100 bytes (limits.max_send_bytes_per_event)"},
		{"one frame over the byte cap", `websocketInfo.send(new Array(102).join("y"))`, 0, 0, "limits.max_send_bytes_per_event"},
		{"caught, still an error", `
var name = "";
for (var i = 0; i < 10; i++) { try { websocketInfo.send("x") } catch (e) { name = e.name } }
if (name !== "RangeError") throw new Error("caught a " + name)`, 5, 0, "limits.max_sends_per_event"},
		{"return value counts", `for (var i = 0; i < 5; i++) websocketInfo.send("x"); return "one too many"`, 5, 0, "limits.max_sends_per_event"},
		{"Websocket.send counts", `
for (var i = 0; i < 3; i++) websocketInfo.send("x");
for (;;) Websocket.send({socket_id: "other", message: "m"})`, 3, 2, "Websocket.send: send limit"},
		{"under the caps", `for (var i = 0; i < 5; i++) websocketInfo.send("x")`, 5, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc.sends = 0
			c := newConn()
			err := run(t, e, mustCompile(t, tc.src), c, runtime.Event{Type: runtime.Data})
			if got := len(c.texts()); got != tc.frames || svc.sends != tc.svcSends {
				t.Fatalf("%d frames sent and %d service sends, want %d and %d", got, svc.sends, tc.frames, tc.svcSends)
			}
			if tc.errSubstr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var se *runtime.ScriptError
			if !errors.As(err, &se) || !strings.Contains(se.Message, tc.errSubstr) {
				t.Fatalf("error = %v, want a script error naming %q", err, tc.errSubstr)
			}
		})
	}
}
