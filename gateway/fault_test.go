package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/internal/gwtest"
	"github.com/wsgw/wsgw/store/memory"
)

// panickyStore is a store with bugs on demand: Get panics for the socket ID
// "panic", Register for a socket whose X-Panic header is "register", and
// Unregister for one whose header is "unregister".
type panickyStore struct {
	*memory.Registry
	unregister sync.Map // socket IDs whose Unregister panics
}

func (s *panickyStore) Get(ctx context.Context, id string) (*wsgw.SocketInfo, error) {
	if id == "panic" {
		panic("store bug in Get")
	}
	return s.Registry.Get(ctx, id)
}

func (s *panickyStore) Register(ctx context.Context, info *wsgw.SocketInfo) error {
	switch info.Headers["x-panic"] {
	case "register":
		panic("store bug in Register")
	case "unregister":
		s.unregister.Store(info.ID, true)
	}
	return s.Registry.Register(ctx, info)
}

func (s *panickyStore) Unregister(ctx context.Context, id string) error {
	if _, ok := s.unregister.Load(id); ok {
		panic("store bug in Unregister")
	}
	return s.Registry.Unregister(ctx, id)
}

// TestPanicsCloseOnlyTheirSocket drives Go panics through each path a
// connection runs: a script binding (the service calling a broken store),
// the open callback, and the close path on the read loop. The socket is
// closed with 1011 where it is still open, the panic is logged, its slot is
// freed, and a bystander keeps working.
func TestPanicsCloseOnlyTheirSocket(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/x": `
if (websocketInfo.message === "boom") Websocket.info({socket_id: "panic"});` + idScript},
		Limits:   gateway.Limits{MaxConnections: 3},
		PoolSize: 1, // a runtime lost to a panic would stall every later event
		Registry: &panickyStore{Registry: memory.NewRegistry()},
	})
	check := bystander(t, h, "/x")
	panics := func() int {
		return h.Logs.Count(func(r map[string]any) bool { return r["msg"] == "panic recovered" })
	}

	t.Run("script binding", func(t *testing.T) {
		c := h.Dial("/x", nil)
		id := c.ReadText()
		c.Send("boom")
		if code, reason := c.ExpectClose(); code != websocket.StatusInternalError || reason != "internal error" {
			t.Fatalf("closed with %d %q, want 1011", code, reason)
		}
		h.Logs.Wait(t, "close event", gwtest.ScriptLine(id, "close", "closed 1011 internal error"))
		line := h.Logs.Wait(t, "panic line", func(r map[string]any) bool { return r["msg"] == "panic recovered" && r["socket_id"] == id })
		if line["where"] != "data event" || !strings.Contains(line["stack"].(string), "panickyStore") {
			t.Fatalf("panic line = %v", line)
		}
		check()
	})

	t.Run("open callback", func(t *testing.T) {
		before := panics()
		c := h.Dial("/x", http.Header{"X-Panic": {"register"}})
		if code, _ := c.ExpectClose(); code != websocket.StatusInternalError {
			t.Fatalf("closed with %d, want 1011", code)
		}
		if panics() != before+1 {
			t.Fatal("the panic was not logged")
		}
		check()
	})

	t.Run("close path", func(t *testing.T) {
		c := h.Dial("/x", http.Header{"X-Panic": {"unregister"}})
		id := c.ReadText()
		_ = c.WS.Close(websocket.StatusNormalClosure, "bye")
		h.Logs.Wait(t, "panic line", func(r map[string]any) bool { return r["msg"] == "panic recovered" && r["socket_id"] == id })
		check()
	})

	// Three panicking connections and the bystander have come and gone
	// through MaxConnections 3: their slots must all be free again.
	gwtest.Eventually(t, "every slot freed", func() bool {
		var cs []*gwtest.Client
		defer func() {
			for _, c := range cs {
				_ = c.WS.CloseNow()
			}
		}()
		for range 2 {
			c, _, err := h.TryDial("/x", nil)
			if err != nil {
				return false
			}
			cs = append(cs, c)
		}
		return true
	})
	check()
}

// stallingStateStore is a registry whose SetState waits until release is
// closed, as Redis's does while its writer holds the registry's lock.
type stallingStateStore struct {
	*memory.Registry
	entered chan struct{}
	release chan struct{}
}

func (s *stallingStateStore) SetState(ctx context.Context, id string, state []byte) error {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	<-s.release
	return s.Registry.SetState(ctx, id, state)
}

// TestStalledStateWriteHoldsNoSlot: a state write the registry makes wait
// holds up no event. States reach the registry from the gateway's batches
// (statewrites.go), on a goroutine of their own that holds no endpoint
// slot (one here) and no runtime; another connection's events run
// meanwhile.
func TestStalledStateWriteHoldsNoSlot(t *testing.T) {
	store := &stallingStateStore{Registry: memory.NewRegistry(), entered: make(chan struct{}, 1), release: make(chan struct{})}
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/s": `
if (websocketInfo.type === "data") {
  if (websocketInfo.message === "save") websocketInfo.state.n = 1;
  return "ran " + websocketInfo.message;
}`},
		PoolSize: 2,
		Limits:   gateway.Limits{ScriptWorkersPerEndpoint: 1},
		Registry: store,
	})
	t.Cleanup(func() { close(store.release) })
	saver, other := h.Dial("/s", nil), h.Dial("/s", nil)
	saver.Send("save")
	if got := saver.ReadText(); got != "ran save" {
		t.Fatalf("saver got %q", got)
	}
	<-store.entered
	for i := range 3 {
		msg := fmt.Sprint("ping ", i)
		other.Send(msg)
		if got := other.ReadText(); got != "ran "+msg {
			t.Fatalf("while a state write waits, another connection got %q, want %q", got, "ran "+msg)
		}
	}
}
