package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/metrics"
	"github.com/wsgw/wsgw/runtime"
	"github.com/wsgw/wsgw/store"
	"github.com/wsgw/wsgw/store/memory"
)

// waitFor bounds every wait on a signal, so a broken gateway fails the test
// instead of hanging it.
const waitFor = 15 * time.Second

// harness is a gateway on a loopback httptest server, with its logs captured.
type harness struct {
	t      *testing.T
	gw     *gateway.Gateway
	srv    *httptest.Server
	store  *memory.Store
	engine *runtime.Engine
	logs   *logSink
}

type harnessOptions struct {
	scripts      map[string]string // endpoint path -> script
	eventHandler string
	limits       gateway.Limits
	origins      map[string][]string
	auth         map[string]gateway.Authenticator // endpoint path -> its check
	poolSize     int
	timeout      time.Duration
	// wrapStore, when set, puts a test double around the memory store.
	wrapStore func(*memory.Store) store.Store
}

func newHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	logs := newLogSink()
	logger := slog.New(logs)
	m := metrics.New(nil)
	engine := runtime.New(runtime.Options{PoolSize: o.poolSize, Timeout: o.timeout, Logger: logger, Metrics: m})
	var endpoints []gateway.Endpoint
	for path, src := range o.scripts {
		h, err := runtime.Compile(path, src)
		if err != nil {
			t.Fatalf("compile %s: %v", path, err)
		}
		endpoints = append(endpoints, gateway.Endpoint{Path: path, Handler: h, AllowedOrigins: o.origins[path], Auth: o.auth[path]})
	}
	var eh *runtime.Handler
	if o.eventHandler != "" {
		var err error
		if eh, err = runtime.CompileEventHandler("handler.js", o.eventHandler); err != nil {
			t.Fatal(err)
		}
	}
	st := memory.New()
	var gwStore store.Store = st
	if o.wrapStore != nil {
		gwStore = o.wrapStore(st)
	}
	gw, err := gateway.New(gateway.Options{
		NodeID: "test-node", Limits: o.limits, Endpoints: endpoints, EventHandler: eh,
		Engine: engine, Store: gwStore, Logger: logger, Metrics: m,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	h := &harness{t: t, gw: gw, srv: srv, store: st, engine: engine, logs: logs}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		_ = gw.Shutdown(ctx)
		srv.Close()
	})
	return h
}

func (h *harness) url(path string) string {
	return "ws" + strings.TrimPrefix(h.srv.URL, "http") + path
}

// client is a WebSocket client from an independent library, with its TCP
// connection at hand for abrupt drops.
type client struct {
	t   *testing.T
	ws  *websocket.Conn
	tcp net.Conn
}

func (h *harness) dial(path string, header http.Header) *client {
	h.t.Helper()
	c, resp, err := h.tryDial(path, header)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		h.t.Fatalf("dial %s: %v (HTTP %d)", path, err, status)
	}
	return c
}

func (h *harness) tryDial(path string, header http.Header) (*client, *http.Response, error) {
	c := &client{t: h.t}
	var mu sync.Mutex
	dialer := &net.Dialer{}
	httpClient := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			mu.Lock()
			c.tcp = conn
			mu.Unlock()
			return conn, err
		},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, h.url(path), &websocket.DialOptions{HTTPHeader: header, HTTPClient: httpClient})
	if err != nil {
		return nil, resp, err
	}
	ws.SetReadLimit(1 << 20)
	c.ws = ws
	h.t.Cleanup(func() { _ = ws.CloseNow() })
	return c, resp, nil
}

func (c *client) send(msg string) {
	c.t.Helper()
	c.write(websocket.MessageText, []byte(msg))
}

func (c *client) write(typ websocket.MessageType, data []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := c.ws.Write(ctx, typ, data); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *client) read() (websocket.MessageType, string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	typ, data, err := c.ws.Read(ctx)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return typ, string(data)
}

func (c *client) readText() string {
	c.t.Helper()
	typ, s := c.read()
	if typ != websocket.MessageText {
		c.t.Fatalf("got a %v frame %q, want text", typ, s)
	}
	return s
}

func (c *client) readJSON(v any) {
	c.t.Helper()
	if err := json.Unmarshal([]byte(c.readText()), v); err != nil {
		c.t.Fatalf("reply is not JSON: %v", err)
	}
}

// expectClose reads until the server's close frame and returns its status.
func (c *client) expectClose() (websocket.StatusCode, string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	for {
		_, _, err := c.ws.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			c.t.Fatalf("connection ended without a close frame: %v", err)
		}
		return ce.Code, ce.Reason
	}
}

// logSink is a slog.Handler that keeps every record for tests to wait on.
type logSink struct {
	mu      sync.Mutex
	records []map[string]any
	changed chan struct{}
	attrs   []slog.Attr
}

func newLogSink() *logSink { return &logSink{changed: make(chan struct{})} }

func (s *logSink) Enabled(context.Context, slog.Level) bool { return true }
func (s *logSink) WithAttrs(as []slog.Attr) slog.Handler {
	return &logSink{changed: s.changed, attrs: append(s.attrs, as...)}
}
func (s *logSink) WithGroup(string) slog.Handler { return s }
func (s *logSink) Handle(_ context.Context, r slog.Record) error {
	rec := map[string]any{"msg": r.Message, "level": r.Level.String()}
	for _, a := range s.attrs {
		rec[a.Key] = a.Value.Any()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec[a.Key] = a.Value.Resolve().Any()
		return true
	})
	s.mu.Lock()
	s.records = append(s.records, rec)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	return nil
}

// wait returns the first record matching pred, waiting for it to be logged.
func (s *logSink) wait(t *testing.T, what string, pred func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(waitFor)
	seen := 0
	for {
		s.mu.Lock()
		recs, changed := s.records, s.changed
		s.mu.Unlock()
		for ; seen < len(recs); seen++ {
			if pred(recs[seen]) {
				return recs[seen]
			}
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no log line for %s within %v", what, waitFor)
		}
	}
}

// waitCount waits until n records match pred.
func (s *logSink) waitCount(t testing.TB, what string, n int, pred func(map[string]any) bool) {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		if s.count(pred) >= n {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("fewer than %d log lines for %s within %v", n, what, waitFor)
		}
	}
}

func (s *logSink) count(pred func(map[string]any) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.records {
		if pred(r) {
			n++
		}
	}
	return n
}

// closedLine waits for the gateway's "connection closed" line of socket id.
func (h *harness) closedLine(id string) map[string]any {
	h.t.Helper()
	return h.logs.wait(h.t, "close of "+id, func(r map[string]any) bool {
		return r["msg"] == "connection closed" && r["socket_id"] == id
	})
}

// scriptLine matches console output of a script.
func scriptLine(id, event, msg string) func(map[string]any) bool {
	return func(r map[string]any) bool {
		return r["source"] == "script" && r["socket_id"] == id && r["event"] == event && (msg == "" || r["msg"] == msg)
	}
}

// eventually polls cond, for state that has no signal of its own.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
