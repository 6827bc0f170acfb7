package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/store"
)

// BusFactory returns one Bus per node of locals, all on one new bus, each
// ready to serve the commands addressed to its node with that node's Local;
// the buses are closed when the test ends.
type BusFactory func(t *testing.T, locals map[string]store.Local) map[string]store.Bus

// busWait bounds every call of the suite: a command lost on the bus fails
// the test in seconds.
const busWait = 10 * time.Second

// RunBus runs the bus's contract: a command reaches the node that holds
// the socket and comes back with that node's answer, refusals included;
// a node that nobody serves holds no socket.
func RunBus(t *testing.T, newBus BusFactory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, newBus BusFactory)
	}{
		{"SendReachesTheOwner", testBusSend},
		{"RefusalComesBack", testBusRefusal},
		{"CloseSocketReachesTheOwner", testBusCloseSocket},
		{"InfoAnswers", testBusInfo},
		{"CloseAllCountsTheOtherNodes", testBusCloseAll},
		{"UnknownNodeIs404", testBusUnknownNode},
		{"OneCallerInOrder", testBusOrder},
		{"ConcurrentCallers", testBusConcurrent},
		{"ClosedBusIs503", testBusClosed},
		{"JoinLeaveReachTheOwner", testBusJoinLeave},
		{"UserCommandsReachEveryOtherNode", testBusUser},
		{"PublishReachesEveryOtherNodeInOrder", testBusPublish},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newBus) })
	}
}

// FakeLocal is a node's Local that records the commands it gets and
// answers as told.
type FakeLocal struct {
	mu    sync.Mutex
	calls []string
	// Err, when set, refuses every Send, CloseSocket and Info.
	Err error
	// Socket is what Info answers, its ID set to the one asked for.
	Socket wsgw.Socket
	// Closed is what CloseAll, SendToUser and CloseUser answer.
	Closed int

	published chan struct{}
}

func (l *FakeLocal) record(call string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, call)
	return l.Err
}

// Calls returns the commands so far, in the order they came.
func (l *FakeLocal) Calls() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

func (l *FakeLocal) Send(id string, m *wsgw.Message) error {
	call := fmt.Sprintf("send %s %v %q", id, m.Binary, m.Data)
	if m.JSON || m.Destination != "" || len(m.Headers) > 0 {
		call += fmt.Sprintf(" json=%v destination=%q headers=%v", m.JSON, m.Destination, m.Headers)
	}
	return l.record(call)
}

func (l *FakeLocal) CloseSocket(id string, code int, reason string) error {
	return l.record(fmt.Sprintf("close %s %d %q", id, code, reason))
}

func (l *FakeLocal) Info(id string) (*wsgw.Socket, error) {
	if err := l.record("info " + id); err != nil {
		return nil, err
	}
	s := l.Socket
	s.ID = id
	return &s, nil
}

func (l *FakeLocal) CloseAll() int {
	_ = l.record("closeAll")
	return l.Closed
}

func (l *FakeLocal) Join(id, group string) error {
	return l.record(fmt.Sprintf("join %s %q", id, group))
}

func (l *FakeLocal) Leave(id, group string) error {
	return l.record(fmt.Sprintf("leave %s %q", id, group))
}

// SendToUser and CloseUser answer Closed, as CloseAll does.
func (l *FakeLocal) SendToUser(user string, m *wsgw.Message) int {
	call := fmt.Sprintf("sendToUser %q %v %q", user, m.Binary, m.Data)
	if m.JSON || m.Destination != "" || len(m.Headers) > 0 {
		call += fmt.Sprintf(" json=%v destination=%q headers=%v", m.JSON, m.Destination, m.Headers)
	}
	_ = l.record(call)
	return l.Closed
}

func (l *FakeLocal) CloseUser(user string, code int, reason string) int {
	_ = l.record(fmt.Sprintf("closeUser %q %d %q", user, code, reason))
	return l.Closed
}

func (l *FakeLocal) Publish(group string, m *wsgw.Message, exclude []string) {
	call := fmt.Sprintf("publish %q %v %q %q", group, m.Binary, m.Data, exclude)
	if m.JSON || len(m.Headers) > 0 {
		call += fmt.Sprintf(" json=%v headers=%v", m.JSON, m.Headers)
	}
	_ = l.record(call)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.published != nil {
		l.published <- struct{}{}
	}
}

// Published returns a channel that gets a value for each Publish from now.
func (l *FakeLocal) Published() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.published = make(chan struct{}, 1024)
	return l.published
}

func busCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), busWait)
	t.Cleanup(cancel)
	return ctx
}

// twoNodes makes nodes a and b with fresh Locals.
func twoNodes(t *testing.T, newBus BusFactory) (a store.Bus, b *FakeLocal) {
	b = &FakeLocal{}
	buses := newBus(t, map[string]store.Local{"node-a": &FakeLocal{}, "node-b": b})
	return buses["node-a"], b
}

func expectCalls(t *testing.T, l *FakeLocal, want ...string) {
	t.Helper()
	if got := l.Calls(); !slices.Equal(got, want) {
		t.Fatalf("the owner got %q, want %q", got, want)
	}
}

func testBusSend(t *testing.T, newBus BusFactory) {
	a, b := twoNodes(t, newBus)
	ctx := busCtx(t)
	mustDo(t, "Send", a.Send(ctx, "node-b", "s1", &wsgw.Message{Data: []byte("hello")}))
	mustDo(t, "binary Send", a.Send(ctx, "node-b", "s1", &wsgw.Message{Data: []byte{0, 0xff, '\n', 0}, Binary: true}))
	mustDo(t, "STOMP Send", a.Send(ctx, "node-b", "s1", &wsgw.Message{Data: []byte(`{"a":1}`), JSON: true,
		Destination: "/topic/x", Headers: map[string]string{"k": "v:1", "": "empty key"}}))
	expectCalls(t, b, `send s1 false "hello"`, `send s1 true "\x00\xff\n\x00"`,
		`send s1 false "{\"a\":1}" json=true destination="/topic/x" headers=map[:empty key k:v:1]`)
}

func testBusRefusal(t *testing.T, newBus BusFactory) {
	a, b := twoNodes(t, newBus)
	ctx := busCtx(t)
	for _, refusal := range []*wsgw.Error{
		wsgw.Errorf(wsgw.ENotFound, "socket s1 is closing"),
		wsgw.Errorf(wsgw.EUnavailable, "socket s1: its send queue is full"),
		wsgw.Errorf(wsgw.EInvalid, "close code must be 1000-1003, 1007-1014 or 3000-4999"),
	} {
		b.mu.Lock()
		b.Err = refusal
		b.mu.Unlock()
		_, infoErr := a.Info(ctx, "node-b", "s1")
		for op, err := range map[string]error{
			"Send":        a.Send(ctx, "node-b", "s1", &wsgw.Message{Data: []byte("x")}),
			"CloseSocket": a.CloseSocket(ctx, "node-b", "s1", 4000, ""),
			"Info":        infoErr,
		} {
			if wsgw.ErrorCode(err) != refusal.Code || wsgw.ErrorMessage(err) != refusal.Message {
				t.Fatalf("%s refused by the owner with %v returned %v, want the owner's error", op, refusal, err)
			}
		}
	}
}

func testBusCloseSocket(t *testing.T, newBus BusFactory) {
	a, b := twoNodes(t, newBus)
	ctx := busCtx(t)
	mustDo(t, "CloseSocket", a.CloseSocket(ctx, "node-b", "s1", 4001, "bye, ünïcode"))
	mustDo(t, "CloseSocket", a.CloseSocket(ctx, "node-b", "s2", 1000, ""))
	expectCalls(t, b, `close s1 4001 "bye, ünïcode"`, `close s2 1000 ""`)
}

func testBusInfo(t *testing.T, newBus BusFactory) {
	b := &FakeLocal{Socket: wsgw.Socket{
		SocketInfo: *InfoOn("", "node-b"), Type: "open", MessagesIn: 3, MessagesOut: 2, MessagesDropped: 1, ScriptVersion: 7,
	}}
	buses := newBus(t, map[string]store.Local{"node-a": &FakeLocal{}, "node-b": b})
	got, err := buses["node-a"].Info(busCtx(t), "node-b", "s1")
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	want := b.Socket
	want.ID = "s1"
	if got.ID != "s1" || got.Node != "node-b" || got.Type != "open" || got.MessagesIn != 3 || got.MessagesOut != 2 ||
		got.MessagesDropped != 1 || got.ScriptVersion != 7 || got.Route != want.Route ||
		fmt.Sprint(got.Headers) != fmt.Sprint(want.Headers) || fmt.Sprint(got.Parameters) != fmt.Sprint(want.Parameters) {
		t.Fatalf("Info = %+v, want %+v", got, want)
	}
}

func testBusCloseAll(t *testing.T, newBus BusFactory) {
	a, b, c := &FakeLocal{Closed: 100}, &FakeLocal{Closed: 3}, &FakeLocal{Closed: 4}
	buses := newBus(t, map[string]store.Local{"node-a": a, "node-b": b, "node-c": c})
	n, err := buses["node-a"].CloseAll(busCtx(t))
	if err != nil || n != 7 {
		t.Fatalf("CloseAll = %d, %v; want the other nodes' 3 + 4", n, err)
	}
	expectCalls(t, a)
	expectCalls(t, b, "closeAll")
	expectCalls(t, c, "closeAll")
}

func testBusUnknownNode(t *testing.T, newBus BusFactory) {
	a, _ := twoNodes(t, newBus)
	ctx := busCtx(t)
	_, infoErr := a.Info(ctx, "node-nobody", "s1")
	for op, err := range map[string]error{
		"Send":        a.Send(ctx, "node-nobody", "s1", &wsgw.Message{Data: []byte("x")}),
		"CloseSocket": a.CloseSocket(ctx, "node-nobody", "s1", 1000, ""),
		"Info":        infoErr,
	} {
		if wsgw.ErrorCode(err) != wsgw.ENotFound {
			t.Fatalf("%s to a node that nobody serves = %v, want not found", op, err)
		}
	}
}

func testBusOrder(t *testing.T, newBus BusFactory) {
	a, b := twoNodes(t, newBus)
	ctx := busCtx(t)
	var want []string
	for i := range 50 {
		msg := fmt.Sprintf("m%02d", i)
		mustDo(t, "Send", a.Send(ctx, "node-b", "s1", &wsgw.Message{Data: []byte(msg)}))
		want = append(want, fmt.Sprintf("send s1 false %q", msg))
	}
	expectCalls(t, b, want...)
}

func testBusConcurrent(t *testing.T, newBus BusFactory) {
	a, b := twoNodes(t, newBus)
	ctx := busCtx(t)
	const callers, each = 8, 25
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for i := range each {
				if err := a.Send(ctx, "node-b", fmt.Sprintf("s%d", c), &wsgw.Message{Data: []byte(fmt.Sprint(i))}); err != nil {
					t.Errorf("Send: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	got := b.Calls()
	if len(got) != callers*each {
		t.Fatalf("the owner got %d commands, want %d", len(got), callers*each)
	}
	for c := range callers { // each caller's commands in its order
		var mine []string
		for _, call := range got {
			if id := fmt.Sprintf("send s%d ", c); len(call) > len(id) && call[:len(id)] == id {
				mine = append(mine, call)
			}
		}
		for i, call := range mine {
			if want := fmt.Sprintf("send s%d false %q", c, fmt.Sprint(i)); call != want {
				t.Fatalf("caller %d's command %d = %q, want %q", c, i, call, want)
			}
		}
	}
}

func testBusClosed(t *testing.T, newBus BusFactory) {
	a, b := twoNodes(t, newBus)
	mustDo(t, "Close", a.Close())
	ctx := busCtx(t)
	if err := a.Send(ctx, "node-b", "s1", &wsgw.Message{Data: []byte("x")}); wsgw.ErrorCode(err) != wsgw.EUnavailable {
		t.Fatalf("Send after Close = %v, want unavailable", err)
	}
	if _, err := a.CloseAll(ctx); wsgw.ErrorCode(err) != wsgw.EUnavailable {
		t.Fatalf("CloseAll after Close = %v, want unavailable", err)
	}
	expectCalls(t, b)
	mustDo(t, "a second Close", a.Close())
}

func testBusJoinLeave(t *testing.T, newBus BusFactory) {
	a, b := twoNodes(t, newBus)
	ctx := busCtx(t)
	mustDo(t, "Join", a.Join(ctx, "node-b", "s1", "room 1"))
	mustDo(t, "Leave", a.Leave(ctx, "node-b", "s1", "room 1"))
	expectCalls(t, b, `join s1 "room 1"`, `leave s1 "room 1"`)
	b.Err = wsgw.Errorf(wsgw.EInvalid, "too many groups")
	err := a.Join(ctx, "node-b", "s1", "room 2")
	if wsgw.ErrorCode(err) != wsgw.EInvalid || wsgw.ErrorMessage(err) != "too many groups" {
		t.Fatalf("Join refused by the owner: got %v, want its invalid_request", err)
	}
}

func testBusUser(t *testing.T, newBus BusFactory) {
	a, b, c := &FakeLocal{}, &FakeLocal{Closed: 2}, &FakeLocal{Closed: 3}
	buses := newBus(t, map[string]store.Local{"node-a": a, "node-b": b, "node-c": c})
	ctx := busCtx(t)
	n, err := buses["node-a"].SendToUser(ctx, "ana", &wsgw.Message{Data: []byte("hi")})
	if err != nil || n != 5 {
		t.Fatalf("SendToUser = %d, %v; want 5 (2 + 3), nil", n, err)
	}
	if _, err := buses["node-a"].SendToUser(ctx, "ana", &wsgw.Message{Data: []byte("{}"), JSON: true, Destination: "/queue/ana",
		Headers: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	n, err = buses["node-a"].CloseUser(ctx, "ana", 4000, "bye")
	if err != nil || n != 5 {
		t.Fatalf("CloseUser = %d, %v; want 5, nil", n, err)
	}
	expectCalls(t, a)
	expectCalls(t, b, `sendToUser "ana" false "hi"`, `sendToUser "ana" false "{}" json=true destination="/queue/ana" headers=map[k:v]`,
		`closeUser "ana" 4000 "bye"`)
	expectCalls(t, c, `sendToUser "ana" false "hi"`, `sendToUser "ana" false "{}" json=true destination="/queue/ana" headers=map[k:v]`,
		`closeUser "ana" 4000 "bye"`)
}

func testBusPublish(t *testing.T, newBus BusFactory) {
	a, b, c := &FakeLocal{}, &FakeLocal{}, &FakeLocal{}
	buses := newBus(t, map[string]store.Local{"node-a": a, "node-b": b, "node-c": c})
	ctx := busCtx(t)
	gotB, gotC := b.Published(), c.Published()
	const n = 50
	var want []string
	for i := range n {
		msg := fmt.Sprintf("m%d", i)
		mustDo(t, "Publish", buses["node-a"].Publish(ctx, "room", &wsgw.Message{Data: []byte(msg)}, []string{"x", "y"}))
		want = append(want, fmt.Sprintf("publish %q false %q %q", "room", msg, []string{"x", "y"}))
	}
	mustDo(t, "Publish", buses["node-a"].Publish(ctx, "", &wsgw.Message{Data: []byte("all"), Binary: true}, nil))
	want = append(want, fmt.Sprintf("publish %q true %q %q", "", "all", []string(nil)))
	mustDo(t, "STOMP Publish", buses["node-a"].Publish(ctx, "/topic/t", &wsgw.Message{Data: []byte(`{"a":1}`), JSON: true,
		Headers: map[string]string{"k": "v"}}, nil))
	want = append(want, fmt.Sprintf("publish %q false %q %q json=true headers=map[k:v]", "/topic/t", `{"a":1}`, []string(nil)))
	for _, ch := range []<-chan struct{}{gotB, gotC} {
		for range n + 2 {
			select {
			case <-ch:
			case <-ctx.Done():
				t.Fatal("a publish did not reach every other node")
			}
		}
	}
	expectCalls(t, a)
	expectCalls(t, b, want...)
	expectCalls(t, c, want...)
}
