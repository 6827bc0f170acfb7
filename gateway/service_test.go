package gateway_test

import (
	"encoding/json"
	"testing"

	"github.com/coder/websocket"

	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/internal/gwtest"
)

// svcScript runs Websocket[op](arg) for a data message {"op", "arg"} and
// answers {"result": ...} so that the test sees exactly what the script got.
const svcScript = `
if (websocketInfo.type === "open") return websocketInfo.socket_id;
if (websocketInfo.type === "close") console.log("closed", websocketInfo.close_code, websocketInfo.close_reason);
if (websocketInfo.type === "data") {
  var req = JSON.parse(websocketInfo.message);
  if (req.op === "closeAllThenSend") {
    var n = Websocket.closeAll();
    websocketInfo.send("after closeAll");
    return {result: n};
  }
  if (req.arg && req.arg.repeat) req.arg.message = new Array(req.arg.repeat + 1).join("x");
  return {result: Websocket[req.op](req.arg)};
}`

func call(t *testing.T, c *gwtest.Client, op string, arg any) json.RawMessage {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"op": op, "arg": arg})
	c.Send(string(b))
	var reply struct {
		Result json.RawMessage `json:"result"`
	}
	c.ReadJSON(&reply)
	return reply.Result
}

func TestScriptsCallTheWebsocketService(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/svc": svcScript},
		Limits:  gateway.Limits{MaxMessageBytes: 100},
	})
	caller := h.Dial("/svc", nil)
	callerID := caller.ReadText()
	target := h.Dial("/svc", nil)
	targetID := target.ReadText()

	tests := []struct {
		name string
		op   string
		arg  any
		want string // the JSON the script got back
		recv string // what the target then receives, if anything
	}{
		{"send text", "send", map[string]any{"socket_id": targetID, "message": "hi"}, `null`, "hi"},
		{"send JSON", "send", map[string]any{"socket_id": targetID, "message": map[string]int{"n": 1}}, `null`, `{"n":1}`},
		{"send to unknown", "send", map[string]any{"socket_id": "nope", "message": "x"}, `{"type":"not_found","error":"no socket nope","status":404}`, ""},
		{"send without socket_id", "send", map[string]any{"message": "x"}, `{"type":"invalid_request","error":"Websocket.send: socket_id must be a non-empty string","status":400}`, ""},
		{"send without message", "send", map[string]any{"socket_id": targetID}, `{"type":"invalid_request","error":"Websocket.send: message is required","status":400}`, ""},
		{"send bad type", "send", map[string]any{"socket_id": targetID, "message": "x", "type": "nope"}, `{"type":"invalid_request","error":"Websocket.send: type must be \"data-text\" or \"data-binary\"","status":400}`, ""},
		{"send bad base64", "send", map[string]any{"socket_id": targetID, "message": "***", "type": "data-binary"}, `{"type":"invalid_request","error":"Websocket.send: the message is not valid base64","status":400}`, ""},
		{"send too large", "send", map[string]any{"socket_id": targetID, "repeat": 101}, `{"type":"payload_too_large","error":"the message is 101 bytes; max_message_bytes is 100","status":413}`, ""},
		{"send without argument", "send", nil, `{"type":"invalid_request","error":"Websocket.send needs an object argument","status":400}`, ""},
		{"info unknown", "info", map[string]any{"socket_id": "nope"}, `{"type":"not_found","error":"no socket nope","status":404}`, ""},
		{"close bad code", "close", map[string]any{"socket_id": targetID, "code": 1006}, `{"type":"invalid_request","error":"Websocket.close: close code must be 1000-1003, 1007-1014 or 3000-4999","status":400}`, ""},
		{"close unknown", "close", map[string]any{"socket_id": "nope"}, `{"type":"not_found","error":"no socket nope","status":404}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(call(t, caller, tc.op, tc.arg)); got != tc.want {
				t.Fatalf("Websocket.%s returned %s, want %s", tc.op, got, tc.want)
			}
			if tc.recv != "" {
				if got := target.ReadText(); got != tc.recv {
					t.Fatalf("target received %q, want %q", got, tc.recv)
				}
			}
		})
	}

	t.Run("binary send", func(t *testing.T) {
		if got := string(call(t, caller, "send", map[string]any{"socket_id": targetID, "message": "AAEC", "type": "data-binary"})); got != "null" {
			t.Fatalf("returned %s", got)
		}
		if typ, got := target.Read(); typ != websocket.MessageBinary || got != "\x00\x01\x02" {
			t.Fatalf("target received %v %q", typ, got)
		}
	})
	t.Run("info", func(t *testing.T) {
		var info map[string]any
		_ = json.Unmarshal(call(t, caller, "info", map[string]any{"socket_id": targetID}), &info)
		if info["socket_id"] != targetID || info["type"] != "open" || info["node"] != "test-node" || info["route"] != "/svc" {
			t.Fatalf("info = %v", info)
		}
		for _, k := range []string{"uri", "headers", "parameters", "timestamp", "messages_in", "messages_out", "messages_dropped"} {
			if _, ok := info[k]; !ok {
				t.Errorf("info has no %s", k)
			}
		}
	})
	t.Run("list", func(t *testing.T) {
		var ids []string
		_ = json.Unmarshal(call(t, caller, "list", nil), &ids)
		if len(ids) != 2 {
			t.Fatalf("list = %v, want the two sockets", ids)
		}
		var page struct {
			IDs    []string `json:"ids"`
			Cursor *string  `json:"cursor"`
		}
		_ = json.Unmarshal(call(t, caller, "list", map[string]any{"limit": 1}), &page)
		if len(page.IDs) != 1 || page.Cursor == nil {
			t.Fatalf("list({limit: 1}) = %+v, want one id and a cursor", page)
		}
		_ = json.Unmarshal(call(t, caller, "list", map[string]any{"limit": 1, "cursor": *page.Cursor}), &page)
		if len(page.IDs) != 1 || page.Cursor != nil {
			t.Fatalf("second page = %+v, want one id and a null cursor", page)
		}
	})
	t.Run("close other", func(t *testing.T) {
		if got := string(call(t, caller, "close", map[string]any{"socket_id": targetID, "code": 4002, "reason": "by script"})); got != "null" {
			t.Fatalf("returned %s", got)
		}
		if code, reason := target.ExpectClose(); code != 4002 || reason != "by script" {
			t.Fatalf("target closed with %d %q", code, reason)
		}
		h.Logs.Wait(t, "target close event", gwtest.ScriptLine(targetID, "close", "closed 4002 by script"))
	})
	t.Run("closeAll closes the caller after its script", func(t *testing.T) {
		other := h.Dial("/svc", nil)
		other.ReadText()
		b, _ := json.Marshal(map[string]any{"op": "closeAllThenSend"})
		caller.Send(string(b))
		if got := caller.ReadText(); got != "after closeAll" {
			t.Fatalf("caller got %q: sends after closeAll in the same script must arrive", got)
		}
		var reply struct{ Result int }
		caller.ReadJSON(&reply)
		if reply.Result != 2 {
			t.Fatalf("closeAll returned %d, want 2 (caller and other)", reply.Result)
		}
		for _, c := range []*gwtest.Client{caller, other} {
			if code, _ := c.ExpectClose(); code != websocket.StatusNormalClosure {
				t.Fatalf("closed with %d, want 1000", code)
			}
		}
		h.Logs.Wait(t, "caller close event", gwtest.ScriptLine(callerID, "close", "closed 1000 "))
	})
}
