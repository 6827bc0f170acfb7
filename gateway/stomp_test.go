package gateway_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	gostomp "github.com/go-stomp/stomp/v3"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/handlers"
	"github.com/wsgw/wsgw/internal/gwtest"
	"github.com/wsgw/wsgw/stomp"
)

// stompScript is a STOMP endpoint's script for these tests: it logs the
// CONNECT it saw, refuses subscriptions to /forbidden, and answers a SEND
// to its own destination (JSON for /json) with an extra header.
const stompScript = `
switch (websocketInfo.type) {
case "open":
  console.log("open " + JSON.stringify(websocketInfo.stomp));
  if (websocketInfo.stomp.headers.login === "intruder") throw new Error("go away");
  if (websocketInfo.stomp.headers.login === "closer") websocketInfo.close(4001, "not you");
  break;
case "subscribe":
  console.log("subscribe " + websocketInfo.destination + " " + websocketInfo.stomp.headers.id);
  return websocketInfo.destination !== "/forbidden";
case "unsubscribe":
  console.log("unsubscribe " + websocketInfo.destination);
  break;
case "data":
  if (websocketInfo.destination === "/relay") { // the body is another socket's ID
    var r = Websocket.send({socket_id: websocketInfo.message, message: {from: websocketInfo.socket_id}, destination: "/inbox", headers: {"x-relay": "1"}});
    if (r !== null) throw new Error(JSON.stringify(r));
    break;
  }
  if (websocketInfo.destination.indexOf("/topic/") === 0) { // a conversation: to every subscriber
    var p = Websocket.publish({group: websocketInfo.destination, message: websocketInfo.message});
    if (p !== null) throw new Error(JSON.stringify(p));
    break;
  }
  var body = websocketInfo.destination === "/json" ? {echo: websocketInfo.message} : websocketInfo.message;
  websocketInfo.send(body, {destination: websocketInfo.destination, headers: {"x-from": "script"}});
  break;
}`

func stompHarness(t *testing.T, heartbeat string, limits gateway.Limits) *gwtest.Harness {
	t.Helper()
	proto := wsgw.ProtocolSTOMP
	return gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/stomp": stompScript,
			"/plain": `if (websocketInfo.type === "open") { websocketInfo.join(websocketInfo.parameters.group); return "joined"; }`},
		Endpoints: map[string]wsgw.Options{"/stomp": {Protocol: &proto, STOMP: &wsgw.STOMPOptions{Heartbeat: heartbeat}}},
		Limits:    limits,
	})
}

// dialSTOMP connects go-stomp to path over a WebSocket (v12.stomp), each
// frame one WebSocket message as browsers' clients send them.
func dialSTOMP(t *testing.T, h *gwtest.Harness, path string, opts ...func(*gostomp.Conn) error) (*gostomp.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), gwtest.WaitFor)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, h.URL(path), &websocket.DialOptions{Subprotocols: []string{"v12.stomp", "v11.stomp"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if p := resp.Header.Get("Sec-WebSocket-Protocol"); p != "v12.stomp" {
		t.Fatalf("subprotocol %q, want v12.stomp (offered by default on a STOMP endpoint)", p)
	}
	nc := websocket.NetConn(context.Background(), ws, websocket.MessageText)
	t.Cleanup(func() { _ = nc.Close() })
	return gostomp.Connect(nc, opts...)
}

func mustSTOMP(t *testing.T, h *gwtest.Harness, opts ...func(*gostomp.Conn) error) *gostomp.Conn {
	t.Helper()
	c, err := dialSTOMP(t, h, "/stomp", opts...)
	if err != nil {
		t.Fatalf("STOMP connect: %v", err)
	}
	return c
}

func receive(t *testing.T, sub *gostomp.Subscription) *gostomp.Message {
	t.Helper()
	select {
	case m, ok := <-sub.C:
		if !ok {
			t.Fatal("the subscription ended")
		}
		if m.Err != nil {
			t.Fatalf("subscription error: %v", m.Err)
		}
		return m
	case <-time.After(gwtest.WaitFor):
		t.Fatal("no MESSAGE")
	}
	return nil
}

// TestSTOMPConnectAndEcho: go-stomp connects (the open event sees the
// CONNECT), subscribes, and SENDs with receipts; the script's answer comes
// back as a MESSAGE of that subscription with the STOMP headers.
func TestSTOMPConnectAndEcho(t *testing.T) {
	h := stompHarness(t, "0,0", gateway.Limits{})
	c := mustSTOMP(t, h, gostomp.ConnOpt.Login("ann", "pw"), gostomp.ConnOpt.Header("x-app", "web"),
		gostomp.ConnOpt.UnsubscribeReceiptTimeout(time.Second))
	if c.Version() != gostomp.V12 || c.Server() != "wsgw" || len(c.Session()) != 22 {
		t.Fatalf("CONNECTED: version %v server %q session %q", c.Version(), c.Server(), c.Session())
	}
	line := h.Logs.Wait(t, "open event", func(r map[string]any) bool {
		m, _ := r["msg"].(string)
		return strings.HasPrefix(m, "open ") && r["socket_id"] == c.Session()
	})
	for _, want := range []string{`"command":"CONNECT"`, `"login":"ann"`, `"x-app":"web"`, `"accept-version":"1.0,1.1,1.2"`} {
		if !strings.Contains(line["msg"].(string), want) {
			t.Fatalf("open event saw %s, want %s in it", line["msg"], want)
		}
	}

	sub, err := c.Subscribe("/echo", gostomp.AckAuto, gostomp.SubscribeOpt.Id("s1"))
	if err != nil {
		t.Fatal(err)
	}
	jsub, err := c.Subscribe("/json", gostomp.AckClient)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send("/echo", "text/plain", []byte("hello\x00world"), gostomp.SendOpt.Receipt); err != nil {
		t.Fatalf("SEND with receipt: %v", err)
	}
	m := receive(t, sub)
	if string(m.Body) != "hello\x00world" || m.ContentType != "text/plain" || m.Destination != "/echo" ||
		m.Header.Get("subscription") != "s1" || m.Header.Get("x-from") != "script" || m.Header.Get("message-id") == "" {
		t.Fatalf("MESSAGE %q %s, headers %v", m.Body, m.ContentType, m.Header)
	}
	if err := c.Send("/json", "text/plain", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	jm := receive(t, jsub)
	if string(jm.Body) != `{"echo":"hi"}` || jm.ContentType != "application/json" {
		t.Fatalf("JSON MESSAGE %q %s", jm.Body, jm.ContentType)
	}
	if err := c.Ack(jm); err != nil {
		t.Fatalf("ACK: %v", err)
	}
	unsubscribe(t, sub)
	h.Logs.Wait(t, "unsubscribe event", gwtest.ScriptLine(c.Session(), "unsubscribe", "unsubscribe /echo"))
	disconnect(t, c)
	if code := h.ClosedLine(c.Session())["code"]; code != int64(1000) {
		t.Fatalf("closed with %v after DISCONNECT, want 1000", code)
	}
}

// TestSTOMPRefusedSubscription: a SUBSCRIBE the script refuses (returns
// false) gets an ERROR, then the connection is closed with 1008.
func TestSTOMPRefusedSubscription(t *testing.T) {
	h := stompHarness(t, "0,0", gateway.Limits{})
	c := mustSTOMP(t, h)
	sub, err := c.Subscribe("/forbidden", gostomp.AckAuto)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-sub.C:
		if m == nil || m.Err == nil || !strings.Contains(m.Err.Error(), "refused") {
			t.Fatalf("got %+v, want the ERROR of a refused subscription", m)
		}
	case <-time.After(gwtest.WaitFor):
		t.Fatal("no ERROR for a refused SUBSCRIBE")
	}
	if code := h.ClosedLine(c.Session())["code"]; code != int64(1008) {
		t.Fatalf("closed with %v, want 1008", code)
	}
}

// TestSTOMPOpenRefused: an open event that throws, or closes, answers
// CONNECT with an ERROR instead of CONNECTED.
func TestSTOMPOpenRefused(t *testing.T) {
	h := stompHarness(t, "0,0", gateway.Limits{})
	for login, want := range map[string]string{"intruder": "refused", "closer": "not you"} {
		_, err := dialSTOMP(t, h, "/stomp", gostomp.ConnOpt.Login(login, ""))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("login %s: connect error %v, want an ERROR saying %q", login, err, want)
		}
	}
}

// TestSTOMPHeartBeatsKept: with 100ms heart-beats both ways, a go-stomp
// client stays connected for many intervals (it would give up without the
// gateway's heart-beats, and the gateway would close it without the
// client's), then still gets its receipts.
func TestSTOMPHeartBeatsKept(t *testing.T) {
	h := stompHarness(t, "100ms,100ms", gateway.Limits{})
	c := mustSTOMP(t, h, gostomp.ConnOpt.HeartBeat(100*time.Millisecond, 100*time.Millisecond),
		gostomp.ConnOpt.HeartBeatError(150*time.Millisecond))
	sub, err := c.Subscribe("/echo", gostomp.AckAuto)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(1500 * time.Millisecond) // 15 intervals: the behaviour under test is time passing
	for i := 0; time.Now().Before(deadline); i++ {
		time.Sleep(250 * time.Millisecond)
		if err := c.Send("/echo", "text/plain", []byte("beat"), gostomp.SendOpt.Receipt); err != nil {
			t.Fatalf("after %d intervals: %v", (i+1)*5/2, err)
		}
		receive(t, sub)
	}
	if n := h.Logs.Count(func(r map[string]any) bool { return r["msg"] == "connection closed" }); n != 0 {
		t.Fatal("a connection closed while both sides kept their heart-beats")
	}
	disconnect(t, c)
}

// TestSTOMPMissedHeartBeat: a client that promised heart-beats every 100ms
// and then says nothing gets an ERROR and is closed (1001) once it has
// been silent for twice that; the gateway's own heart-beats (EOLs, every
// 20ms) come before.
func TestSTOMPMissedHeartBeat(t *testing.T) {
	h := stompHarness(t, "20ms,100ms", gateway.Limits{})
	c := h.Dial("/stomp", nil)
	start := time.Now() // the gateway hears the client last no earlier than this
	c.Send("CONNECT\naccept-version:1.2\nheart-beat:100,20\n\n\x00")
	if got := c.ReadText(); !strings.HasPrefix(got, "CONNECTED\n") || !strings.Contains(got, "heart-beat:20,100\n") {
		t.Fatalf("answer %q, want CONNECTED with the endpoint's heart-beat pair", got)
	}
	beats := 0
	for {
		got := c.ReadText()
		if got == "\n" {
			beats++
			continue
		}
		if !strings.HasPrefix(got, "ERROR\n") || !strings.Contains(got, "message:STOMP heart-beat timeout") {
			t.Fatalf("frame %q, want heart-beats then an ERROR", got)
		}
		break
	}
	// The gateway measures silence on the wall clock (lastSeen), the test on
	// the monotonic one: a few ms of slack between the two.
	if silent := time.Since(start); silent < 190*time.Millisecond {
		t.Fatalf("closed after %v of silence, before twice the agreed 100ms", silent)
	}
	if beats == 0 {
		t.Fatal("the gateway sent no heart-beat before closing")
	}
	if code, _ := c.ExpectClose(); code != 1001 {
		t.Fatalf("close code %d, want 1001", code)
	}
}

// TestSTOMPTransactions: SENDs in a transaction run their data events at
// COMMIT, in order, and never after ABORT.
func TestSTOMPTransactions(t *testing.T) {
	h := stompHarness(t, "0,0", gateway.Limits{})
	c := mustSTOMP(t, h)
	sub, err := c.Subscribe("/echo", gostomp.AckAuto)
	if err != nil {
		t.Fatal(err)
	}
	aborted := c.Begin()
	if err := aborted.Send("/echo", "text/plain", []byte("never")); err != nil {
		t.Fatal(err)
	}
	if err := aborted.Abort(); err != nil {
		t.Fatal(err)
	}
	tx := c.Begin()
	for _, b := range []string{"one", "two"} {
		if err := tx.Send("/echo", "text/plain", []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Send("/echo", "text/plain", []byte("outside"), gostomp.SendOpt.Receipt); err != nil {
		t.Fatal(err)
	}
	if got := string(receive(t, sub).Body); got != "outside" {
		t.Fatalf("first MESSAGE %q, want the SEND outside the transactions", got)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"one", "two"} {
		if got := string(receive(t, sub).Body); got != want {
			t.Fatalf("after COMMIT got %q, want %q", got, want)
		}
	}
	disconnect(t, c)
}

// TestSTOMPBadFrames: a frame before CONNECT, a malformed frame, or a frame
// missing a required header gets an ERROR whose message says why, then a
// 1002 close; the gateway serves the next client.
func TestSTOMPBadFrames(t *testing.T) {
	h := stompHarness(t, "0,0", gateway.Limits{})
	for _, tc := range []struct {
		name, send, want string
	}{
		{"SEND before CONNECT", "SEND\ndestination:/a\n\nx\x00", "must be CONNECT or STOMP"},
		{"garbage", "HELLO\n\n\x00", "unknown command"},
		{"no NUL", "CONNECT\naccept-version:1.2\n\n", "incomplete"},
		{"SUBSCRIBE without destination", "CONNECT\naccept-version:1.2\n\n\x00SUBSCRIBE\nid:0\nreceipt:r9\n\n\x00", "no destination header"},
		{"bad content-length", "CONNECT\naccept-version:1.2\n\n\x00SEND\ndestination:/a\ncontent-length:x\n\n\x00", "content-length"},
		{"unsupported version", "CONNECT\naccept-version:2.0\n\n\x00", "unsupported version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := h.Dial("/stomp", nil)
			c.Send(tc.send)
			got := c.ReadText()
			if strings.HasPrefix(got, "CONNECTED\n") {
				got = c.ReadText()
			}
			f := decodeOne(t, got)
			if f.Command != stomp.CmdError || !strings.Contains(f.Get("message"), tc.want) {
				t.Fatalf("answer %q, want an ERROR whose message says %q", got, tc.want)
			}
			if strings.Contains(tc.send, "receipt:r9") && f.Get("receipt-id") != "r9" {
				t.Fatalf("ERROR %q lacks the failed frame's receipt-id", got)
			}
			if code, _ := c.ExpectClose(); code != 1002 {
				t.Fatalf("close code %d, want 1002", code)
			}
		})
	}
	disconnect(t, mustSTOMP(t, h))
}

// TestSTOMPRateLimitCountsSendOnly: with one message a second, a CONNECT
// and several SUBSCRIBEs all go through; of three SENDs, two are dropped
// and counted.
func TestSTOMPRateLimitCountsSendOnly(t *testing.T) {
	h := stompHarness(t, "0,0", gateway.Limits{MessagesPerSecond: 0.001, Burst: 1})
	c := mustSTOMP(t, h)
	var subs []*gostomp.Subscription
	for _, d := range []string{"/echo", "/a", "/b", "/c"} {
		s, err := c.Subscribe(d, gostomp.AckAuto)
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	for _, b := range []string{"1", "2", "3"} {
		if err := c.Send("/echo", "text/plain", []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	if got := string(receive(t, subs[0]).Body); got != "1" {
		t.Fatalf("got %q, want the first SEND", got)
	}
	gwtest.Eventually(t, "two SENDs dropped", func() bool {
		s, err := h.Service.Info(context.Background(), c.Session())
		return err == nil && s.MessagesDropped == 2
	})
	h.Logs.WaitCount(t, "subscribe events", 4, func(r map[string]any) bool {
		m, _ := r["msg"].(string)
		return strings.HasPrefix(m, "subscribe ") && r["socket_id"] == c.Session()
	})
}

// TestSTOMPSendWithoutSubscription: a message for a destination the socket
// has no subscription to (or for no destination) is dropped and counted.
func TestSTOMPSendWithoutSubscription(t *testing.T) {
	h := stompHarness(t, "0,0", gateway.Limits{})
	c := mustSTOMP(t, h)
	if err := c.Send("/nobody", "text/plain", []byte("x"), gostomp.SendOpt.Receipt); err != nil {
		t.Fatal(err)
	}
	if err := h.Service.Send(context.Background(), c.Session(), &wsgw.Message{Data: []byte("plain")}); err != nil {
		t.Fatal(err)
	}
	s, err := h.Service.Info(context.Background(), c.Session())
	if err != nil || s.MessagesDropped != 2 {
		t.Fatalf("info %+v, %v; want 2 messages dropped", s, err)
	}
}

// unsubscribe sends UNSUBSCRIBE and waits for its RECEIPT, on which
// go-stomp closes sub.C. go-stomp's own wait (waitWithTimeout) can miss the
// wake-up of a RECEIPT that comes back before its waiting goroutine has
// started, and then waits out its whole timeout: so the connection is made
// with a short one, and the test waits for the channel to close instead.
func unsubscribe(t *testing.T, sub *gostomp.Subscription) {
	t.Helper()
	if err := sub.Unsubscribe(); err != nil && !errors.Is(err, &gostomp.ErrUnsubscribeReceiptTimeout) {
		t.Fatalf("UNSUBSCRIBE: %v", err)
	}
	deadline := time.After(gwtest.WaitFor)
	for {
		select {
		case m, ok := <-sub.C:
			if !ok {
				return
			}
			if m.Err != nil && !strings.Contains(m.Err.Error(), "receipt timeout") {
				t.Fatalf("UNSUBSCRIBE: %v", m.Err)
			}
		case <-deadline:
			t.Fatal("no RECEIPT for the UNSUBSCRIBE")
		}
	}
}

// disconnect sends DISCONNECT and waits for its RECEIPT. go-stomp then
// closes the connection the gateway has closed already, which it reports.
func disconnect(t *testing.T, c *gostomp.Conn) {
	t.Helper()
	if err := c.Disconnect(); err != nil && !strings.Contains(err.Error(), "closed network connection") {
		t.Fatalf("DISCONNECT with receipt: %v", err)
	}
}

// TestSTOMPSendToDestination: Websocket.send from another connection's
// script, the socket service and REST send reach a STOMP socket's
// subscriptions of the destination they name, with their headers and
// content type.
func TestSTOMPSendToDestination(t *testing.T) {
	h := stompHarness(t, "0,0", gateway.Limits{})
	a, b := mustSTOMP(t, h), mustSTOMP(t, h)
	inbox, err := b.Subscribe("/inbox", gostomp.AckAuto)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Send("/echo", "text/plain", []byte("sync"), gostomp.SendOpt.Receipt); err != nil {
		t.Fatal(err) // the SUBSCRIBE before it is processed
	}
	if err := a.Send("/relay", "text/plain", []byte(b.Session()), gostomp.SendOpt.Receipt); err != nil {
		t.Fatal(err)
	}
	m := receive(t, inbox)
	if string(m.Body) != `{"from":"`+a.Session()+`"}` || m.ContentType != "application/json" || m.Header.Get("x-relay") != "1" {
		t.Fatalf("relayed MESSAGE %q %s %v", m.Body, m.ContentType, m.Header)
	}

	admin := httptest.NewServer(handlers.Admin(handlers.AdminOptions{Service: h.Service, Health: h.GW.Health}))
	defer admin.Close()
	resp, err := http.Post(admin.URL+"/api/v1/websocket/sockets/"+b.Session()+"/send", "application/json",
		strings.NewReader(`{"message": "from REST", "destination": "/inbox", "headers": {"x-src": "rest"}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("REST send: %d", resp.StatusCode)
	}
	m = receive(t, inbox)
	if string(m.Body) != "from REST" || m.ContentType != "text/plain" || m.Header.Get("x-src") != "rest" || m.Destination != "/inbox" {
		t.Fatalf("REST MESSAGE %q %s %v", m.Body, m.ContentType, m.Header)
	}
	resp, err = http.Post(admin.URL+"/api/v1/websocket/sockets/send", "application/json",
		strings.NewReader(`[{"socket_id": "`+b.Session()+`", "message": {"n": 1}, "destination": "/inbox", "headers": {"x-src": "batch"}}]`))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(answer)) != "[null]" {
		t.Fatalf("REST batch send: %d %s", resp.StatusCode, answer)
	}
	m = receive(t, inbox)
	if string(m.Body) != `{"n":1}` || m.ContentType != "application/json" || m.Header.Get("x-src") != "batch" || m.Destination != "/inbox" {
		t.Fatalf("REST batch MESSAGE %q %s %v", m.Body, m.ContentType, m.Header)
	}
	disconnect(t, a)
	disconnect(t, b)
}

// TestSTOMPConversation: two go-stomp clients subscribe to one topic; what
// each SENDs, the script publishes to the topic's group, and both get it
// as a MESSAGE of their own subscription, in order; a plain WebSocket
// member of the group gets the plain message. UNSUBSCRIBE leaves the group.
func TestSTOMPConversation(t *testing.T) {
	h := stompHarness(t, "0,0", gateway.Limits{})
	ann, bob := mustSTOMP(t, h), mustSTOMP(t, h)
	annSub, err := ann.Subscribe("/topic/chat", gostomp.AckAuto, gostomp.SubscribeOpt.Id("a-1"))
	if err != nil {
		t.Fatal(err)
	}
	bobSub, err := bob.Subscribe("/topic/chat", gostomp.AckClientIndividual, gostomp.SubscribeOpt.Id("b-1"))
	if err != nil {
		t.Fatal(err)
	}
	plain := h.Dial("/plain?group=/topic/chat", nil)
	if got := plain.ReadText(); got != "joined" {
		t.Fatalf("plain member: %q", got)
	}
	// A receipt after each SUBSCRIBE: the subscriptions are in place.
	for _, c := range []*gostomp.Conn{ann, bob} {
		if err := c.Send("/echo", "text/plain", []byte("sync"), gostomp.SendOpt.Receipt); err != nil {
			t.Fatal(err)
		}
	}
	members, _, err := h.Service.ListGroup(context.Background(), "/topic/chat", "", 0)
	if err != nil || len(members) != 3 {
		t.Fatalf("members of /topic/chat: %v, %v; want the two STOMP sockets and the plain one", members, err)
	}
	lines := []struct {
		from *gostomp.Conn
		text string
	}{{ann, "hi bob"}, {bob, "hi ann"}, {ann, "bye"}}
	for _, l := range lines { // each after the last was published (its receipt): one order for all
		if err := l.from.Send("/topic/chat", "text/plain", []byte(l.text), gostomp.SendOpt.Receipt); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range lines {
		a, b := receive(t, annSub), receive(t, bobSub)
		if string(a.Body) != l.text || string(b.Body) != l.text {
			t.Fatalf("ann got %q, bob %q; want %q", a.Body, b.Body, l.text)
		}
		if a.Header.Get("subscription") != "a-1" || b.Header.Get("subscription") != "b-1" || a.Destination != "/topic/chat" {
			t.Fatalf("headers: ann %v, bob %v", a.Header, b.Header)
		}
		if err := bob.Ack(b); err != nil {
			t.Fatalf("ACK of a client-individual MESSAGE: %v", err)
		}
		if got := plain.ReadText(); got != l.text {
			t.Fatalf("plain member got %q, want %q", got, l.text)
		}
	}
	disconnect(t, ann)
	disconnect(t, bob)
}

// TestSTOMPUnsubscribeLeavesTheGroup: the socket is in a destination's
// group while it has a subscription to it, two subscriptions make one
// membership, and the last UNSUBSCRIBE leaves it.
func TestSTOMPUnsubscribeLeavesTheGroup(t *testing.T) {
	h := stompHarness(t, "0,0", gateway.Limits{})
	c := h.Dial("/stomp", nil)
	c.Send("CONNECT\naccept-version:1.2\n\n\x00")
	connected := decodeOne(t, c.ReadText())
	id := connected.Get("session")
	member := func() bool {
		ids, _, err := h.Service.ListGroup(context.Background(), "/topic/x", "", 0)
		return err == nil && slices.Contains(ids, id)
	}
	for _, tc := range []struct {
		frame, receipt string
		member         bool
	}{
		{"SUBSCRIBE\nid:0\ndestination:/topic/x\nreceipt:r1\n\n\x00", "r1", true},
		{"SUBSCRIBE\nid:1\ndestination:/topic/x\nreceipt:r2\n\n\x00", "r2", true},
		{"UNSUBSCRIBE\nid:0\nreceipt:r3\n\n\x00", "r3", true},
		{"UNSUBSCRIBE\nid:1\nreceipt:r4\n\n\x00", "r4", false},
	} {
		c.Send(tc.frame)
		if f := decodeOne(t, c.ReadText()); f.Command != stomp.CmdReceipt || f.Get("receipt-id") != tc.receipt {
			t.Fatalf("after %q: %+v, want RECEIPT %s", tc.frame, f, tc.receipt)
		}
		if member() != tc.member {
			t.Fatalf("after %q: member %v, want %v", tc.frame, !tc.member, tc.member)
		}
	}
	h.Logs.WaitCount(t, "unsubscribe events", 2, gwtest.ScriptLine(id, "unsubscribe", "unsubscribe /topic/x"))
}

// TestSTOMPPublishWithoutSubscription: a STOMP socket in a group without a
// SUBSCRIBE to it (the script joined it) gets nothing of a publish to it,
// and the message is counted as dropped; a broadcast is dropped too.
func TestSTOMPPublishWithoutSubscription(t *testing.T) {
	h := stompHarness(t, "0,0", gateway.Limits{})
	c := mustSTOMP(t, h)
	if err := h.Service.Join(context.Background(), c.Session(), "/topic/joined"); err != nil {
		t.Fatal(err)
	}
	if err := h.Service.Publish(context.Background(), "/topic/joined", &wsgw.Message{Data: []byte("x")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := h.Service.Broadcast(context.Background(), &wsgw.Message{Data: []byte("y")}, nil); err != nil {
		t.Fatal(err)
	}
	s, err := h.Service.Info(context.Background(), c.Session())
	if err != nil || s.MessagesDropped != 2 {
		t.Fatalf("info %+v, %v; want 2 messages dropped", s, err)
	}
}

func decodeOne(t *testing.T, msg string) stomp.Frame {
	t.Helper()
	var d stomp.Decoder
	for f, err := range d.Frames([]byte(msg)) {
		if err != nil {
			t.Fatalf("%q: %v", msg, err)
		}
		return f
	}
	t.Fatalf("no frame in %q", msg)
	return stomp.Frame{}
}
