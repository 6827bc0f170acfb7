package gateway_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wsgw/wsgw/internal/gwtest"
	"github.com/wsgw/wsgw/store/memory"
)

// heldStateStore is a registry that reports every SetState on written; the
// first one waits until release is closed.
type heldStateStore struct {
	*memory.Registry
	first   sync.Once
	entered chan struct{}
	release chan struct{}
	written chan string
}

func (s *heldStateStore) SetState(ctx context.Context, id string, state []byte) error {
	s.first.Do(func() {
		close(s.entered)
		<-s.release
	})
	s.written <- string(state)
	return s.Registry.SetState(ctx, id, state)
}

// TestStatesReachTheRegistryInBatches: the registry gets a connection's
// state once a batch, the latest, however many events changed it
// meanwhile, and a change after a batch was taken comes in the next one.
func TestStatesReachTheRegistryInBatches(t *testing.T) {
	store := &heldStateStore{Registry: memory.NewRegistry(), entered: make(chan struct{}),
		release: make(chan struct{}), written: make(chan string, 16)}
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/s": `
if (websocketInfo.type === "data") {
  websocketInfo.state.n = Number(websocketInfo.message);
  return "saved " + websocketInfo.message;
}`},
		Registry: store,
	})
	c := h.Dial("/s", nil)
	save := func(n int) {
		t.Helper()
		c.Send(fmt.Sprint(n))
		if got, want := c.ReadText(), fmt.Sprint("saved ", n); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	written := func(want string) {
		t.Helper()
		select {
		case got := <-store.written:
			if got != want {
				t.Fatalf("the registry got state %s, want %s", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("the registry got no state; want %s", want)
		}
	}
	save(1)
	<-store.entered // the first batch is being written, and held
	for n := 2; n <= 5; n++ {
		save(n)
	}
	close(store.release)
	written(`{"n":1}`)
	written(`{"n":5}`) // 2, 3 and 4 were never handed over
	save(6)
	written(`{"n":6}`)
}
