// The meveo example played end to end: the gateway binary on this folder's
// configuration, the secured endpoint created through the deploy API as
// README.md does it, tokens signed with the endpoint's HS256 secret, and
// real clients (README.md maps each test to meveo's page).
package meveoexchange_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgw/wsgw/internal/exampletest"
	"github.com/wsgw/wsgw/internal/gwtest"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

// secret is MEVEO_JWT_SECRET, the secured endpoint's HS256 key: the
// identity provider signs with it, the gateway verifies with it.
const secret = "meveo-example-secret-of-32-bytes!"

var withSecret = exampletest.Options{Env: []string{"MEVEO_JWT_SECRET=" + secret}}

// deskPath is the secured endpoint, URL-encoded as one segment for the API.
var deskPath = "/api/v1/endpoints/" + url.PathEscape("/meveo/ws/desk")

// token signs a Keycloak-like access token for user with realm roles.
func token(t *testing.T, key, user string, roles ...string) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub":                "f3b1c2d4-" + user,
		"preferred_username": user,
		"realm_access":       map[string]any{"roles": roles},
		"exp":                time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

// welcome is what the function sends on open.
type welcome struct {
	Welcome  *string `json:"welcome"`
	Endpoint string  `json:"endpoint"`
}

// open connects to path and checks the function's welcome.
func open(t *testing.T, gw *exampletest.Gateway, path string, header http.Header, user, endpoint string) *gwtest.Client {
	t.Helper()
	c := gw.Dial(t, path, header)
	var w welcome
	c.ReadJSON(&w)
	if w.Welcome == nil || *w.Welcome != user || w.Endpoint != endpoint {
		t.Fatalf("open %s: %+v, want welcome %q on %q", path, w, user, endpoint)
	}
	return c
}

// sent is the function's answer to a message.
type sent struct {
	To        string `json:"to"`
	Delivered int    `json:"delivered"`
	Sent      int    `json:"sent"`
}

// message sends {"to", "text"[, "endpoint"]} from c and returns the answer.
func message(t *testing.T, c *gwtest.Client, endpoint, to, text string) sent {
	t.Helper()
	m := map[string]string{"to": to, "text": text}
	if endpoint != "" {
		m["endpoint"] = endpoint
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	c.Send(string(b))
	var got sent
	c.ReadJSON(&got)
	return got
}

// expect reads one frame of c: the text from sender.
func expect(t *testing.T, c *gwtest.Client, from, text string) {
	t.Helper()
	want, _ := json.Marshal(map[string]string{"from": from, "text": text})
	if got := c.ReadText(); got != string(want) {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// scriptLine accepts the function's console line msg for socket id.
func scriptLine(id, event, msg string) func(map[string]any) bool {
	return func(r map[string]any) bool {
		return r["source"] == "script" && r["socket_id"] == id && r["event"] == event && r["msg"] == msg
	}
}

// socketOf is the socket ID of the one socket bound to user.
func socketOf(t *testing.T, gw *exampletest.Gateway, user string) string {
	t.Helper()
	var ids []string
	gw.CallJSON(t, http.MethodGet, "/api/v1/websocket/users/"+url.PathEscape(user)+"/sockets", nil, http.StatusOK, &ids)
	if len(ids) != 1 {
		t.Fatalf("sockets of %s: %v, want one", user, ids)
	}
	return ids[0]
}

// TestLifecycleAndContext: the unsecured endpoint of meveo's page. open,
// message and close reach the function with meveo's parameters; sendMessage
// reaches every socket of the user on the endpoint; the context the function
// keeps (its message count) lasts across the session, and it alone is kept.
func TestLifecycleAndContext(t *testing.T) {
	t.Parallel()
	gw := exampletest.Start(t, "gateway.yaml", exampletest.Options{})
	ana := open(t, gw, "/meveo/ws/exchange?user=ana", nil, "ana", "exchange")
	bo1 := open(t, gw, "/meveo/ws/exchange?user=bo", nil, "bo", "exchange")
	bo2 := open(t, gw, "/meveo/ws/exchange?user=bo", nil, "bo", "exchange")

	if got := message(t, ana, "", "bo", "hello"); got != (sent{To: "bo", Delivered: 2, Sent: 1}) {
		t.Fatalf("first message: %+v, want both of bo's sockets and sent 1", got)
	}
	expect(t, bo1, "ana", "hello")
	expect(t, bo2, "ana", "hello")
	if got := message(t, ana, "", "nobody", "anyone?"); got != (sent{To: "nobody", Delivered: 0, Sent: 2}) {
		t.Fatalf("to a user with no socket: %+v, want 0 delivered and sent 2", got)
	}

	id := socketOf(t, gw, "exchange:ana")
	// The function throws on this message; the event runs after the one
	// before it saved its context, so info shows that context after it.
	ana.Send("not json")
	gw.Logs.Wait(t, "the function's exception", func(r map[string]any) bool {
		return r["socket_id"] == id && r["msg"] == "script error" && r["event"] == "data"
	})
	var info struct {
		UserID string         `json:"user_id"`
		State  map[string]any `json:"state"`
	}
	gw.CallJSON(t, http.MethodGet, "/api/v1/websocket/sockets/"+id, nil, http.StatusOK, &info)
	if info.UserID != "exchange:ana" || len(info.State) != 1 || info.State["sent"] != 2.0 {
		t.Fatalf("info: user %q, state %v; want exchange:ana and the context {sent: 2} alone", info.UserID, info.State)
	}

	if got := message(t, ana, "", "bo", "still here"); got.Sent != 3 {
		t.Fatalf("after an exception: %+v, want the session open and sent 3", got)
	}
	expect(t, bo1, "ana", "still here")

	if err := ana.WS.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatal(err)
	}
	gw.Logs.Wait(t, "the close event with the context", scriptLine(id, "close", "closed 1000 bye after 3 messages"))
	gw.Logs.Wait(t, "the socket gone", func(r map[string]any) bool { return r["msg"] == "connection closed" && r["socket_id"] == id })
	if n := gw.Logs.Count(func(r map[string]any) bool {
		return r["socket_id"] == id && r["msg"] != nil && strings.HasPrefix(r["msg"].(string), "error:")
	}); n != 0 {
		t.Fatalf("a normal close gave %d error events, want none", n)
	}
}

// TestTransportErrors: meveo's onError. A connection dropped without a close
// frame (1006) and a message over the size limit (1009) reach the function
// as an error event with the description, then the close event.
func TestTransportErrors(t *testing.T) {
	t.Parallel()
	gw := exampletest.Start(t, "gateway.yaml", exampletest.Options{Env: []string{"WSGW_LIMITS_MAX_MESSAGE_BYTES=1024"}})

	dropped := open(t, gw, "/meveo/ws/exchange?user=dee", nil, "dee", "exchange")
	id := socketOf(t, gw, "exchange:dee")
	if err := dropped.TCP.Close(); err != nil {
		t.Fatal(err)
	}
	gw.Logs.Wait(t, "the error event of a drop", scriptLine(id, "close", "error: 1006 connection lost"))
	gw.Logs.Wait(t, "then the close event", scriptLine(id, "close", "closed 1006 connection lost after 0 messages"))

	big := open(t, gw, "/meveo/ws/exchange?user=eve", nil, "eve", "exchange")
	id = socketOf(t, gw, "exchange:eve")
	big.Send(strings.Repeat("x", 2000))
	if code, reason := big.ExpectClose(); code != websocket.StatusMessageTooBig {
		t.Fatalf("closed %d %q, want 1009", code, reason)
	}
	gw.Logs.Wait(t, "the error event of a message too large", scriptLine(id, "close", "error: 1009 message too large: over 1024 bytes"))
	gw.Logs.Wait(t, "then the close event", scriptLine(id, "close", "closed 1009 message too large: over 1024 bytes after 0 messages"))
}

// TestFunctionThrowsOnOpen: meveo closes the websocket when the function
// throws on open; wsgw closes it with 1011, and the function gets the error
// and close calls. Here the function throws for a session with no user.
func TestFunctionThrowsOnOpen(t *testing.T) {
	t.Parallel()
	gw := exampletest.Start(t, "gateway.yaml", exampletest.Options{})
	c := gw.Dial(t, "/meveo/ws/exchange", nil)
	if code, reason := c.ExpectClose(); code != websocket.StatusInternalError || reason != "open handler failed" {
		t.Fatalf("closed %d %q, want 1011 open handler failed", code, reason)
	}
	failed := gw.Logs.Wait(t, "the exception", func(r map[string]any) bool {
		return r["msg"] == "script error" && r["event"] == "open" && strings.Contains(fmt.Sprint(r["err"]), "no user: open with ?user=<name>")
	})
	id, _ := failed["socket_id"].(string)
	gw.Logs.Wait(t, "the error call", scriptLine(id, "close", "error: 1011 open handler failed"))
	gw.Logs.Wait(t, "then the close call", scriptLine(id, "close", "closed 1011 open handler failed after 0 messages"))
}

// deployDesk creates the secured endpoint as README.md does: the same
// function, at /meveo/ws/desk, with auth by the HS256 secret and the user
// from preferred_username.
func deployDesk(t *testing.T, gw *exampletest.Gateway) {
	t.Helper()
	script, err := os.ReadFile("exchange.js")
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]any{
		"script": string(script),
		"auth": map[string]any{
			"jwt":        map[string]any{"hs256_secret_env": "MEVEO_JWT_SECRET"},
			"user_claim": "preferred_username",
		},
	}
	var dep struct {
		Path    string         `json:"path"`
		Version int            `json:"version"`
		Auth    map[string]any `json:"auth"`
	}
	gw.CallJSON(t, http.MethodPut, deskPath, body, http.StatusCreated, &dep)
	if dep.Path != "/meveo/ws/desk" || dep.Auth == nil {
		t.Fatalf("deploy answered %+v, want /meveo/ws/desk with its auth", dep)
	}
}

// TestSecuredEndpoint: an endpoint created through the deploy API with its
// auth: no token, a forged token and a token without one of the endpoint's
// roles are closed; a trader is let in under the token's username.
func TestSecuredEndpoint(t *testing.T) {
	t.Parallel()
	gw := exampletest.Start(t, "gateway.yaml", withSecret)
	if status, _ := gw.Call(t, http.MethodGet, deskPath, nil); status != http.StatusNotFound {
		t.Fatalf("desk before its deploy: %d, want 404", status)
	}
	deployDesk(t, gw)

	for _, tc := range []struct {
		name   string
		header http.Header
		code   websocket.StatusCode
		reason string
	}{
		{"no token", nil, 4001, "no token"},
		{"another key", bearer(token(t, "not-the-endpoint-secret-32-bytes!", "mal", "trader")), 4002, "authentication failed"},
		{"no role of the endpoint", bearer(token(t, secret, "vic", "viewer")), 4403, "forbidden: needs one of the roles trader, admin"},
		{"no roles at all", bearer(token(t, secret, "nora")), 4403, "forbidden: needs one of the roles trader, admin"},
	} {
		c := gw.Dial(t, "/meveo/ws/desk", tc.header)
		if code, reason := c.ExpectClose(); code != tc.code || reason != tc.reason {
			t.Errorf("%s: closed %d %q, want %d %q", tc.name, code, reason, tc.code, tc.reason)
		}
	}
	open(t, gw, "/meveo/ws/desk", bearer(token(t, secret, "carla", "trader")), "carla", "desk")
	open(t, gw, "/meveo/ws/desk?token="+token(t, secret, "dan", "viewer", "admin"), nil, "dan", "desk")
	if n := gw.Logs.Count(func(r map[string]any) bool { return r["source"] == "script" && r["route"] == "/meveo/ws/desk" }); n != 0 {
		t.Fatalf("the function logged %d lines, want none: it never sees a refused session", n)
	}
}

// TestSendMessagePerEndpoint: sendMessage(endpoint, user, message) reaches
// the user's sockets on that endpoint only, from a function on the same
// endpoint or on another one, and from REST.
func TestSendMessagePerEndpoint(t *testing.T) {
	t.Parallel()
	gw := exampletest.Start(t, "gateway.yaml", withSecret)
	deployDesk(t, gw)
	ana := open(t, gw, "/meveo/ws/exchange?user=ana", nil, "ana", "exchange")
	boExchange := open(t, gw, "/meveo/ws/exchange?user=bo", nil, "bo", "exchange")
	carla := open(t, gw, "/meveo/ws/desk", bearer(token(t, secret, "carla", "trader")), "carla", "desk")
	boDesk := open(t, gw, "/meveo/ws/desk", bearer(token(t, secret, "bo", "trader")), "bo", "desk")

	if got := message(t, carla, "", "bo", "desk only"); got.Delivered != 1 {
		t.Fatalf("carla to bo on desk: %+v, want 1 socket", got)
	}
	expect(t, boDesk, "carla", "desk only")
	if got := message(t, ana, "desk", "bo", "from the exchange"); got.Delivered != 1 {
		t.Fatalf("ana to bo on desk: %+v, want 1 socket", got)
	}
	expect(t, boDesk, "ana", "from the exchange")

	var n int
	gw.CallJSON(t, http.MethodPost, "/api/v1/websocket/users/"+url.PathEscape("desk:bo")+"/send",
		map[string]any{"message": `{"from":"meveo","text":"over REST"}`}, http.StatusOK, &n)
	if n != 1 {
		t.Fatalf("REST send to desk:bo: %d sockets, want 1", n)
	}
	expect(t, boDesk, "meveo", "over REST")

	// Nothing of the above reached bo's exchange socket: its first frame is
	// what ana sends it now.
	if got := message(t, ana, "", "bo", "exchange only"); got.Delivered != 1 {
		t.Fatalf("ana to bo on exchange: %+v, want 1 socket", got)
	}
	expect(t, boExchange, "ana", "exchange only")
}
