package service_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/internal/gwtest"
	"github.com/wsgw/wsgw/store"
	"github.com/wsgw/wsgw/store/memory"
)

// idScript tells a client its socket ID, then echoes.
const idScript = `
if (websocketInfo.type === "open") return websocketInfo.socket_id;
if (websocketInfo.type === "data") return websocketInfo.message;`

// fakeCluster is a Bus that records what the service asks of other nodes.
type fakeCluster struct {
	mu       sync.Mutex
	calls    []string
	err      error // answered by every call
	closeAll int
}

func (f *fakeCluster) record(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	return f.err
}

func (f *fakeCluster) Send(_ context.Context, node, id string, m *wsgw.Message) error {
	kind := "text"
	if m.Binary {
		kind = "binary"
	}
	return f.record(fmt.Sprintf("send %s %s %s %q", node, id, kind, m.Data))
}

func (f *fakeCluster) CloseSocket(_ context.Context, node, id string, code int, reason string) error {
	return f.record(fmt.Sprintf("close %s %s %d %q", node, id, code, reason))
}

func (f *fakeCluster) Info(_ context.Context, node, id string) (*wsgw.Socket, error) {
	if err := f.record("info " + node + " " + id); err != nil {
		return nil, err
	}
	return &wsgw.Socket{SocketInfo: wsgw.SocketInfo{ID: id, Node: node}, Type: "open"}, nil
}

func (f *fakeCluster) CloseAll(context.Context) (int, error) {
	return f.closeAll, f.record("closeAll")
}

func (f *fakeCluster) Join(_ context.Context, node, id, group string) error {
	return f.record(fmt.Sprintf("join %s %s %q", node, id, group))
}

func (f *fakeCluster) Leave(_ context.Context, node, id, group string) error {
	return f.record(fmt.Sprintf("leave %s %s %q", node, id, group))
}

func (f *fakeCluster) SendToUser(_ context.Context, user string, m *wsgw.Message) (int, error) {
	return f.closeAll, f.record(fmt.Sprintf("sendToUser %q %q", user, m.Data))
}

func (f *fakeCluster) CloseUser(_ context.Context, user string, code int, reason string) (int, error) {
	return f.closeAll, f.record(fmt.Sprintf("closeUser %q %d %q", user, code, reason))
}

func (f *fakeCluster) Publish(_ context.Context, group string, m *wsgw.Message, exclude []string) error {
	return f.record(fmt.Sprintf("publish %q %q %q", group, m.Data, exclude))
}

func (f *fakeCluster) Close() error { return nil }

func (f *fakeCluster) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// countingStore counts the lookups that reach the store.
type countingStore struct {
	*memory.Registry
	gets atomic.Int64
}

func (s *countingStore) Get(ctx context.Context, id string) (*wsgw.SocketInfo, error) {
	s.gets.Add(1)
	return s.Registry.Get(ctx, id)
}

func newClusterHarness(t *testing.T, fc *fakeCluster) (*gwtest.Harness, *countingStore) {
	t.Helper()
	st := &countingStore{Registry: memory.NewRegistry()}
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{"/id": idScript}, Registry: st, Bus: fc, NodeID: "here"})
	return h, st
}

func TestLocalSocketsNeverLeaveTheNode(t *testing.T) {
	fc := &fakeCluster{}
	h, st := newClusterHarness(t, fc)
	c := h.Dial("/id", nil)
	id := c.ReadText()
	ctx := context.Background()
	if err := h.Service.Send(ctx, id, &wsgw.Message{Data: []byte("local")}); err != nil {
		t.Fatal(err)
	}
	if got := c.ReadText(); got != "local" {
		t.Fatalf("got %q", got)
	}
	if _, err := h.Service.Info(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := h.Service.CloseSocket(ctx, id, 4000, "bye"); err != nil {
		t.Fatal(err)
	}
	if code, _ := c.ExpectClose(); code != 4000 {
		t.Fatalf("closed with %d", code)
	}
	if n := st.gets.Load(); n != 0 {
		t.Fatalf("operations on a local socket made %d store lookups, want 0", n)
	}
	if calls := fc.recorded(); len(calls) != 0 {
		t.Fatalf("operations on a local socket asked the cluster %v", calls)
	}
}

func TestRemoteSocketsGoThroughTheCluster(t *testing.T) {
	fc := &fakeCluster{closeAll: 5}
	h, st := newClusterHarness(t, fc)
	ctx := context.Background()
	for _, info := range []*wsgw.SocketInfo{{ID: "far", Node: "there"}, {ID: "stale", Node: "here"}} {
		if err := st.Register(ctx, info); err != nil {
			t.Fatal(err)
		}
	}
	c := h.Dial("/id", nil)
	_ = c.ReadText()

	tests := []struct {
		name     string
		do       func() error
		wantCode string
		wantCall string
	}{
		{"send", func() error { return h.Service.Send(ctx, "far", &wsgw.Message{Data: []byte("hi")}) }, "", `send there far text "hi"`},
		{"binary send", func() error { return h.Service.Send(ctx, "far", &wsgw.Message{Data: []byte{0, 0xff}, Binary: true}) }, "", `send there far binary "\x00\xff"`},
		{"close", func() error { return h.Service.CloseSocket(ctx, "far", 1000, "") }, "", `close there far 1000 ""`},
		{"close with a code and reason", func() error { return h.Service.CloseSocket(ctx, "far", 4001, "bye") }, "", `close there far 4001 "bye"`},
		{"close with a reserved code", func() error { return h.Service.CloseSocket(ctx, "far", 1005, "") }, wsgw.EInvalid, ""},
		{"info", func() error {
			s, err := h.Service.Info(ctx, "far")
			if err == nil && s.Node != "there" {
				t.Fatalf("info = %+v", s)
			}
			return err
		}, "", "info there far"},
		{"a record of this node without a socket", func() error { return h.Service.Send(ctx, "stale", &wsgw.Message{Data: []byte("x")}) }, wsgw.ENotFound, ""},
		{"unknown socket", func() error { return h.Service.Send(ctx, "nowhere", &wsgw.Message{Data: []byte("x")}) }, wsgw.ENotFound, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(fc.recorded())
			err := tc.do()
			if wsgw.ErrorCode(err) != tc.wantCode {
				t.Fatalf("error = %v, want code %q", err, tc.wantCode)
			}
			calls := fc.recorded()[before:]
			if tc.wantCall == "" && len(calls) != 0 || tc.wantCall != "" && (len(calls) != 1 || calls[0] != tc.wantCall) {
				t.Fatalf("cluster calls = %v, want %q", calls, tc.wantCall)
			}
		})
	}

	n, err := h.Service.CloseAll(ctx)
	if err != nil || n != 6 {
		t.Fatalf("CloseAll = %d, %v; want 1 local + 5 elsewhere", n, err)
	}
	if code, _ := c.ExpectClose(); code != websocket.StatusNormalClosure {
		t.Fatalf("local socket closed with %d", code)
	}

	fc.err = wsgw.Errorf(wsgw.EUnavailable, "bus down")
	if err := h.Service.Send(ctx, "far", &wsgw.Message{Data: []byte("hi")}); wsgw.ErrorCode(err) != wsgw.EUnavailable {
		t.Fatalf("send through a failing cluster = %v, want its error", err)
	}
	if n, err := h.Service.CloseAll(ctx); wsgw.ErrorCode(err) != wsgw.EUnavailable || n != 5 {
		t.Fatalf("CloseAll through a failing cluster = %d, %v", n, err)
	}
}

// downStore is a registry that cannot be reached.
type downStore struct{ *memory.Registry }

func (downStore) Get(context.Context, string) (*wsgw.SocketInfo, error) {
	return nil, fmt.Errorf("%w: connection refused", store.ErrUnavailable)
}

// TestStoreOutageLogsOnceWithACount: while the registry is unreachable,
// every call for another node's socket answers 503, and the log gets one
// line for all of them rather than one each.
func TestStoreOutageLogsOnceWithACount(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{"/id": idScript}, Registry: downStore{memory.NewRegistry()}, Bus: &fakeCluster{}, NodeID: "here"})
	const calls = 100
	for range calls {
		if err := h.Service.Send(context.Background(), "far", &wsgw.Message{Data: []byte("x")}); wsgw.ErrorCode(err) != wsgw.EUnavailable {
			t.Fatalf("send while the store is down = %v, want unavailable", err)
		}
	}
	failed := func(r map[string]any) bool { return r["msg"] == "store operation failed" }
	if n := h.Logs.Count(failed); n != 1 {
		t.Fatalf("%d calls that failed logged %d lines, want 1 (and a count per interval after)", calls, n)
	}
	line := h.Logs.Wait(t, "the failure line", failed)
	if line["level"] != "ERROR" || line["failures"] != int64(1) || line["op"] != "get" {
		t.Fatalf("failure line = %v", line)
	}
}

// resyncingStore is a registry that is being written again after an outage.
type resyncingStore struct{ *memory.Registry }

func (resyncingStore) Get(context.Context, string) (*wsgw.SocketInfo, error) {
	return nil, fmt.Errorf("%w: node b has not written its sockets again yet", store.ErrResyncing)
}

// TestResyncingRegistryIsNever404: a miss while the registry is resyncing
// answers 503 "registry resyncing" for every operation, never 404.
func TestResyncingRegistryIsNever404(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{"/id": idScript}, Registry: resyncingStore{memory.NewRegistry()}, Bus: &fakeCluster{}, NodeID: "here"})
	ctx := context.Background()
	for name, do := range map[string]func() error{
		"send":  func() error { return h.Service.Send(ctx, "far", &wsgw.Message{Data: []byte("x")}) },
		"close": func() error { return h.Service.CloseSocket(ctx, "far", 1000, "") },
		"info":  func() error { _, err := h.Service.Info(ctx, "far"); return err },
	} {
		err := do()
		if wsgw.ErrorCode(err) != wsgw.EUnavailable || !strings.Contains(wsgw.ErrorMessage(err), "registry resyncing") {
			t.Fatalf("%s while the registry resyncs = %v, want 503 registry resyncing", name, err)
		}
	}
}
