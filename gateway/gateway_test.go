package gateway_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/internal/gwtest"
)

const echoScript = `
if (websocketInfo.type === "open") { websocketInfo.send("Welcome") }
else if (websocketInfo.type === "data") { websocketInfo.send(websocketInfo.message, websocketInfo.message_type) }`

// idScript tells the client its socket_id and logs its close event.
const idScript = `
if (websocketInfo.type === "open") return websocketInfo.socket_id;
if (websocketInfo.type === "close") console.log("closed", websocketInfo.close_code, websocketInfo.close_reason);
if (websocketInfo.type === "data") return websocketInfo.message;`

func TestRouting(t *testing.T) {
	route := `if (websocketInfo.type === "open") return websocketInfo.route + " " + JSON.stringify(websocketInfo.parameters)`
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{
		"/":                   route,
		"/echo":               route,
		"/chat/{room}":        route,
		"/chat/lobby":         route,
		"/a/{x}/c":            route,
		"/a/b/{y}":            route,
		"/files/{dir}/{name}": route,
	}})
	tests := []struct {
		path string
		want string // route and parameters, or the HTTP status of a refusal
	}{
		{"/", `/ {}`},
		{"/echo", `/echo {}`},
		{"/chat/lobby", `/chat/lobby {}`},
		{"/chat/kitchen", `/chat/{room} {"room":"kitchen"}`},
		{"/chat/a%2Fb", `/chat/{room} {"room":"a/b"}`},
		{"/chat/k?room=q&x=1", `/chat/{room} {"room":"k","x":"1"}`},
		{"/a/b/c", `/a/b/{y} {"y":"c"}`}, // literal b beats {x} at the second segment
		{"/a/z/c", `/a/{x}/c {"x":"z"}`},
		{"/files/d/f", `/files/{dir}/{name} {"dir":"d","name":"f"}`},
		{"/chat/", "404"},
		{"/chat", "404"},
		{"/chat/a/b", "404"},
		{"/echo/", "404"},
		{"/nowhere", "404"},
		{"/a/b", "404"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			c, resp, err := h.TryDial(tc.path, nil)
			if err != nil {
				if resp == nil || fmt.Sprint(resp.StatusCode) != tc.want {
					t.Fatalf("dial %s: %v, want %s", tc.path, err, tc.want)
				}
				return
			}
			got := c.ReadText()
			gotRoute, gotParams, _ := strings.Cut(got, " ")
			wantRoute, wantParams, _ := strings.Cut(tc.want, " ")
			var gp, wp map[string]string
			_ = json.Unmarshal([]byte(gotParams), &gp)
			_ = json.Unmarshal([]byte(wantParams), &wp)
			if gotRoute != wantRoute || fmt.Sprint(gp) != fmt.Sprint(wp) {
				t.Fatalf("%s matched %q, want %q", tc.path, got, tc.want)
			}
		})
	}
}

func TestPlainGetAndErrorsBeforeUpgrade(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{"/echo": echoScript}})
	tests := []struct {
		path   string
		status int
		typ    string
	}{
		{"/echo", http.StatusUpgradeRequired, "upgrade_required"},
		{"/missing", http.StatusNotFound, "not_found"},
	}
	for _, tc := range tests {
		resp, err := http.Get(h.Srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Type   string `json:"type"`
			Error  string `json:"error"`
			Status int    `json:"status"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || body.Type != tc.typ || body.Status != tc.status || body.Error == "" {
			t.Errorf("GET %s = %d %+v, want %d with type %s", tc.path, resp.StatusCode, body, tc.status, tc.typ)
		}
	}
}

func TestAllowedOrigins(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/o": echoScript},
		Origins: map[string][]string{"/o": {`^https://app\.example\.com$`}},
	})
	for origin, ok := range map[string]bool{
		"https://app.example.com":      true,
		"https://app.example.com.evil": false,
		"https://evil.com":             false,
		"":                             true, // not a browser: auth's job, not the origin check's
	} {
		hdr := http.Header{}
		if origin != "" {
			hdr.Set("Origin", origin)
		}
		c, resp, err := h.TryDial("/o", hdr)
		switch {
		case ok && err != nil:
			t.Errorf("origin %q refused: %v", origin, err)
		case !ok && (err == nil || resp.StatusCode != http.StatusForbidden):
			t.Errorf("origin %q: err %v, want HTTP 403", origin, err)
		case ok:
			c.ReadText()
		}
	}
}

// TestOriginPatternsMatchTheWholeOrigin: every allowed_origins pattern is
// matched as ^(?:pattern)$, whatever anchors it has of its own, so that no
// alternation or missing $ lets in an origin that merely starts or ends like
// an allowed one.
func TestOriginPatternsMatchTheWholeOrigin(t *testing.T) {
	tests := []struct {
		patterns []string
		origin   string
		ok       bool
	}{
		// The bypass reported: ^a|b wrapped as ^a|b$ let in a longer origin.
		{[]string{`^https://good\.com|https://other\.com`}, "https://good.com.evil.net", false},
		{[]string{`^https://good\.com|https://other\.com`}, "https://good.com", true},
		{[]string{`^https://good\.com|https://other\.com`}, "https://other.com", true},
		{[]string{`^https://good\.com|https://other\.com`}, "https://evil.net.https://other.com", false},
		{[]string{`https://good\.com|https://other\.com$`}, "https://other.com.evil.net", false},
		{[]string{`https://good\.com|https://other\.com$`}, "https://good.com.evil.net", false},
		{[]string{`https://good\.com|https://other\.com$`}, "https://evil.nethttps://good.com", false},
		{[]string{`https://app\.example\.com`}, "https://app.example.com", true},
		{[]string{`https://app\.example\.com`}, "https://app.example.com.evil", false},
		{[]string{`https://app\.example\.com`}, "http://https://app.example.com", false},
		{[]string{`^https://app\.example\.com$`}, "https://app.example.com", true},
		{[]string{`^https://app\.example\.com$`}, "https://app.example.com:8443", false},
		{[]string{`https://[a-z]+\.example\.com`}, "https://a.example.com", true},
		{[]string{`https://[a-z]+\.example\.com`}, "https://a.example.com.evil.net", false},
		{[]string{`(?i)https://APP\.example\.com`}, "https://app.EXAMPLE.com", true},
		{[]string{`(?i)https://APP\.example\.com`}, "https://app.example.com.evil", false},
		{[]string{`https://a\.example`, `https://b\.example`}, "https://b.example", true},
		{[]string{`https://a\.example`, `https://b\.example`}, "https://b.example.evil", false},
		{[]string{`.*\.example\.com`}, "https://x.example.com", true},
		{[]string{`.*\.example\.com`}, "https://x.example.com.evil.net", false},
	}
	for _, tc := range tests {
		h := gwtest.New(t, gwtest.Options{
			Scripts: map[string]string{"/o": echoScript},
			Origins: map[string][]string{"/o": tc.patterns},
		})
		c, resp, err := h.TryDial("/o", http.Header{"Origin": {tc.origin}})
		switch {
		case tc.ok && err != nil:
			t.Errorf("patterns %q refused origin %q: %v", tc.patterns, tc.origin, err)
		case !tc.ok && (err == nil || resp.StatusCode != http.StatusForbidden):
			t.Errorf("patterns %q let in origin %q (err %v), want HTTP 403", tc.patterns, tc.origin, err)
		case tc.ok:
			c.ReadText()
		}
	}
}

func TestWebsocketInfoEveryField(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{
		"/info/{name}": `if (websocketInfo.type !== "close") return websocketInfo;`,
	}})
	hdr := http.Header{}
	hdr.Add("X-Custom", "a")
	hdr.Add("X-Custom", "b")
	before := time.Now().UnixMilli()
	c := h.Dial("/info/bob?x=1&name=query", hdr)
	var open map[string]any
	c.ReadJSON(&open)
	host := strings.TrimPrefix(h.Srv.URL, "http://")
	want := map[string]any{
		"uri":        "ws://" + host + "/info/bob?x=1&name=query",
		"type":       "open",
		"route":      "/info/{name}",
		"message":    "",
		"parameters": map[string]any{"name": "bob", "x": "1"}, // the path wins over the query
		"auth":       nil,
	}
	for k, v := range want {
		if fmt.Sprint(open[k]) != fmt.Sprint(v) {
			t.Errorf("open websocketInfo.%s = %v, want %v", k, open[k], v)
		}
	}
	headers, _ := open["headers"].(map[string]any)
	if headers["x-custom"] != "a, b" || headers["host"] != host || headers["upgrade"] != "websocket" {
		t.Errorf("headers = %v: want lower-case names, repeated values joined", headers)
	}
	id, _ := open["socket_id"].(string)
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`).MatchString(id) {
		t.Errorf("socket_id %q is not 128 URL-safe random bits", id)
	}
	if ts, _ := open["timestamp"].(float64); int64(ts) < before || int64(ts) > time.Now().UnixMilli() {
		t.Errorf("timestamp %v is not the time of the event", open["timestamp"])
	}
	if _, ok := open["message_type"]; ok {
		t.Error("message_type is set in an open event")
	}

	c.Send("héllo")
	var data map[string]any
	c.ReadJSON(&data)
	if data["type"] != "data" || data["message"] != "héllo" || data["message_type"] != "data-text" || data["socket_id"] != id {
		t.Errorf("text data event = %v", data)
	}
	c.Write(websocket.MessageBinary, []byte{0, 1, 2, 255})
	c.ReadJSON(&data)
	if data["message"] != "AAEC/w==" || data["message_type"] != "data-binary" {
		t.Errorf("binary data event = %v", data)
	}
}

func TestTextAndBinaryBothWays(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{"/echo": echoScript}})
	c := h.Dial("/echo", nil)
	if got := c.ReadText(); got != "Welcome" {
		t.Fatalf("greeting = %q", got)
	}
	c.Send("text ✓")
	if typ, got := c.Read(); typ != websocket.MessageText || got != "text ✓" {
		t.Fatalf("text echo = %v %q", typ, got)
	}
	payload := []byte{0xde, 0xad, 0xbe, 0xef, 0}
	c.Write(websocket.MessageBinary, payload)
	if typ, got := c.Read(); typ != websocket.MessageBinary || got != string(payload) {
		t.Fatalf("binary echo = %v %x", typ, got)
	}
}

func TestReturnValueIsSent(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{
		"/r": `if (websocketInfo.type === "data") return {echo: websocketInfo.message};`,
	}})
	c := h.Dial("/r", nil)
	c.Send("x")
	if got := c.ReadText(); got != `{"echo":"x"}` {
		t.Fatalf("reply = %q", got)
	}
}

func TestCloseCodes(t *testing.T) {
	tests := []struct {
		name   string
		script string
		limits gateway.Limits
		act    func(c *gwtest.Client)
		code   websocket.StatusCode
		reason string
	}{
		{
			name:   "script close default",
			script: `if (websocketInfo.type === "data") websocketInfo.close()`,
			act:    func(c *gwtest.Client) { c.Send("bye") },
			code:   1000,
		},
		{
			name:   "script close custom",
			script: `if (websocketInfo.type === "data") { websocketInfo.send("last"); websocketInfo.close(4321, "see you") }`,
			act:    func(c *gwtest.Client) { c.Send("bye") },
			code:   4321, reason: "see you",
		},
		{
			name:   "throwing open",
			script: `if (websocketInfo.type === "open") throw new Error("no")`,
			code:   1011, reason: "open handler failed",
		},
		{
			name:   "rate limit close",
			script: ``,
			limits: gateway.Limits{MessagesPerSecond: 5, Burst: 5, OnExceed: gateway.ExceedClose},
			act: func(c *gwtest.Client) {
				for range 30 {
					if c.WS.Write(context.Background(), websocket.MessageText, []byte("m")) != nil {
						return // closed under us: expected
					}
				}
			},
			code: 1008, reason: "rate limit exceeded",
		},
		{
			name:   "oversize frame",
			script: ``,
			limits: gateway.Limits{MaxMessageBytes: 1024},
			act: func(c *gwtest.Client) {
				_ = c.WS.Write(context.Background(), websocket.MessageText, make([]byte, 1025))
			},
			code: 1009,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			script := tc.script + `
if (websocketInfo.type === "close") console.log("closed", websocketInfo.close_code)`
			h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{"/x": script}, Limits: tc.limits})
			c := h.Dial("/x", nil)
			if tc.act != nil {
				tc.act(c)
			}
			code, reason := c.ExpectClose()
			if code != tc.code || (tc.reason != "" && reason != tc.reason) {
				t.Fatalf("closed with %d %q, want %d %q", code, reason, tc.code, tc.reason)
			}
			line := h.Logs.Wait(t, "close event", func(r map[string]any) bool {
				return r["source"] == "script" && r["event"] == "close"
			})
			if line["msg"] != fmt.Sprintf("closed %d", tc.code) {
				t.Fatalf("close event saw %q, want code %d", line["msg"], tc.code)
			}
		})
	}
}

func TestSendsBeforeScriptCloseArriveFirst(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{
		"/x": `if (websocketInfo.type === "data") { websocketInfo.send("1"); websocketInfo.close(4000, "done"); websocketInfo.send("2") }`,
	}})
	c := h.Dial("/x", nil)
	c.Send("go")
	if a, b := c.ReadText(), c.ReadText(); a != "1" || b != "2" {
		t.Fatalf("frames = %q %q, want 1 2 before the close", a, b)
	}
	if code, _ := c.ExpectClose(); code != 4000 {
		t.Fatalf("close = %d, want 4000", code)
	}
}

func TestStuckReaderClosedWith1013(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{
			"/flood": `
if (websocketInfo.message === "flood") { var big = new Array(65536).join("x"); for (var i = 0; i < 400; i++) websocketInfo.send(big) }` + idScript,
		},
		Limits: gateway.Limits{MaxPendingSends: 8, CloseTimeout: 200 * time.Millisecond, MessagesPerSecond: 100, Burst: 100},
	})
	stuck := h.Dial("/flood", nil)
	id := stuck.ReadText()
	well := h.Dial("/flood", nil)
	wellID := well.ReadText()
	stuck.Send("flood") // and never read again
	line := h.ClosedLine(id)
	if line["code"] != int64(1013) {
		t.Fatalf("stuck reader closed with %v, want 1013", line["code"])
	}
	h.Logs.Wait(t, "close event of the stuck reader", gwtest.ScriptLine(id, "close", "closed 1013 too many pending messages"))
	well.Send("still here")
	if got := well.ReadText(); got != "still here" {
		t.Fatalf("well-behaved client got %q", got)
	}
	if _, err := h.Service.Info(context.Background(), wellID); err != nil {
		t.Fatalf("well-behaved socket lost: %v", err)
	}
}

func TestCloseEventExactlyOnce(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{"/x": idScript}})
	endings := map[string]func(t *testing.T, c *gwtest.Client, id string){
		"client close": func(_ *testing.T, c *gwtest.Client, _ string) { _ = c.WS.Close(websocket.StatusNormalClosure, "bye") },
		"tcp drop":     func(_ *testing.T, c *gwtest.Client, _ string) { _ = c.TCP.Close() },
		"server close": func(t *testing.T, c *gwtest.Client, id string) {
			c.Send("x")
			c.ReadText()
			if err := h.Service.CloseSocket(context.Background(), id, 4005, "after"); err != nil {
				t.Fatalf("close: %v", err)
			}
			if code, reason := c.ExpectClose(); code != 4005 || reason != "after" {
				t.Fatalf("the client saw the close %d %q, want 4005 after", code, reason)
			}
		},
	}
	wantCodes := map[string]string{"client close": "closed 1000 bye", "tcp drop": "closed 1006 connection lost", "server close": "closed 4005 after"}
	for name, end := range endings {
		t.Run(name, func(t *testing.T) {
			c := h.Dial("/x", nil)
			id := c.ReadText()
			end(t, c, id)
			h.ClosedLine(id)
			if n := h.Logs.Count(gwtest.ScriptLine(id, "close", "")); n != 1 {
				t.Fatalf("close event ran %d times, want once", n)
			}
			if n := h.Logs.Count(gwtest.ScriptLine(id, "close", wantCodes[name])); n != 1 {
				t.Fatalf("close event did not see %q", wantCodes[name])
			}
			if _, err := h.Registry.Get(context.Background(), id); err == nil {
				t.Fatal("socket still registered after close")
			}
		})
	}
}

func TestSlowScriptsDoNotStallOthers(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{
			"/spin": `if (websocketInfo.type === "data") { console.log("spinning"); while (true) {} }`,
			"/echo": echoScript,
		},
		PoolSize: 4,
		Timeout:  time.Minute, // only shutdown will stop the spinners
		// One endpoint may hold three of the four runtimes (the default
		// share is half the pool: TestOneEndpointCannotTakeThePool covers that).
		Limits: gateway.Limits{ScriptWorkersPerEndpoint: 3},
	})
	for i := range 3 { // three of the four runtimes stay busy
		c := h.Dial("/spin", nil)
		c.Send("go")
		want := i + 1
		gwtest.Eventually(t, "spinners running", func() bool {
			return h.Logs.Count(func(r map[string]any) bool { return r["msg"] == "spinning" }) >= want
		})
	}
	fast := h.Dial("/echo", nil)
	if got := fast.ReadText(); got != "Welcome" {
		t.Fatalf("greeting = %q", got)
	}
	for i := range 20 {
		msg := fmt.Sprint("ping ", i)
		fast.Send(msg)
		if got := fast.ReadText(); got != msg {
			t.Fatalf("echo = %q, want %q", got, msg)
		}
	}
}

func TestTimeoutKeepsSocketOpen(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/x": `
if (websocketInfo.message === "spin") while (true) {}` + idScript},
		Timeout: 100 * time.Millisecond,
	})
	spinner := h.Dial("/x", nil)
	id := spinner.ReadText()
	other := h.Dial("/x", nil)
	other.ReadText()
	spinner.Send("spin")
	h.Logs.Wait(t, "timeout logged", func(r map[string]any) bool {
		return r["msg"] == "script error" && r["socket_id"] == id && strings.Contains(fmt.Sprint(r["err"]), "timeout")
	})
	spinner.Send("after")
	if got := spinner.ReadText(); got != "after" {
		t.Fatalf("socket after a timed-out data event answered %q", got)
	}
	other.Send("fine")
	if got := other.ReadText(); got != "fine" {
		t.Fatalf("other socket answered %q", got)
	}
}

func TestRateLimitDropsAndCounts(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/x": idScript},
		Limits:  gateway.Limits{MessagesPerSecond: 5, Burst: 5},
	})
	c := h.Dial("/x", nil)
	id := c.ReadText()
	for i := range 30 {
		c.Send(fmt.Sprint(i))
	}
	gwtest.Eventually(t, "30 messages counted", func() bool {
		s, err := h.Service.Info(context.Background(), id)
		return err == nil && s.MessagesIn == 30
	})
	s, _ := h.Service.Info(context.Background(), id)
	delivered := 30 - s.MessagesDropped
	if delivered < 5 || delivered > 12 {
		t.Fatalf("a burst of 30 delivered %d messages, want 5 to 12", delivered)
	}
	for i := range delivered {
		if got := c.ReadText(); got != fmt.Sprint(i) {
			t.Fatalf("echo %d = %q: delivered messages must be the first ones, in order", i, got)
		}
	}
	gwtest.Eventually(t, "echoes counted as sent", func() bool {
		s, _ := h.Service.Info(context.Background(), id)
		return s.MessagesOut == delivered+1 // and the socket_id greeting
	})
}

func TestGracefulShutdown(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{"/x": idScript}})
	var clients []*gwtest.Client
	var ids []string
	for range 3 {
		c := h.Dial("/x", nil)
		clients = append(clients, c)
		ids = append(ids, c.ReadText())
	}
	var wg sync.WaitGroup
	codes := make([]websocket.StatusCode, len(clients))
	for i, c := range clients {
		wg.Add(1)
		go func() { defer wg.Done(); codes[i], _ = c.ExpectClose() }()
	}
	ctx, cancel := context.WithTimeout(context.Background(), gwtest.WaitFor)
	defer cancel()
	if err := h.GW.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	wg.Wait()
	for i, id := range ids {
		if codes[i] != websocket.StatusGoingAway {
			t.Errorf("client %d closed with %d, want 1001", i, codes[i])
		}
		if h.Logs.Count(gwtest.ScriptLine(id, "close", "closed 1001 going away")) != 1 {
			t.Errorf("close event of %s did not run once with 1001", id)
		}
	}
	if ids, _, _ := h.Registry.List(context.Background(), "", 0); len(ids) != 0 {
		t.Fatalf("store still lists %v after shutdown", ids)
	}
	if _, resp, err := h.TryDial("/x", nil); err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("upgrade after shutdown: %v, want HTTP 503", err)
	}
}

func TestEventHandlerRoutesEverything(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/a": `return "endpoint script must not run"`, "/b/{id}": `return "nor this"`},
		EventHandler: `function handle_websocket_websocket_info(w) {
  if (w.type === "data") return w.route + ":" + w.message;
}`,
	})
	for _, path := range []string{"/a", "/b/7"} {
		c := h.Dial(path, nil)
		c.Send("m")
		want := map[string]string{"/a": "/a:m", "/b/7": "/b/{id}:m"}[path]
		if got := c.ReadText(); got != want {
			t.Fatalf("%s: reply %q, want %q", path, got, want)
		}
	}
}

func TestMaxConnections(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/x": idScript},
		Limits:  gateway.Limits{MaxConnections: 2},
	})
	a, b := h.Dial("/x", nil), h.Dial("/x", nil)
	a.ReadText()
	b.ReadText()
	if _, resp, err := h.TryDial("/x", nil); err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third connection: %v, want HTTP 503", err)
	}
	_ = a.WS.Close(websocket.StatusNormalClosure, "")
	gwtest.Eventually(t, "slot freed", func() bool {
		c, _, err := h.TryDial("/x", nil)
		if err == nil {
			c.ReadText()
		}
		return err == nil
	})
}

func TestBinaryFromScriptBase64(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{
		"/b": `if (websocketInfo.type === "open") websocketInfo.send("` + base64.StdEncoding.EncodeToString([]byte("\x00\xffbin")) + `", "data-binary")`,
	}})
	c := h.Dial("/b", nil)
	if typ, got := c.Read(); typ != websocket.MessageBinary || got != "\x00\xffbin" {
		t.Fatalf("got %v %q", typ, got)
	}
}
