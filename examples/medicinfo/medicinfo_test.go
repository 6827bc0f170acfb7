// medicinfo's STOMP chat played end to end: the gateway binary on this
// folder's configuration, go-stomp clients over WebSocket with the tokens a
// customer and employees would have, and the backend's REST publishes.
package medicinfo_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	gostomp "github.com/go-stomp/stomp/v3"

	"github.com/wsgw/wsgw/internal/exampletest"
	"github.com/wsgw/wsgw/internal/gwtest"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

const secret = "medicinfo-example-secret-of-32-bytes!"

// token signs claims with HS256, as medicinfo's backend signs its users' tokens.
func token(t *testing.T, claims map[string]any) string {
	t.Helper()
	claims["exp"] = time.Now().Add(time.Hour).Unix()
	body, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString(body)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil))
}

// connect opens /api/v1/chat with header and speaks STOMP over it, as
// Krossbow or stomp.js would.
func connect(t *testing.T, gw *exampletest.Gateway, header http.Header) *gostomp.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), gwtest.WaitFor)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, gw.URL("/api/v1/chat"), &websocket.DialOptions{
		HTTPHeader: header, Subprotocols: []string{"v12.stomp", "v11.stomp", "v10.stomp"}})
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	if p := resp.Header.Get("Sec-WebSocket-Protocol"); p != "v12.stomp" {
		t.Fatalf("subprotocol %q, want v12.stomp", p)
	}
	nc := websocket.NetConn(context.Background(), ws, websocket.MessageText)
	t.Cleanup(func() { _ = nc.Close() })
	c, err := gostomp.Connect(nc, gostomp.ConnOpt.HeartBeat(10*time.Second, 10*time.Second))
	if err != nil {
		t.Fatalf("CONNECT: %v", err)
	}
	return c
}

// subscribe subscribes and waits until the gateway has processed it (a
// receipt of a SEND after it).
func subscribe(t *testing.T, c *gostomp.Conn, dest string) *gostomp.Subscription {
	t.Helper()
	s, err := c.Subscribe(dest, gostomp.AckAuto)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send("/v1/app/conversation/none/typing/stop", "text/plain", nil, gostomp.SendOpt.Receipt); err != nil {
		t.Fatalf("after SUBSCRIBE %s: %v", dest, err)
	}
	return s
}

// event reads the next event of s: JSON under one key.
func event(t *testing.T, s *gostomp.Subscription) map[string]any {
	t.Helper()
	select {
	case m := <-s.C:
		if m == nil || m.Err != nil {
			t.Fatalf("%s: %+v", s.Destination(), m)
		}
		var ev map[string]any
		if err := json.Unmarshal(m.Body, &ev); err != nil || len(ev) != 1 || m.ContentType != "application/json" {
			t.Fatalf("%s: event %q (%s) is not JSON under one key", s.Destination(), m.Body, m.ContentType)
		}
		return ev
	case <-time.After(gwtest.WaitFor):
		t.Fatalf("%s: no event", s.Destination())
	}
	return nil
}

// expectUser reads an event {key: {"userId": user}} of s.
func expectUser(t *testing.T, s *gostomp.Subscription, key, user string) {
	t.Helper()
	ev := event(t, s)
	if got, ok := ev[key].(map[string]any); !ok || got["userId"] != user {
		t.Fatalf("%s: got %v, want %s of %s", s.Destination(), ev, key, user)
	}
}

// expectOnline reads an event {"online": n} of s.
func expectOnline(t *testing.T, s *gostomp.Subscription, n float64) {
	t.Helper()
	if ev := event(t, s); ev["online"] != n {
		t.Fatalf("%s: got %v, want online %v", s.Destination(), ev, n)
	}
}

// TestChatFlow plays the seed's customer and employee flows: employees
// (token in a cookie) follow the online count and a conversation; a
// customer (token in the Authorization header) joins it, types, and
// leaves; the backend publishes a message over REST; a customer may not
// follow a conversation its token does not list.
func TestChatFlow(t *testing.T) {
	gw := exampletest.Start(t, "gateway.yaml", exampletest.Options{Env: []string{"MEDICINFO_JWT_SECRET=" + secret}})
	const conv = "28ccd489-f588-4d35-99a9-1e74ec2475b2"
	topic := "/v1/topic/conversation/" + conv

	employee := connect(t, gw, http.Header{"Cookie": {"token=" + token(t, map[string]any{"sub": "emp-1", "role": "employee"})}})
	online := subscribe(t, employee, "/v1/topic/online-employees")
	subscribe(t, employee, "/v1/topic/heartbeat")
	chat := subscribe(t, employee, topic)

	// A second employee comes online: the count changes.
	other := connect(t, gw, http.Header{"Cookie": {"token=" + token(t, map[string]any{"sub": "emp-2", "role": "employee"})}})
	expectOnline(t, online, 2)

	// The customer follows its conversation: the employee is told.
	customer := connect(t, gw, http.Header{"Authorization": {"Bearer " + token(t, map[string]any{
		"sub": "cust-1", "role": "customer", "conversations": []string{conv}})}})
	mine := subscribe(t, customer, topic)
	expectUser(t, chat, "userConnected", "cust-1")

	// Typing, as the customer's app sends it: an empty SEND.
	for _, what := range []string{"start", "stop"} {
		if err := customer.Send("/v1/app/conversation/"+conv+"/typing/"+what, "text/plain", nil, gostomp.SendOpt.Receipt); err != nil {
			t.Fatal(err)
		}
		expectUser(t, chat, what+"Typing", "cust-1")
	}

	// The backend's new message, published over the admin REST API.
	msg := map[string]any{"message": map[string]any{"userId": "cust-1", "userName": "c1", "userRole": "customer",
		"id": "385444d4-e1aa-4edc-a082-17507c781238", "created": "2021-07-26T12:05:22Z", "message": "Hello"}}
	status, body := gw.Call(t, http.MethodPost, "/api/v1/websocket/groups/"+url.PathEscape(topic)+"/send", map[string]any{"message": msg})
	if status != http.StatusAccepted {
		t.Fatalf("REST publish: %d %s", status, body)
	}
	for _, s := range []*gostomp.Subscription{chat, mine} {
		if ev := event(t, s); ev["message"].(map[string]any)["message"] != "Hello" {
			t.Fatalf("%s: got %v, want the message", s.Destination(), ev)
		}
	}

	// A conversation the customer's token does not list: ERROR, closed.
	intruder := connect(t, gw, http.Header{"Authorization": {"Bearer " + token(t, map[string]any{"sub": "cust-2", "role": "customer"})}})
	s, err := intruder.Subscribe(topic, gostomp.AckAuto)
	if err != nil {
		t.Fatal(err)
	}
	if m := <-s.C; m == nil || m.Err == nil || !strings.Contains(m.Err.Error(), "refused") {
		t.Fatalf("a customer following another's conversation: %+v, want an ERROR", m)
	}

	// The customer leaves: userDisconnected; an employee leaves: the count.
	if err := customer.Disconnect(); err != nil && !strings.Contains(err.Error(), "closed network connection") {
		t.Fatal(err)
	}
	expectUser(t, chat, "userDisconnected", "cust-1")
	if err := other.Disconnect(); err != nil && !strings.Contains(err.Error(), "closed network connection") {
		t.Fatal(err)
	}
	expectOnline(t, online, 1)

	// No token: an ERROR saying so, and the close 4001, before any STOMP.
	ctx, cancel := context.WithTimeout(context.Background(), gwtest.WaitFor)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, gw.URL("/api/v1/chat"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	_, frame, err := ws.Read(ctx)
	if err != nil || !strings.HasPrefix(string(frame), "ERROR\n") {
		t.Fatalf("without a token: %q, %v; want an ERROR frame", frame, err)
	}
	if _, _, err := ws.Read(ctx); websocket.CloseStatus(err) != 4001 {
		t.Fatalf("without a token: %v, want the close 4001", err)
	}
}
