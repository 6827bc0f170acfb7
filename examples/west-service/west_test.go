// The West Connectivity example played end to end: the gateway binary on
// this folder's configuration, real clients, and the admin REST API. Each
// test names what of the service page it proves (README.md maps them).
package westservice_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wsgw/wsgw/internal/exampletest"
	"github.com/wsgw/wsgw/internal/gwtest"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

// fields is what fields.js answers: websocketInfo as the service page
// lists it.
type fields struct {
	URI         string            `json:"uri"`
	Type        string            `json:"type"`
	Route       string            `json:"route"`
	Headers     map[string]string `json:"headers"`
	Message     string            `json:"message"`
	SocketID    string            `json:"socket_id"`
	Timestamp   int64             `json:"timestamp"`
	Parameters  map[string]string `json:"parameters"`
	MessageType *string           `json:"message_type"`
}

// info is the answer of the info operation, from a script or from REST.
type info struct {
	URI             string            `json:"uri"`
	Type            string            `json:"type"`
	Route           string            `json:"route"`
	Headers         map[string]string `json:"headers"`
	SocketID        string            `json:"socket_id"`
	Timestamp       int64             `json:"timestamp"`
	Parameters      map[string]string `json:"parameters"`
	MessagesIn      int               `json:"messages_in"`
	MessagesOut     int               `json:"messages_out"`
	MessagesDropped int               `json:"messages_dropped"`
}

// apiError is the failure object of every operation, {type, error, status}.
type apiError struct {
	Type   string `json:"type"`
	Error  string `json:"error"`
	Status int    `json:"status"`
}

var socketIDForm = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)

// binaryFrame is a payload no text frame could carry.
var binaryFrame = []byte{0x00, 0x01, 0x02, 0xff, 0xfe}

// device connects a client to /devices/{name} and returns it with the fields
// of its open event.
func device(t *testing.T, gw *exampletest.Gateway, name string) (*gwtest.Client, fields) {
	t.Helper()
	c := gw.Dial(t, "/devices/"+name, nil)
	var open fields
	c.ReadJSON(&open)
	if open.Type != "open" || !socketIDForm.MatchString(open.SocketID) {
		t.Fatalf("open event of /devices/%s: %+v", name, open)
	}
	return c, open
}

// closedLine waits for the gateway's record of socket id's end, after which
// the socket is gone from the registry.
func closedLine(t *testing.T, gw *exampletest.Gateway, id string) map[string]any {
	t.Helper()
	return gw.Logs.Wait(t, "the close of "+id, func(r map[string]any) bool {
		return r["msg"] == "connection closed" && r["socket_id"] == id
	})
}

// TestHealthProbe: GET /api/v1/solution/health answers 200 "OK", on the
// public listener (for the hosting system) and on the admin one.
func TestHealthProbe(t *testing.T) {
	t.Parallel()
	gw := exampletest.Start(t, "gateway.yaml", exampletest.Options{})
	if status, body := gw.Get(t, "/api/v1/solution/health"); status != http.StatusOK || string(body) != "OK" {
		t.Fatalf("public health: %d %q, want 200 OK", status, body)
	}
	if status, body := gw.Call(t, http.MethodGet, "/api/v1/solution/health", nil); status != http.StatusOK || string(body) != "OK" {
		t.Fatalf("admin health: %d %q, want 200 OK", status, body)
	}
}

// TestEndpointScriptExample: the service page's endpoint script: "Welcome"
// on open; the first message is printed and the connection closed (1000).
func TestEndpointScriptExample(t *testing.T) {
	t.Parallel()
	gw := exampletest.Start(t, "gateway.yaml", exampletest.Options{})
	c := gw.Dial(t, "/hello", nil)
	if got := c.ReadText(); got != "Welcome" {
		t.Fatalf("on open: %q, want Welcome", got)
	}
	c.Send("hello from the web app")
	if code, _ := c.ExpectClose(); code != websocket.StatusNormalClosure {
		t.Fatalf("closed with %d, want 1000 (websocketInfo.close())", code)
	}
	gw.Logs.Wait(t, "the printed message", exampletest.Script("/hello", "data", "hello from the web app"))
}

// TestEveryField: every websocketInfo field of the service page, as the
// script sees it in open and data events, for text and binary frames; the
// same connection through info on REST; send() and close() refused in the
// close event; and info's error once the connection has closed.
func TestEveryField(t *testing.T) {
	t.Parallel()
	gw := exampletest.Start(t, "gateway.yaml", exampletest.Options{})
	path := "/devices/thermo-1?unit=celsius&device=spoofed"
	header := http.Header{"X-Api-Key": {"k-123"}, "X-Tag": {"a", "b"}}
	before := time.Now().UnixMilli()
	c := gw.Dial(t, path, header)
	var open fields
	c.ReadJSON(&open)
	after := time.Now().UnixMilli()

	wantParams := map[string]string{"device": "thermo-1", "unit": "celsius"} // the path parameter wins
	checkConn := func(event string, uri, route string, headers, params map[string]string, id string) {
		t.Helper()
		if uri != gw.URL(path) {
			t.Errorf("%s: uri %q, want %q", event, uri, gw.URL(path))
		}
		if route != "/devices/{device}" {
			t.Errorf("%s: route %q, want the endpoint path /devices/{device}", event, route)
		}
		if headers["x-api-key"] != "k-123" || headers["x-tag"] != "a, b" || headers["upgrade"] != "websocket" {
			t.Errorf("%s: headers %v, want the upgrade request's (names lower-cased, values joined)", event, headers)
		}
		if !maps.Equal(params, wantParams) {
			t.Errorf("%s: parameters %v, want %v", event, params, wantParams)
		}
		if id != open.SocketID {
			t.Errorf("%s: socket_id %q, want the open event's %q", event, id, open.SocketID)
		}
	}
	checkConn("open", open.URI, open.Route, open.Headers, open.Parameters, open.SocketID)
	if !socketIDForm.MatchString(open.SocketID) {
		t.Errorf("socket_id %q: want 22 URL-safe characters", open.SocketID)
	}
	if open.Type != "open" || open.Message != "" || open.MessageType != nil {
		t.Errorf("open: type %q, message %q, message_type %v; want open, empty, absent", open.Type, open.Message, open.MessageType)
	}
	if open.Timestamp < before || open.Timestamp > after {
		t.Errorf("open: timestamp %d, want within the dial [%d, %d] (ms)", open.Timestamp, before, after)
	}

	for _, tc := range []struct {
		typ      websocket.MessageType
		payload  []byte
		msg, mtp string
	}{
		{websocket.MessageText, []byte("21.5"), "21.5", "data-text"},
		{websocket.MessageBinary, binaryFrame, base64.StdEncoding.EncodeToString(binaryFrame), "data-binary"},
	} {
		before := time.Now().UnixMilli()
		c.Write(tc.typ, tc.payload)
		var data fields
		c.ReadJSON(&data)
		after := time.Now().UnixMilli()
		checkConn("data", data.URI, data.Route, data.Headers, data.Parameters, data.SocketID)
		if data.Type != "data" || data.Message != tc.msg || data.MessageType == nil || *data.MessageType != tc.mtp {
			t.Errorf("data: type %q, message %q, message_type %v; want data, %q, %q", data.Type, data.Message, data.MessageType, tc.msg, tc.mtp)
		}
		if data.Timestamp < before || data.Timestamp > after {
			t.Errorf("data: timestamp %d, want the reception, within [%d, %d] (ms)", data.Timestamp, before, after)
		}
		if tc.typ == websocket.MessageBinary {
			if typ, echo := c.Read(); typ != websocket.MessageBinary || !bytes.Equal([]byte(echo), binaryFrame) {
				t.Errorf("binary sent back as %v %x, want a binary frame %x", typ, echo, binaryFrame)
			}
		}
	}

	var got info
	gw.CallJSON(t, http.MethodGet, "/api/v1/websocket/sockets/"+open.SocketID, nil, http.StatusOK, &got)
	checkConn("REST info", got.URI, got.Route, got.Headers, got.Parameters, got.SocketID)
	if got.Type != "open" || got.Timestamp != open.Timestamp || got.MessagesIn != 2 {
		t.Errorf("REST info: type %q, timestamp %d, messages_in %d; want open, the open's %d, 2", got.Type, got.Timestamp, got.MessagesIn, open.Timestamp)
	}

	if err := c.WS.Close(websocket.StatusCode(4000), "done"); err != nil {
		t.Fatal(err)
	}
	gw.Logs.Wait(t, "send and close refused in the close event", exampletest.Script("/devices/{device}", "close",
		"closed 4000; websocketInfo.send: the connection is closed; websocketInfo.close: the connection is closed"))
	closedLine(t, gw, open.SocketID)
	var gone apiError
	gw.CallJSON(t, http.MethodGet, "/api/v1/websocket/sockets/"+open.SocketID, nil, http.StatusNotFound, &gone)
	if gone.Type != "not_found" || gone.Status != 404 || gone.Error == "" {
		t.Errorf("info of a closed connection: %+v, want {not_found, ..., 404}", gone)
	}
}

// heldBack runs the example with on_exceed: delay. The /service client
// talks faster than 5 messages a second; with the default drop its sixth
// message would be lost without a word, with delay it waits for its token.
var heldBack = exampletest.Options{Env: []string{"WSGW_LIMITS_ON_EXCEED=delay"}}

// serviceCall plays one operation through /service and decodes its result.
func serviceCall(t *testing.T, svc *gwtest.Client, op string, params map[string]any, result any) {
	t.Helper()
	req, err := json.Marshal(map[string]any{"op": op, "parameters": params})
	if err != nil {
		t.Fatal(err)
	}
	svc.Send(string(req))
	var answer struct {
		Op     string          `json:"op"`
		Result json.RawMessage `json:"result"`
	}
	svc.ReadJSON(&answer)
	if answer.Op != op {
		t.Fatalf("%s: answered for %q", op, answer.Op)
	}
	if result == nil {
		if string(answer.Result) != "null" {
			t.Fatalf("%s: result %s, want null (success)", op, answer.Result)
		}
		return
	}
	if err := json.Unmarshal(answer.Result, result); err != nil {
		t.Fatalf("%s: result %s: %v", op, answer.Result, err)
	}
}

// TestOperationsFromAScript: list, info, send (text, a JSON value, binary),
// close and closeAll through the global Websocket, with the service page's
// parameters; a closed socket's info and send answer the error object.
func TestOperationsFromAScript(t *testing.T) {
	t.Parallel()
	gw := exampletest.Start(t, "gateway.yaml", heldBack)
	d1, open1 := device(t, gw, "d1")
	d2, open2 := device(t, gw, "d2")
	svc := gw.Dial(t, "/service", nil)
	var me struct {
		SocketID string `json:"socket_id"`
	}
	svc.ReadJSON(&me)

	var ids []string
	serviceCall(t, svc, "list", nil, &ids)
	if want := []string{open1.SocketID, open2.SocketID, me.SocketID}; !sameSet(ids, want) {
		t.Fatalf("list: %v, want %v", ids, want)
	}

	var got info
	serviceCall(t, svc, "info", map[string]any{"socket_id": open1.SocketID}, &got)
	if got.SocketID != open1.SocketID || got.URI != open1.URI || got.Route != open1.Route || got.Type != "open" ||
		got.Timestamp != open1.Timestamp || !maps.Equal(got.Parameters, open1.Parameters) || !maps.Equal(got.Headers, open1.Headers) {
		t.Fatalf("info: %+v, want the fields of d1's open event %+v", got, open1)
	}

	serviceCall(t, svc, "send", map[string]any{"socket_id": open1.SocketID, "message": "hello d1"}, nil)
	if typ, msg := d1.Read(); typ != websocket.MessageText || msg != "hello d1" {
		t.Fatalf("d1 got %v %q, want text (the default type)", typ, msg)
	}
	serviceCall(t, svc, "send", map[string]any{"socket_id": open1.SocketID, "message": map[string]any{"temp": 21}}, nil)
	if got := d1.ReadText(); got != `{"temp":21}` {
		t.Fatalf("d1 got %q, want the value as JSON", got)
	}
	b64 := base64.StdEncoding.EncodeToString(binaryFrame)
	serviceCall(t, svc, "send", map[string]any{"socket_id": open1.SocketID, "message": b64, "type": "data-binary"}, nil)
	if typ, msg := d1.Read(); typ != websocket.MessageBinary || !bytes.Equal([]byte(msg), binaryFrame) {
		t.Fatalf("d1 got %v %x, want binary %x", typ, msg, binaryFrame)
	}

	serviceCall(t, svc, "close", map[string]any{"socket_id": open1.SocketID, "code": 4000, "reason": "bye"}, nil)
	if code, reason := d1.ExpectClose(); code != 4000 || reason != "bye" {
		t.Fatalf("d1 closed %d %q, want 4000 bye", code, reason)
	}
	closedLine(t, gw, open1.SocketID)
	for _, op := range []string{"info", "send"} {
		var failed apiError
		serviceCall(t, svc, op, map[string]any{"socket_id": open1.SocketID, "message": "x"}, &failed)
		if failed.Type != "not_found" || failed.Status != 404 || failed.Error == "" {
			t.Fatalf("%s of a closed socket: %+v, want {not_found, ..., 404}", op, failed)
		}
	}

	var n int
	serviceCall(t, svc, "closeAll", nil, &n)
	if n != 2 {
		t.Fatalf("closeAll: %d, want 2 (d2 and the caller)", n)
	}
	for name, c := range map[string]*gwtest.Client{"d2": d2, "the caller": svc} {
		if code, _ := c.ExpectClose(); code != websocket.StatusNormalClosure {
			t.Fatalf("%s closed with %d, want 1000", name, code)
		}
	}
}

// TestOperationsFromREST: the same five operations on the admin REST API,
// with its status codes: 200 list and info, 204 send and close, 200 and a
// count for closeAll, 404 and the error object for a closed socket.
func TestOperationsFromREST(t *testing.T) {
	t.Parallel()
	gw := exampletest.Start(t, "gateway.yaml", exampletest.Options{})
	d1, open1 := device(t, gw, "d1")
	d2, open2 := device(t, gw, "d2")
	sockets := "/api/v1/websocket/sockets/"

	var ids []string
	gw.CallJSON(t, http.MethodGet, "/api/v1/websocket/sockets", nil, http.StatusOK, &ids)
	if want := []string{open1.SocketID, open2.SocketID}; !sameSet(ids, want) {
		t.Fatalf("list: %v, want %v", ids, want)
	}
	var got info
	gw.CallJSON(t, http.MethodGet, sockets+open2.SocketID, nil, http.StatusOK, &got)
	if got.SocketID != open2.SocketID || got.URI != open2.URI || got.Route != open2.Route || got.Type != "open" ||
		got.Timestamp != open2.Timestamp || !maps.Equal(got.Parameters, open2.Parameters) || !maps.Equal(got.Headers, open2.Headers) {
		t.Fatalf("info: %+v, want the fields of d2's open event %+v", got, open2)
	}

	b64 := base64.StdEncoding.EncodeToString(binaryFrame)
	for _, tc := range []struct {
		body    map[string]any
		typ     websocket.MessageType
		payload string
	}{
		{map[string]any{"message": "hello d1"}, websocket.MessageText, "hello d1"},
		{map[string]any{"message": map[string]any{"temp": 21}}, websocket.MessageText, `{"temp":21}`},
		{map[string]any{"message": b64, "type": "data-binary"}, websocket.MessageBinary, string(binaryFrame)},
	} {
		gw.CallJSON(t, http.MethodPost, sockets+open1.SocketID+"/send", tc.body, http.StatusNoContent, nil)
		if typ, msg := d1.Read(); typ != tc.typ || msg != tc.payload {
			t.Fatalf("send %v: d1 got %v %q, want %v %q", tc.body, typ, msg, tc.typ, tc.payload)
		}
	}

	q := url.Values{"code": {"4000"}, "reason": {"bye"}}
	gw.CallJSON(t, http.MethodDelete, sockets+open1.SocketID+"?"+q.Encode(), nil, http.StatusNoContent, nil)
	if code, reason := d1.ExpectClose(); code != 4000 || reason != "bye" {
		t.Fatalf("d1 closed %d %q, want 4000 bye", code, reason)
	}
	closedLine(t, gw, open1.SocketID)
	for _, call := range []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, sockets + open1.SocketID, nil},
		{http.MethodPost, sockets + open1.SocketID + "/send", map[string]any{"message": "x"}},
		{http.MethodDelete, sockets + open1.SocketID, nil},
	} {
		var failed apiError
		gw.CallJSON(t, call.method, call.path, call.body, http.StatusNotFound, &failed)
		if failed.Type != "not_found" || failed.Status != 404 || failed.Error == "" {
			t.Fatalf("%s %s of a closed socket: %+v, want {not_found, ..., 404}", call.method, call.path, failed)
		}
	}

	var n int
	gw.CallJSON(t, http.MethodDelete, "/api/v1/websocket/sockets", nil, http.StatusOK, &n)
	if n != 1 {
		t.Fatalf("closeAll: %d, want 1 (d2)", n)
	}
	if code, _ := d2.ExpectClose(); code != websocket.StatusNormalClosure {
		t.Fatalf("d2 closed with %d, want 1000", code)
	}
}

// echoSocket connects to /echo and learns its socket_id from the admin API
// (the only socket of the gateway).
func echoSocket(t *testing.T, gw *exampletest.Gateway) (*gwtest.Client, string) {
	t.Helper()
	c := gw.Dial(t, "/echo", nil)
	var ids []string
	gwtest.Eventually(t, "the echo socket listed", func() bool {
		gw.CallJSON(t, http.MethodGet, "/api/v1/websocket/sockets", nil, http.StatusOK, &ids)
		return len(ids) == 1
	})
	return c, ids[0]
}

// TestFiveMessagesASecond: a burst of 20 messages gives 5 echoes, the first
// five in order (a token comes back every 200ms, so a slow machine may let
// one more through for each 200ms the burst took to arrive); the others are
// dropped without telling the client, and counted in info.
func TestFiveMessagesASecond(t *testing.T) {
	t.Parallel()
	gw := exampletest.Start(t, "gateway.yaml", exampletest.Options{})
	c, id := echoSocket(t, gw)
	const n = 20
	start := time.Now()
	for i := range n {
		c.Send(fmt.Sprint("m", i))
	}
	var got info
	gwtest.Eventually(t, "20 messages counted", func() bool {
		gw.CallJSON(t, http.MethodGet, "/api/v1/websocket/sockets/"+id, nil, http.StatusOK, &got)
		return got.MessagesIn == n
	})
	refilled := int(math.Ceil(time.Since(start).Seconds() * 5))
	delivered := n - got.MessagesDropped
	if delivered < 5 || delivered > 5+refilled {
		t.Fatalf("a burst of %d delivered %d, want 5 (up to %d after %v)", n, delivered, 5+refilled, time.Since(start))
	}
	for i := range delivered {
		if msg := c.ReadText(); msg != fmt.Sprint("m", i) {
			t.Fatalf("echo %d: %q, want the first messages in order", i, msg)
		}
	}
	gwtest.Eventually(t, "only the delivered echoed", func() bool {
		gw.CallJSON(t, http.MethodGet, "/api/v1/websocket/sockets/"+id, nil, http.StatusOK, &got)
		return got.MessagesOut == delivered
	})
	if got.Type != "open" {
		t.Fatalf("after the burst the socket is %q, want still open", got.Type)
	}
}

// TestFiveMessagesASecondDelayed: with on_exceed: delay (here from the
// environment, WSGW_LIMITS_ON_EXCEED) the same burst loses nothing: every
// message is echoed, in order, at 5 a second, and none is dropped.
func TestFiveMessagesASecondDelayed(t *testing.T) {
	t.Parallel()
	gw := exampletest.Start(t, "gateway.yaml", exampletest.Options{Env: []string{"WSGW_LIMITS_ON_EXCEED=delay"}})
	c, id := echoSocket(t, gw)
	const n = 20
	for i := range n { // 20 small frames fit the socket buffers: the writes do not block
		c.Send(fmt.Sprint("m", i))
	}
	for i := range n {
		if msg := c.ReadText(); msg != fmt.Sprint("m", i) {
			t.Fatalf("echo %d: %q, want every message in order", i, msg)
		}
	}
	var got info
	gw.CallJSON(t, http.MethodGet, "/api/v1/websocket/sockets/"+id, nil, http.StatusOK, &got)
	if got.MessagesIn != n || got.MessagesDropped != 0 {
		t.Fatalf("info: messages_in %d, messages_dropped %d; want %d, 0", got.MessagesIn, got.MessagesDropped, n)
	}
	status, metrics := gw.Call(t, http.MethodGet, "/metrics", nil)
	if status != http.StatusOK || !regexp.MustCompile(`(?m)^wsgw_messages_delayed_total [1-9]`).Match(metrics) {
		t.Fatalf("/metrics (%d) shows no delayed message", status)
	}
}

// TestEventHandlerRouting: gateway-handler.yaml's event handler receives
// every event and routes on websocketInfo.route: /hello is the service
// page's eventHandler example (Websocket.send and Websocket.close with the
// socket_id), /devices/{device} is its own answer, /echo has no route and is
// closed. Deploying an endpoint script leaves the handler in charge;
// removing the handler brings back the endpoints' scripts, and deploying it
// again over REST routes once more.
func TestEventHandlerRouting(t *testing.T) {
	t.Parallel()
	gw := exampletest.Start(t, "gateway-handler.yaml", exampletest.Options{})
	routed := func() {
		t.Helper()
		c := gw.Dial(t, "/hello", nil)
		if got := c.ReadText(); got != "Welcome" {
			t.Fatalf("/hello on open: %q, want Welcome", got)
		}
		c.Send("printed by the handler")
		if code, _ := c.ExpectClose(); code != websocket.StatusNormalClosure {
			t.Fatalf("/hello closed with %d, want 1000 (Websocket.close)", code)
		}
		gw.Logs.Wait(t, "the handler's print", exampletest.Script("/hello", "data", "printed by the handler"))

		d := gw.Dial(t, "/devices/d7?unit=celsius", nil)
		d.Send("21.5")
		if got := d.ReadText(); got != `{"device":"d7","reading":"21.5"}` {
			t.Fatalf("/devices/d7: %q, want the handler's answer (no open event report)", got)
		}

		e := gw.Dial(t, "/echo", nil)
		if code, reason := e.ExpectClose(); code != 4404 || reason != "no route for /echo" {
			t.Fatalf("/echo closed %d %q, want 4404 no route for /echo", code, reason)
		}
	}
	routed()

	echoJS, err := os.ReadFile("echo.js")
	if err != nil {
		t.Fatal(err)
	}
	gw.CallJSON(t, http.MethodPut, "/api/v1/endpoints/"+url.PathEscape("/echo"), map[string]any{"script": string(echoJS)}, http.StatusOK, nil)
	routed() // an endpoint deploy does not reset the routing

	var handler struct {
		Script string `json:"script"`
	}
	gw.CallJSON(t, http.MethodGet, "/api/v1/event_handler", nil, http.StatusOK, &handler)
	gw.CallJSON(t, http.MethodDelete, "/api/v1/event_handler", nil, http.StatusNoContent, nil)
	e := gw.Dial(t, "/echo", nil)
	e.Send("the endpoint's own script")
	if got := e.ReadText(); got != "the endpoint's own script" {
		t.Fatalf("/echo without the handler: %q, want its echo", got)
	}
	device(t, gw, "d7") // fields.js answers the open event again

	gw.CallJSON(t, http.MethodPut, "/api/v1/event_handler", map[string]any{"script": handler.Script}, http.StatusCreated, nil)
	routed()
}

func sameSet(got, want []string) bool {
	return len(got) == len(want) && !slices.ContainsFunc(want, func(s string) bool { return !slices.Contains(got, s) })
}
