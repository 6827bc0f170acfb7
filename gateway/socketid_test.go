package gateway_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/wsgw/wsgw/internal/gwtest"
)

// TestSocketIDsAreOpaque: a script that passes no socket_id, or one that is
// not a string, gets 400; a string that names no socket gets 404 whatever
// its form, since socket IDs are opaque (docs/scripting.md).
func TestSocketIDsAreOpaque(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{"/svc": svcScript}})
	caller := h.Dial("/svc", nil)
	caller.ReadText()
	for _, tc := range []struct {
		id     any
		status int
	}{
		{nil, 400},
		{42, 400},
		{"", 400},
		{map[string]any{}, 400},
		{"not a socket id!", 404},
		{"AAAAAAAAAAAAAAAAAAAAAA", 404}, // well-formed, but no socket has it
		{"x", 404},
	} {
		for _, op := range []string{"send", "info", "close"} {
			arg := map[string]any{"socket_id": tc.id, "message": "m"}
			var got struct {
				Type   string `json:"type"`
				Status int    `json:"status"`
			}
			raw := call(t, caller, op, arg)
			if err := json.Unmarshal(raw, &got); err != nil || got.Status != tc.status {
				t.Errorf("Websocket.%s({socket_id: %s}) returned %s, want status %d", op, fmt.Sprint(tc.id), raw, tc.status)
			}
		}
	}
}
