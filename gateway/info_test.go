package gateway_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wsgw/wsgw/handlers"
	"github.com/wsgw/wsgw/internal/gwtest"
)

// TestScriptInfoMatchesREST asks for one socket's info from a script and from
// the admin REST API: both must give the same fields.
func TestScriptInfoMatchesREST(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{"/i": `
if (websocketInfo.type === "open") return websocketInfo.socket_id;
if (websocketInfo.type === "data") return JSON.stringify(Object.keys(Websocket.info({socket_id: websocketInfo.socket_id})).sort());`}})
	c := h.Dial("/i", nil)
	id := c.ReadText()
	c.Send("info")
	var fromScript []string
	c.ReadJSON(&fromScript)

	admin := httptest.NewServer(handlers.Admin(handlers.AdminOptions{Service: h.Service, Health: h.GW.Health}))
	defer admin.Close()
	resp, err := http.Get(admin.URL + "/api/v1/websocket/sockets/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("REST info: %d %v", resp.StatusCode, err)
	}
	var fromREST []string
	for k := range body {
		fromREST = append(fromREST, k)
	}
	slices.Sort(fromREST)
	if !slices.Equal(fromScript, fromREST) {
		t.Fatalf("Websocket.info keys %v\nREST info keys       %v", fromScript, fromREST)
	}
	if !slices.Contains(fromScript, "script_version") {
		t.Fatalf("Websocket.info lacks script_version: %v", fromScript)
	}
}

// TestCloseLineDurationInMilliseconds checks that the close log line gives
// the connection's duration as a number of milliseconds.
func TestCloseLineDurationInMilliseconds(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{"/i": idScript}})
	c := h.Dial("/i", nil)
	id := c.ReadText()
	time.Sleep(20 * time.Millisecond) // a duration to measure, not a synchronisation
	c.WS.Close(websocket.StatusNormalClosure, "")
	line := h.ClosedLine(id)
	ms, ok := line["duration_ms"].(int64)
	if !ok || ms < 20 || ms > int64(gwtest.WaitFor/time.Millisecond) {
		t.Fatalf("duration_ms = %#v, want a whole number of milliseconds >= 20", line["duration_ms"])
	}
	if _, ok := line["duration"]; ok {
		t.Fatalf("the close line still has duration: %v", line)
	}
}
