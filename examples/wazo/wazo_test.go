// The Wazo websocketd example played end to end: the stand-in for
// wazo-auth and the gateway binary on this folder's configuration, real
// WebSocket clients holding wazo-auth tokens, and bus events published by
// the bus program through the admin REST API. README.md maps each test to
// the websocketd feature it proves.
package wazo_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/wsgw/wsgw/internal/exampletest"
	"github.com/wsgw/wsgw/internal/gwtest"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

// build compiles the example's program in dir (wazo-auth, bus) into a
// temporary directory.
func build(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), dir)
	if out, err := exec.Command("go", "build", "-o", bin, "./"+dir).CombinedOutput(); err != nil {
		t.Fatalf("go build ./%s: %v\n%s", dir, err, out)
	}
	return bin
}

// wazo is the example running: the stand-in for wazo-auth, the gateway on
// gateway.yaml (its introspection URL pointed at the stand-in), and the
// bus publisher.
type wazo struct {
	auth string // the stand-in's base URL
	gw   *exampletest.Gateway
	bus  string // the bus program
}

func start(t *testing.T) *wazo {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the example's programs")
	}
	auth := startAuth(t, build(t, "wazo-auth"))
	// The configuration as it is, but for the stand-in's port, which the
	// system chose.
	conf, err := os.ReadFile("gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const url = "http://127.0.0.1:9497/"
	if !bytes.Contains(conf, []byte(url)) {
		t.Fatalf("gateway.yaml does not name the stand-in at %s", url)
	}
	dir := t.TempDir()
	conf = bytes.Replace(conf, []byte(url), []byte(auth+"/"), 1)
	script, err := os.ReadFile("websocketd.js")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"gateway.yaml": conf, "websocketd.js": script} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	gw := exampletest.Start(t, filepath.Join(dir, "gateway.yaml"), exampletest.Options{})
	return &wazo{auth: auth, gw: gw, bus: build(t, "bus")}
}

// startAuth runs the stand-in for wazo-auth on a port of the system's
// choosing and answers its base URL; it is stopped when the test ends.
func startAuth(t *testing.T, bin string) string {
	t.Helper()
	cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--users", "users.json")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "wazo-auth listening on ")
	if err != nil || !ok {
		t.Fatalf("wazo-auth said %q, %v; want its listening line", line, err)
	}
	return "http://" + addr
}

// token asks the stand-in for a token of username, valid for expiration
// seconds (0: the default).
func (z *wazo) token(t *testing.T, username string, expiration int) string {
	t.Helper()
	req, _ := http.NewRequest("POST", z.auth+"/0.1/token", strings.NewReader(fmt.Sprintf(`{"expiration": %d}`, expiration)))
	req.SetBasicAuth(username, username+"-secret")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Data struct{ Token string } }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 || body.Data.Token == "" {
		t.Fatalf("token of %s: %d, %v", username, resp.StatusCode, err)
	}
	return body.Data.Token
}

// connect dials the service with token and reads the init message.
func (z *wazo) connect(t *testing.T, token string) *gwtest.Client {
	t.Helper()
	c := z.gw.Dial(t, "/?token="+url.QueryEscape(token), nil)
	expectOp(t, c, "init")
	return c
}

// expectOp reads the next message: {"op": op, "code": 0, "msg": ""}, as
// websocketd words it.
func expectOp(t *testing.T, c *gwtest.Client, op string) {
	t.Helper()
	want := `{"op":"` + op + `","code":0,"msg":""}`
	if got := c.ReadText(); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// publish runs the bus program on event and answers how many clients it
// sent to.
func (z *wazo) publish(t *testing.T, event string) int {
	t.Helper()
	out, err := exec.Command(z.bus, "--admin", "http://"+z.gw.Admin, event).Output()
	if err != nil {
		t.Fatalf("bus %s: %v", event, err)
	}
	var n int
	if _, err := fmt.Sscan(string(out), &n); err != nil {
		t.Fatalf("bus printed %q", out)
	}
	return n
}

// closed dials with the target's query and answers the close code and
// reason the connection ends with.
func (z *wazo) closed(t *testing.T, target string) (websocket.StatusCode, string) {
	t.Helper()
	c := z.gw.Dial(t, target, nil)
	return c.ExpectClose()
}

const (
	aliceUUID = "6b7a6a3c-5c3e-4f4e-9a55-0a1b2c3d4e5f"
	bobUUID   = "9d9f1a2b-2222-4d3c-9e11-bbbbbbbbbbbb"
)

// TestConversation: the page's conversation. A client with a websocketd
// token gets init; subscribe and start get their replies; after start, bus
// events reach the clients that subscribed to them and whose ACL allows
// them, in the same format as on the bus; a subscribe after start gets no
// reply but its events.
func TestConversation(t *testing.T) {
	t.Parallel()
	z := start(t)
	alice := z.connect(t, z.token(t, "alice", 0))
	var ids []string // the connection belongs to the token's user
	z.gw.CallJSON(t, "GET", "/api/v1/websocket/users/"+aliceUUID+"/sockets", nil, 200, &ids)
	if len(ids) != 1 {
		t.Fatalf("alice's sockets: %v, want her one connection", ids)
	}
	alice.Send(`{"op": "subscribe", "data": {"event_name": "endpoint_status_update"}}`)
	expectOp(t, alice, "subscribe")
	alice.Send(`{"op": "subscribe", "data": {"event_name": "chat_message_received"}}`)
	expectOp(t, alice, "subscribe")
	alice.Send(`{"op": "start"}`)
	expectOp(t, alice, "start")

	admin := z.connect(t, z.token(t, "admin", 0))
	admin.Send(`{"op": "subscribe", "data": {"event_name": "*"}}`)
	expectOp(t, admin, "subscribe")
	// Not started yet: admin gets nothing of the first event.
	status := `{"name": "endpoint_status_update", "required_acl": "events.statuses.endpoints", "data": {"id": 7, "status": "available"}}`
	if n := z.publish(t, status); n != 1 {
		t.Fatalf("endpoint_status_update reached %d clients, want alice only", n)
	}
	if got := alice.ReadText(); got != status {
		t.Fatalf("alice got %s, want the bus message as it was: %s", got, status)
	}
	admin.Send(`{"op": "start"}`)
	expectOp(t, admin, "start")

	for _, tc := range []struct {
		name, event  string
		alice, admin bool
	}{
		{"her own chat message", `{"name": "chat_message_received", "required_acl": "events.users.` + aliceUUID + `.chat", "data": {"msg": "hi alice"}}`, true, true},
		{"another user's chat message", `{"name": "chat_message_received", "required_acl": "events.users.` + bobUUID + `.chat", "data": {"msg": "hi bob"}}`, false, true},
		{"an event for every subscriber", `{"name": "endpoint_status_update", "required_acl": null, "data": {"id": 8}}`, true, true},
		{"an event without required_acl", `{"name": "endpoint_status_update", "data": {"id": 9}}`, false, false},
		{"an event alice did not subscribe to", `{"name": "call_created", "required_acl": "events.calls.` + aliceUUID + `", "data": {"call_id": "1"}}`, false, true},
	} {
		want := 0
		if tc.alice {
			want++
		}
		if tc.admin {
			want++
		}
		if n := z.publish(t, tc.event); n != want {
			t.Fatalf("%s reached %d clients, want %d", tc.name, n, want)
		}
		// A marker every started subscriber gets: what comes before it
		// is what the event brought.
		marker := fmt.Sprintf(`{"name": "endpoint_status_update", "required_acl": null, "data": {"after": %q}}`, tc.name)
		z.publish(t, marker)
		for _, c := range []struct {
			who    string
			client *gwtest.Client
			gets   bool
		}{{"alice", alice, tc.alice}, {"admin", admin, tc.admin}} {
			if c.gets {
				if got := c.client.ReadText(); got != tc.event {
					t.Fatalf("%s: %s got %s, want %s", tc.name, c.who, got, tc.event)
				}
			}
			if got := c.client.ReadText(); got != marker {
				t.Fatalf("%s: %s got %s, want only the marker next", tc.name, c.who, got)
			}
		}
	}

	// After start: a subscribe has no reply, but its events come.
	alice.Send(`{"op": "subscribe", "data": {"event_name": "call_created"}}`)
	call := `{"name": "call_created", "required_acl": "events.users.` + aliceUUID + `.calls", "data": {"call_id": "2"}}`
	gwtest.Eventually(t, "alice in call_created's group", func() bool {
		var ids []string
		z.gw.CallJSON(t, "GET", "/api/v1/websocket/groups/"+url.PathEscape("wazo.event.call_created")+"/sockets", nil, 200, &ids)
		return len(ids) == 1
	})
	z.publish(t, call)
	if got := alice.ReadText(); got != call {
		t.Fatalf("after a subscribe sent after start, alice got %s, want %s (and no subscribe reply)", got, call)
	}
}

// TestCloseCodes: websocketd's status codes, each exactly as the page says
// (4001 no token, 4002 authentication failed, the websocketd ACL missing
// included, 4003 expired, 4004 protocol error).
func TestCloseCodes(t *testing.T) {
	t.Parallel()
	z := start(t)
	for _, tc := range []struct {
		name   string
		target string
		code   websocket.StatusCode
	}{
		{"no token", "/", 4001},
		{"a token in another parameter", "/?access_token=" + z.token(t, "alice", 0), 4001},
		{"an unknown token", "/?token=not-a-wazo-token", 4002},
		{"a token without the websocketd ACL", "/?token=" + z.token(t, "bob", 0), 4002},
	} {
		if code, reason := z.closed(t, tc.target); code != tc.code {
			t.Errorf("%s: close %d %q, want %d", tc.name, code, reason, tc.code)
		}
	}
	for _, tc := range []struct{ name, message string }{
		{"not JSON", "subscribe please"},
		{"no op", `{"data": {"event_name": "x"}}`},
		{"an unknown operation", `{"op": "unsubscribe", "data": {"event_name": "x"}}`},
		{"subscribe without data", `{"op": "subscribe"}`},
		{"subscribe without event_name", `{"op": "subscribe", "data": {}}`},
	} {
		c := z.connect(t, z.token(t, "alice", 0))
		c.Send(tc.message)
		if code, reason := c.ExpectClose(); code != 4004 {
			t.Errorf("%s: close %d %q, want 4004", tc.name, code, reason)
		}
	}
	// A token that expires while connected: 4003.
	c := z.connect(t, z.token(t, "alice", 2))
	ctx, cancel := context.WithTimeout(context.Background(), exampletest.WaitFor)
	defer cancel()
	_, _, err := c.WS.Read(ctx)
	if code := websocket.CloseStatus(err); code != 4003 {
		t.Fatalf("when the token expired: %v, want close 4003", err)
	}
	// A token deleted at wazo-auth is refused: 4002.
	deleted := z.token(t, "alice", 0)
	req, _ := http.NewRequest("DELETE", z.auth+"/0.1/token/"+deleted, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete the token: %v", err)
	}
	if code, _ := z.closed(t, "/?token="+deleted); code != 4002 {
		t.Fatalf("a deleted token: close %d, want 4002", code)
	}
}
