package runtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/runtime"
)

// fakeConn records what scripts do to a connection.
type fakeConn struct {
	info *wsgw.SocketInfo
	auth map[string]any

	mu        sync.Mutex
	frames    []frame
	closed    []int
	reason    string
	delivered []wsgw.Message
	state     []byte
	saves     int
	user      string
	groups    []string
	// joinErr, when set, refuses every Join.
	joinErr error
}

type frame struct {
	Data   string
	Binary bool
}

func newConn() *fakeConn {
	return &fakeConn{info: &wsgw.SocketInfo{
		ID: "sock-1", Node: "n1", URI: "ws://example.test/chat/lobby?x=1", Route: "/chat/{room}",
		Headers:    map[string]string{"user-agent": "ua", "x-multi": "a, b"},
		Parameters: map[string]string{"room": "lobby", "x": "1"},
		Timestamp:  1234,
	}}
}

func (c *fakeConn) Info() *wsgw.SocketInfo { return c.info }
func (c *fakeConn) Auth() map[string]any   { return c.auth }
func (c *fakeConn) Send(p []byte, binary bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frames = append(c.frames, frame{string(p), binary})
	return nil
}
func (c *fakeConn) Deliver(m *wsgw.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cp := *m
	cp.Data = append([]byte(nil), m.Data...)
	c.delivered = append(c.delivered, cp)
	return nil
}
func (c *fakeConn) Close(code int, reason string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = append(c.closed, code)
	c.reason = reason
	return nil
}
func (c *fakeConn) State() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == nil {
		return wsgw.EmptyState
	}
	return c.state
}
func (c *fakeConn) SaveState(s []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state = append([]byte(nil), s...) // the engine reuses s
	c.saves++
	return nil
}
func (c *fakeConn) User() string { c.mu.Lock(); defer c.mu.Unlock(); return c.user }
func (c *fakeConn) SetUser(u string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.user = u
	return nil
}
func (c *fakeConn) Join(g string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.joinErr != nil {
		return c.joinErr
	}
	c.groups = append(c.groups, g)
	return nil
}
func (c *fakeConn) Leave(g string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.groups = slices.DeleteFunc(c.groups, func(x string) bool { return x == g })
	return nil
}
func (c *fakeConn) texts() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, f := range c.frames {
		out = append(out, f.Data)
	}
	return out
}

func newEngine(t testing.TB, opts runtime.Options) *runtime.Engine {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	e := runtime.New(opts)
	t.Cleanup(e.Close)
	return e
}

func mustCompile(t testing.TB, src string) *runtime.Handler {
	t.Helper()
	h, err := runtime.Compile("test.js", src)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return h
}

func run(t testing.TB, e *runtime.Engine, h *runtime.Handler, c *fakeConn, ev runtime.Event) error {
	t.Helper()
	ev.Conn = c
	return e.Run(context.Background(), h, &ev)
}

func TestCompileErrorPositions(t *testing.T) {
	tests := []struct {
		name       string
		src        string
		line, col  int
		msgContain string
	}{
		{"line one column is the script's", "var = 1", 1, 5, ""},
		{"later line", "var a = 1;\nvar b = ;\n", 2, 9, ""},
		{"unclosed brace reported at the end", "if (true) {\n  x = 1\n", 3, 1, ""},
		{"escaping the wrapper", "}); (function(){", 1, 1, "closes the function"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runtime.Compile("bad.js", tc.src)
			var ce *runtime.CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("Compile error = %v, want *CompileError", err)
			}
			if ce.File != "bad.js" || ce.Line != tc.line || ce.Column != tc.col {
				t.Fatalf("position = %s:%d:%d, want bad.js:%d:%d (%v)", ce.File, ce.Line, ce.Column, tc.line, tc.col, ce)
			}
			if !strings.Contains(ce.Message, tc.msgContain) {
				t.Fatalf("message %q does not mention %q", ce.Message, tc.msgContain)
			}
		})
	}
}

func TestCompileEventHandlerNeedsFunction(t *testing.T) {
	if _, err := runtime.CompileEventHandler("h.js", "var x = 1;"); err == nil || !strings.Contains(err.Error(), runtime.HandlerFunction) {
		t.Fatalf("error = %v, want one naming %s", err, runtime.HandlerFunction)
	}
	for _, src := range []string{
		"function handle_websocket_websocket_info(w) { return 1 }",
		"var handle_websocket_websocket_info = function(w) { return 1 }",
		"const handle_websocket_websocket_info = (w) => 1",
	} {
		if _, err := runtime.CompileEventHandler("h.js", src); err != nil {
			t.Errorf("CompileEventHandler(%q): %v", src, err)
		}
	}
}

func TestWebsocketInfoFields(t *testing.T) {
	e := newEngine(t, runtime.Options{})
	h := mustCompile(t, `return JSON.stringify(websocketInfo)`)
	c := newConn()
	c.auth = map[string]any{"sub": "alice"}
	tests := []struct {
		name string
		ev   runtime.Event
		want map[string]any
	}{
		{"open", runtime.Event{Type: runtime.Open, Timestamp: 99}, map[string]any{
			"uri": c.info.URI, "type": "open", "route": "/chat/{room}", "message": "",
			"headers": map[string]any{"user-agent": "ua", "x-multi": "a, b"}, "socket_id": "sock-1",
			"timestamp": float64(99), "parameters": map[string]any{"room": "lobby", "x": "1"},
			"auth": map[string]any{"sub": "alice"},
		}},
		{"data text", runtime.Event{Type: runtime.Data, Data: []byte("héllo"), Timestamp: 100}, map[string]any{
			"type": "data", "message": "héllo", "message_type": "data-text",
		}},
		{"data binary", runtime.Event{Type: runtime.Data, Data: []byte{0, 1, 2, 255}, Binary: true}, map[string]any{
			"message": "AAEC/w==", "message_type": "data-binary",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c.frames = nil
			if err := run(t, e, h, c, tc.ev); err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(c.texts()[0]), &got); err != nil {
				t.Fatal(err)
			}
			for k, want := range tc.want {
				if g, _ := json.Marshal(got[k]); string(g) != mustJSON(want) {
					t.Errorf("websocketInfo.%s = %s, want %s", k, g, mustJSON(want))
				}
			}
			if _, ok := got["close_code"]; ok {
				t.Errorf("close_code present in a %s event", tc.name)
			}
		})
	}
}

func TestCloseEventFields(t *testing.T) {
	e := newEngine(t, runtime.Options{})
	var buf bytes.Buffer
	e2 := newEngine(t, runtime.Options{Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	_ = e
	h := mustCompile(t, `console.log(websocketInfo.type, websocketInfo.close_code, websocketInfo.close_reason, websocketInfo.auth === null, websocketInfo.message_type === undefined)`)
	c := newConn()
	if err := run(t, e2, h, c, runtime.Event{Type: runtime.Close, CloseCode: 4001, CloseReason: "bye"}); err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	if line["msg"] != "close 4001 bye true true" || line["socket_id"] != "sock-1" || line["route"] != "/chat/{room}" {
		t.Fatalf("console.log line = %v", line)
	}
}

func TestSend(t *testing.T) {
	e := newEngine(t, runtime.Options{})
	tests := []struct {
		name   string
		src    string
		want   []frame
		errSub string
	}{
		{"string as is", `websocketInfo.send("hi")`, []frame{{"hi", false}}, ""},
		{"object as JSON", `websocketInfo.send({a: [1, "x"]})`, []frame{{`{"a":[1,"x"]}`, false}}, ""},
		{"number as JSON", `websocketInfo.send(42)`, []frame{{"42", false}}, ""},
		{"binary from base64", `websocketInfo.send("AAEC/w==", "data-binary")`, []frame{{"\x00\x01\x02\xff", true}}, ""},
		{"binary from unpadded url base64", `websocketInfo.send("AAEC_w", "data-binary")`, []frame{{"\x00\x01\x02\xff", true}}, ""},
		{"order kept", `websocketInfo.send("1"); websocketInfo.send("2"); return "3"`, []frame{{"1", false}, {"2", false}, {"3", false}}, ""},
		{"return value", `return websocketInfo.message`, []frame{{"ping", false}}, ""},
		{"return object", `return {ok: true}`, []frame{{`{"ok":true}`, false}}, ""},
		{"return null sends nothing", `return null`, nil, ""},
		{"return undefined sends nothing", `return`, nil, ""},
		{"bad base64 throws", `websocketInfo.send("***", "data-binary")`, nil, "base64"},
		{"bad type throws", `websocketInfo.send("x", "data-json")`, nil, "type must be"},
		{"function has no JSON", `websocketInfo.send(function(){})`, nil, "no JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newConn()
			err := run(t, e, mustCompile(t, tc.src), c, runtime.Event{Type: runtime.Data, Data: []byte("ping")})
			if tc.errSub != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errSub) {
					t.Fatalf("error = %v, want one containing %q", err, tc.errSub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if mustJSON(c.frames) != mustJSON(tc.want) {
				t.Fatalf("frames = %v, want %v", c.frames, tc.want)
			}
		})
	}
}

func TestClose(t *testing.T) {
	e := newEngine(t, runtime.Options{})
	tests := []struct {
		src    string
		code   int
		reason string
		errSub string
	}{
		{`websocketInfo.close()`, 1000, "", ""},
		{`websocketInfo.close(4321, "custom")`, 4321, "custom", ""},
		{`websocketInfo.close(1005)`, 0, "", "close code"},
	}
	for _, tc := range tests {
		c := newConn()
		err := run(t, e, mustCompile(t, tc.src), c, runtime.Event{Type: runtime.Data})
		if tc.errSub != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errSub) || len(c.closed) != 0 {
				t.Errorf("%s: error %v, closes %v; want an error containing %q and no close", tc.src, err, c.closed, tc.errSub)
			}
			continue
		}
		if err != nil || len(c.closed) != 1 || c.closed[0] != tc.code || c.reason != tc.reason {
			t.Errorf("%s: err %v, closes %v %q; want one close %d %q", tc.src, err, c.closed, c.reason, tc.code, tc.reason)
		}
	}
}

func TestSendAndCloseThrowInCloseEvent(t *testing.T) {
	e := newEngine(t, runtime.Options{})
	for _, src := range []string{`websocketInfo.send("x")`, `websocketInfo.close()`, `return "x"`} {
		c := newConn()
		err := run(t, e, mustCompile(t, src), c, runtime.Event{Type: runtime.Close, CloseCode: 1000})
		if src == `return "x"` {
			if err != nil || len(c.frames) != 0 {
				t.Errorf("%s in close event: err %v, frames %v; want the value ignored", src, err, c.frames)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "connection is closed") {
			t.Errorf("%s in close event: err = %v, want a thrown error", src, err)
		}
		if len(c.frames) != 0 || len(c.closed) != 0 {
			t.Errorf("%s in close event reached the connection", src)
		}
	}
}

func TestExceptionIsScriptError(t *testing.T) {
	e := newEngine(t, runtime.Options{})
	err := run(t, e, mustCompile(t, `throw new Error("boom")`), newConn(), runtime.Event{Type: runtime.Data})
	var se *runtime.ScriptError
	if !errors.As(err, &se) || se.Timeout || !strings.Contains(se.Message, "boom") || !strings.Contains(se.Message, "test.js") {
		t.Fatalf("error = %#v, want a ScriptError with the message and location", err)
	}
}

func TestTimeoutInterruptsAndDoesNotLeak(t *testing.T) {
	e := newEngine(t, runtime.Options{PoolSize: 1, Limits: runtime.Limits{Timeout: 250 * time.Millisecond}})
	err := run(t, e, mustCompile(t, `while (true) {}`), newConn(), runtime.Event{Type: runtime.Data})
	var se *runtime.ScriptError
	if !errors.As(err, &se) || !se.Timeout {
		t.Fatalf("endless script: error = %v, want a timeout ScriptError", err)
	}
	// The same (only) runtime must run the next events normally: the
	// interrupt must not land on them.
	h := mustCompile(t, `return "ok"`)
	for range 200 {
		c := newConn()
		if err := run(t, e, h, c, runtime.Event{Type: runtime.Data}); err != nil {
			t.Fatalf("event after a timeout: %v", err)
		}
	}
}

func TestStackOverflowIsAnError(t *testing.T) {
	e := newEngine(t, runtime.Options{MaxCallStack: 100})
	err := run(t, e, mustCompile(t, `function f(n) { return f(n + 1) + 1 } f(0)`), newConn(), runtime.Event{Type: runtime.Data})
	if err == nil {
		t.Fatal("unbounded recursion returned no error")
	}
}

func TestGlobalsDoNotOutliveAnEvent(t *testing.T) {
	e := newEngine(t, runtime.Options{PoolSize: 1})
	c := newConn()
	if err := run(t, e, mustCompile(t, `leaked = 5; globalThis.other = 6; return typeof leaked`), c, runtime.Event{Type: runtime.Data}); err != nil {
		t.Fatal(err)
	}
	if err := run(t, e, mustCompile(t, `return typeof leaked + " " + typeof other + " " + typeof console + " " + typeof Websocket`), c, runtime.Event{Type: runtime.Data}); err != nil {
		t.Fatal(err)
	}
	if got := c.texts(); mustJSON(got) != mustJSON([]string{"number", "undefined undefined object object"}) {
		t.Fatalf("replies = %q: a global survived its event, or a binding was swept", got)
	}
}

func TestNoHostAccess(t *testing.T) {
	e := newEngine(t, runtime.Options{})
	c := newConn()
	src := `return [typeof require, typeof process, typeof fetch, typeof XMLHttpRequest, typeof setTimeout].join(",")`
	if err := run(t, e, mustCompile(t, src), c, runtime.Event{Type: runtime.Data}); err != nil {
		t.Fatal(err)
	}
	if got := c.texts()[0]; got != "undefined,undefined,undefined,undefined,undefined" {
		t.Fatalf("host objects visible to scripts: %s", got)
	}
}

func TestEventHandlerGetsEveryEvent(t *testing.T) {
	e := newEngine(t, runtime.Options{})
	h, err := runtime.CompileEventHandler("handler.js", `
var greeting = "hello";
function handle_websocket_websocket_info(info) {
  if (info.type === "data") return greeting + " " + info.route + " " + info.message;
}`)
	if err != nil {
		t.Fatal(err)
	}
	c := newConn()
	if err := run(t, e, h, c, runtime.Event{Type: runtime.Data, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if got := c.texts(); len(got) != 1 || got[0] != "hello /chat/{room} x" {
		t.Fatalf("replies = %q", got)
	}
}

func TestPoolBoundsConcurrentScripts(t *testing.T) {
	svc := &blockingService{entered: make(chan struct{}, 4), release: make(chan struct{})}
	e := newEngine(t, runtime.Options{PoolSize: 2, Limits: runtime.Limits{Timeout: time.Minute}, Service: svc})
	h := mustCompile(t, `Websocket.closeAll()`)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); _ = run(t, e, h, newConn(), runtime.Event{Type: runtime.Data}) }()
	}
	<-svc.entered
	<-svc.entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := e.Run(ctx, h, &runtime.Event{Type: runtime.Data, Conn: newConn()})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third run while both runtimes are busy: %v, want it to wait and give up with its context", err)
	}
	close(svc.release)
	wg.Wait()
}

// blockingService blocks CloseAll until released, to hold runtimes busy.
type blockingService struct {
	wsgw.SocketService
	entered chan struct{}
	release chan struct{}
}

func (s *blockingService) CloseAll(ctx context.Context) (int, error) {
	s.entered <- struct{}{}
	<-s.release
	return 0, nil
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
