// The webinate example played end to end: the gateway binary on this
// folder's configuration, clients with the origins a browser would send, and
// the users server's events pushed over the admin REST API (README.md maps
// each test to the socket API's page).
package webinateusers_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/wsgw/wsgw/internal/exampletest"
	"github.com/wsgw/wsgw/internal/gwtest"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

// dial connects to the users socket with origin as the Origin header.
func dial(t *testing.T, gw *exampletest.Gateway, origin string) *gwtest.Client {
	t.Helper()
	return gw.Dial(t, "/", http.Header{"Origin": {origin}})
}

// TestOriginAllowlist: approvedSocketDomains ported to whole-match patterns.
// Each origin the page's patterns meant is let in; each origin an unanchored
// or unescaped pattern of the page also let in is refused with 403 before
// any upgrade; a client that sends no Origin (not a browser) passes.
func TestOriginAllowlist(t *testing.T) {
	t.Parallel()
	gw := exampletest.Start(t, "gateway.yaml", exampletest.Options{})
	for _, tc := range []struct {
		origin string
		allow  bool
		why    string
	}{
		{"trusted-host", true, "the page's client example"},
		{"http://localhost:3000", true, `"localhost"`},
		{"http://localhost", true, `"localhost"`},
		{"ws://www.webinate.net:123", true, `"^ws://www.webinate.net:123$"`},
		{"http://webinate.net", true, `"^webinate\\.net:80$" (a browser leaves out :80)`},
		{"https://example.com", true, `"^example\\.com$"`},
		{"https://shop.example.com", true, `"^.+\\.example\\.com$"`},
		{"https://example.org:8443", true, `"^example\\.org"`},
		{"https://a.b.example.org", true, `"^.+\\.example\\.org"`},

		{"http://localhost.evil.net", false, `"localhost" unanchored matched it`},
		{"http://evil-localhost.net", false, `"localhost" unanchored matched it`},
		{"ws://wwwXwebinate.net:123", false, `the unescaped dots of "^ws://www.webinate.net:123$" matched it`},
		{"https://example.org.evil.net", false, `"^example\\.org" has no $`},
		{"https://a.example.org.evil.net", false, `"^.+\\.example\\.org" has no $`},
		{"https://notexample.com", false, "not example.com nor a subdomain"},
		{"https://evil.net", false, "listed nowhere"},
	} {
		c, resp, err := gwtest.TryDial(t, gw.URL("/"), http.Header{"Origin": {tc.origin}})
		switch {
		case tc.allow && err != nil:
			t.Errorf("Origin %q (%s): refused (%v), want it let in", tc.origin, tc.why, err)
		case tc.allow:
			_ = c.WS.CloseNow()
		case err == nil:
			_ = c.WS.CloseNow()
			t.Errorf("Origin %q (%s): let in, want 403", tc.origin, tc.why)
		case resp == nil || resp.StatusCode != http.StatusForbidden:
			t.Errorf("Origin %q (%s): %v, want HTTP 403", tc.origin, tc.why, err)
		}
	}
	echo(t, gw.Dial(t, "/", nil), "no Origin: not a browser, let in")
}

// TestEcho: the page's echo example: {eventType: 10, message} comes back to
// its sender as sent, and only to it; input that is not an event is logged
// and answered with nothing, and the connection stays.
func TestEcho(t *testing.T) {
	t.Parallel()
	gw := exampletest.Start(t, "gateway.yaml", exampletest.Options{})
	ws := dial(t, gw, "trusted-host")
	other := dial(t, gw, "http://localhost:3000")

	ws.Send("not json")
	gw.Logs.Wait(t, "input that is not JSON", exampletest.Script("/", "data", `not a socket event: the API takes {"eventType": <number>, ...}`))
	ws.Send(`{"eventType": 1, "username": "ana"}`)
	gw.Logs.Wait(t, "an event a client does not send", exampletest.Script("/", "data", "eventType 1 is not one a client sends"))

	echo(t, ws, "Hello world?")
	echo(t, other, "mine: the first frame, nothing of the other socket's echo")
}

// TestServerEvents: an event of the users server (a Login, eventType 1) is
// pushed to every connected socket at once by one REST call, the broadcast;
// a socket that connects afterwards does not get it.
func TestServerEvents(t *testing.T) {
	t.Parallel()
	gw := exampletest.Start(t, "gateway.yaml", exampletest.Options{})
	var clients []*gwtest.Client
	for _, origin := range []string{"trusted-host", "https://shop.example.com", "http://localhost:3000"} {
		c := dial(t, gw, origin)
		echo(t, c, "I am "+origin) // its open has run: it is registered
		clients = append(clients, c)
	}
	var ids []string
	gw.CallJSON(t, http.MethodGet, "/api/v1/websocket/sockets", nil, http.StatusOK, &ids)
	if len(ids) != len(clients) {
		t.Fatalf("sockets before the broadcast: %v, want %d", ids, len(clients))
	}
	login := map[string]any{"eventType": 1, "username": "ana"}
	if status, body := gw.Call(t, http.MethodPost, "/api/v1/websocket/send", map[string]any{"message": login}); status != http.StatusAccepted {
		t.Fatalf("POST /api/v1/websocket/send: %d %s, want 202", status, body)
	}
	for i, c := range clients {
		var got struct {
			EventType int    `json:"eventType"`
			Username  string `json:"username"`
		}
		c.ReadJSON(&got)
		if got.EventType != 1 || got.Username != "ana" {
			t.Fatalf("client %d got %+v, want the Login event of ana", i, got)
		}
	}
	echo(t, dial(t, gw, "trusted-host"), "opened after the broadcast: this echo is the first frame")
}

// echo sends the echo event with message and fails unless it comes back,
// as the first frame the client reads.
func echo(t *testing.T, c *gwtest.Client, message string) {
	t.Helper()
	event, err := json.Marshal(map[string]any{"eventType": 10, "message": message})
	if err != nil {
		t.Fatal(err)
	}
	c.Send(string(event))
	if got := c.ReadText(); got != string(event) {
		t.Fatalf("echo of %s: got %q", event, got)
	}
}
