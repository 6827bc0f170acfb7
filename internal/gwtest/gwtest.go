// Package gwtest runs gateway nodes on loopback for end-to-end tests: a
// node wired as cmd/gateway wires one, on memory stores or any others,
// behind an httptest server; clients from an independent WebSocket library;
// and captured logs to wait on as signals.
package gwtest

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/deploy"
	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/metrics"
	"github.com/wsgw/wsgw/runtime"
	"github.com/wsgw/wsgw/service"
	"github.com/wsgw/wsgw/store"
	"github.com/wsgw/wsgw/store/memory"
)

// WaitFor bounds every wait on a signal, so a broken gateway fails the test
// instead of hanging it.
const WaitFor = 15 * time.Second

// Harness is a node on a loopback httptest server, with its logs captured.
type Harness struct {
	t        testing.TB
	GW       *gateway.Gateway
	Deploys  *deploy.Manager
	Conns    *gateway.Conns
	Srv      *httptest.Server
	Registry store.Registry
	Service  *service.Service
	Engine   *runtime.Engine
	Metrics  *metrics.Metrics
	Logs     *LogSink
}

// Options are what a test sets of its node; the zero value is one node on
// memory stores with default limits.
type Options struct {
	Scripts      map[string]string // endpoint path -> script
	EventHandler string
	Limits       gateway.Limits
	Origins      map[string][]string
	// Endpoints are endpoint paths' options besides their origins.
	Endpoints map[string]wsgw.Options
	PoolSize  int
	Timeout   time.Duration
	// ScriptMemory is the engine's per-event memory limit (0 = its default).
	ScriptMemory int64
	// MaxStateBytes is limits.max_state_bytes (0 = its default).
	MaxStateBytes int
	// NodeID names the node (default "test-node").
	NodeID string
	// Registry is the registry of sockets; nil makes a memory one.
	Registry store.Registry
	// Bus reaches other nodes; when nil, NewBus makes it for the node's
	// connection table, or a single node's memory bus is made.
	Bus    store.Bus
	NewBus func(local store.Local) store.Bus
	// Deploys is the deploy registry; nil makes a memory one.
	Deploys store.DeployRegistry
	// Auth is each endpoint path's auth options, and Env the environment
	// their secrets are read from (hs256_secret_env, client_secret_env).
	Auth map[string]*wsgw.AuthOptions
	Env  map[string]string
	// Logger and Metrics, when set, replace the captured logs (Logs then
	// sees nothing) and a fresh set of metrics.
	Logger  *slog.Logger
	Metrics *metrics.Metrics
}

// New wires a node as cmd/gateway does, from the store parts of o (memory
// ones where o gives none), and serves it on a loopback httptest server:
// connection table, bus, socket service, script engine, deploy manager,
// gateway. The scripts of o are deployed as a configuration's; everything
// stops when the test ends.
func New(t testing.TB, o Options) *Harness {
	t.Helper()
	logs := NewLogSink()
	logger := o.Logger
	if logger == nil {
		logger = slog.New(logs)
	}
	m := o.Metrics
	if m == nil {
		m = metrics.New(nil)
	}
	st := o.Registry
	if st == nil {
		st = memory.NewRegistry()
	}
	if o.NodeID == "" {
		o.NodeID = "test-node"
	}
	conns := gateway.NewConns()
	switch {
	case o.Bus != nil:
	case o.NewBus != nil:
		o.Bus = o.NewBus(conns)
	default:
		o.Bus = memory.NewBus(o.NodeID, conns)
	}
	if o.Deploys == nil {
		d := memory.NewDeploys()
		t.Cleanup(func() { _ = d.Close() })
		o.Deploys = d
	}
	svc, err := service.New(service.Options{
		Node: o.NodeID, Local: conns, Registry: st, Bus: o.Bus,
		MaxMessageBytes: o.Limits.WithDefaults().MaxMessageBytes, Logger: logger, Metrics: m,
	})
	if err != nil {
		t.Fatal(err)
	}
	engine := runtime.New(runtime.Options{
		PoolSize: o.PoolSize, Limits: runtime.Limits{Timeout: o.Timeout, MaxMemory: o.ScriptMemory, MaxStateBytes: o.MaxStateBytes}, Service: svc, Logger: logger, Metrics: m,
	})
	deploys, err := deploy.New(deploy.Options{
		Registry: o.Deploys, Sockets: conns, Env: func(name string) (string, bool) { v, ok := o.Env[name]; return v, ok },
		Logger: logger, Metrics: m,
	})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Options{
		NodeID: o.NodeID, Conns: conns, Limits: o.Limits, Engine: engine,
		Registry: st, Routes: deploys, Logger: logger, Metrics: m,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	h := &Harness{t: t, GW: gw, Deploys: deploys, Conns: conns, Srv: srv, Registry: st, Service: svc, Engine: engine, Metrics: m, Logs: logs}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), WaitFor)
		defer cancel()
		_ = gw.Shutdown(ctx)
		engine.Close()
		srv.Close()
	})
	for path, src := range o.Scripts {
		opts := o.Endpoints[path]
		opts.AllowedOrigins, opts.Auth = o.Origins[path], o.Auth[path]
		dep := wsgw.Deployment{Path: path, Script: src, Options: opts, Source: "config"}
		if _, _, err := deploys.Deploy(context.Background(), dep); err != nil {
			t.Fatalf("deploy %s: %v", path, err)
		}
	}
	if o.EventHandler != "" {
		if _, _, err := deploys.Deploy(context.Background(), wsgw.Deployment{Script: o.EventHandler, Name: "handler.js", Source: "config"}); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// URL is the WebSocket URL of path on the harness's gateway.
func (h *Harness) URL(path string) string {
	return "ws" + strings.TrimPrefix(h.Srv.URL, "http") + path
}

// Client is a WebSocket client from an independent library, with its TCP
// connection at hand for abrupt drops.
type Client struct {
	t   testing.TB
	WS  *websocket.Conn
	TCP net.Conn
}

// Dial connects to path on the harness's gateway, failing the test if it cannot.
func (h *Harness) Dial(path string, header http.Header) *Client {
	h.t.Helper()
	return Dial(h.t, h.URL(path), header)
}

// TryDial connects to path, answering the refusal instead of failing.
func (h *Harness) TryDial(path string, header http.Header) (*Client, *http.Response, error) {
	return TryDial(h.t, h.URL(path), header)
}

// Dial connects to a WebSocket URL, failing the test if it cannot; the
// connection closes when the test ends.
func Dial(t testing.TB, url string, header http.Header) *Client {
	t.Helper()
	c, resp, err := TryDial(t, url, header)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (HTTP %d)", url, err, status)
	}
	return c
}

// TryDial connects to a WebSocket URL and answers the HTTP response of a
// refused upgrade.
func TryDial(t testing.TB, url string, header http.Header) (*Client, *http.Response, error) {
	c := &Client{t: t}
	var mu sync.Mutex
	dialer := &net.Dialer{}
	httpClient := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			mu.Lock()
			c.TCP = conn
			mu.Unlock()
			return conn, err
		},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), WaitFor)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: header, HTTPClient: httpClient})
	if err != nil {
		return nil, resp, err
	}
	ws.SetReadLimit(1 << 20)
	c.WS = ws
	t.Cleanup(func() { _ = ws.CloseNow() })
	return c, resp, nil
}

func (c *Client) Send(msg string) {
	c.t.Helper()
	c.Write(websocket.MessageText, []byte(msg))
}

func (c *Client) Write(typ websocket.MessageType, data []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WaitFor)
	defer cancel()
	if err := c.WS.Write(ctx, typ, data); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *Client) Read() (websocket.MessageType, string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WaitFor)
	defer cancel()
	typ, data, err := c.WS.Read(ctx)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return typ, string(data)
}

func (c *Client) ReadText() string {
	c.t.Helper()
	typ, s := c.Read()
	if typ != websocket.MessageText {
		c.t.Fatalf("got a %v frame %q, want text", typ, s)
	}
	return s
}

func (c *Client) ReadJSON(v any) {
	c.t.Helper()
	if err := json.Unmarshal([]byte(c.ReadText()), v); err != nil {
		c.t.Fatalf("reply is not JSON: %v", err)
	}
}

// ExpectClose reads until the server's close frame and returns its status.
func (c *Client) ExpectClose() (websocket.StatusCode, string) {
	c.t.Helper()
	return c.ExpectCloseWithin(WaitFor)
}

// ExpectCloseWithin is ExpectClose for a close that may take longer than
// WaitFor, such as one that follows several slow script runs.
func (c *Client) ExpectCloseWithin(d time.Duration) (websocket.StatusCode, string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		_, _, err := c.WS.Read(ctx)
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

// LogSink is a slog.Handler that keeps every record for tests to wait on.
// Handlers derived from it with WithAttrs (logger.With) add their attributes
// to every record and share its records, so Wait sees their lines too.
type LogSink struct {
	*logState
	attrs []slog.Attr
}

// logState is what a LogSink and the handlers derived from it share.
type logState struct {
	mu      sync.Mutex
	records []map[string]any
	changed chan struct{} // closed and replaced at every record
}

// NewLogSink returns an empty sink.
func NewLogSink() *LogSink { return &LogSink{logState: &logState{changed: make(chan struct{})}} }

func (s *LogSink) Enabled(context.Context, slog.Level) bool { return true }
func (s *LogSink) WithAttrs(as []slog.Attr) slog.Handler {
	return &LogSink{logState: s.logState, attrs: append(slices.Clip(s.attrs), as...)}
}
func (s *LogSink) WithGroup(string) slog.Handler { return s }
func (s *LogSink) Handle(_ context.Context, r slog.Record) error {
	rec := map[string]any{"msg": r.Message, "level": r.Level.String()}
	for _, a := range s.attrs {
		rec[a.Key] = a.Value.Resolve().Any()
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
func (s *LogSink) Wait(t testing.TB, what string, pred func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(WaitFor)
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
			t.Fatalf("no log line for %s within %v", what, WaitFor)
		}
	}
}

// WaitCount waits until n records match pred.
func (s *LogSink) WaitCount(t testing.TB, what string, n int, pred func(map[string]any) bool) {
	t.Helper()
	deadline := time.After(WaitFor)
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		if s.Count(pred) >= n {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("fewer than %d log lines for %s within %v", n, what, WaitFor)
		}
	}
}

func (s *LogSink) Count(pred func(map[string]any) bool) int {
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
func (h *Harness) ClosedLine(id string) map[string]any {
	h.t.Helper()
	return h.Logs.Wait(h.t, "close of "+id, func(r map[string]any) bool {
		return r["msg"] == "connection closed" && r["socket_id"] == id
	})
}

// scriptLine matches console output of a script.
func ScriptLine(id, event, msg string) func(map[string]any) bool {
	return func(r map[string]any) bool {
		return r["source"] == "script" && r["socket_id"] == id && r["event"] == event && (msg == "" || r["msg"] == msg)
	}
}

// eventually polls cond, for state that has no signal of its own.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(WaitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
