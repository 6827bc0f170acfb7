package runtime_test

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/wsgw/wsgw/runtime"
)

// TestDispatch: an event dispatched to the engine's workers runs the script
// and its sends reach the connection before Dispatch returns; events from
// many callers all run; after Close, Dispatch answers ErrClosed.
func TestDispatch(t *testing.T) {
	e := runtime.New(runtime.Options{PoolSize: 2})
	h := mustCompile(t, `return "echo " + websocketInfo.message`)
	conn := newConn()
	if err := e.Dispatch(h, &runtime.Event{Type: runtime.Data, Conn: conn, Data: []byte("one")}); err != nil {
		t.Fatal(err)
	}
	if got := conn.texts(); !slices.Equal(got, []string{"echo one"}) {
		t.Fatalf("after Dispatch the connection got %q, want the script's reply", got)
	}
	var wg sync.WaitGroup
	conns := make([]*fakeConn, 16)
	for i := range conns {
		conns[i] = newConn()
		wg.Go(func() {
			if err := e.Dispatch(h, &runtime.Event{Type: runtime.Data, Conn: conns[i], Data: []byte("x")}); err != nil {
				t.Errorf("Dispatch: %v", err)
			}
		})
	}
	wg.Wait()
	for i, c := range conns {
		if got := c.texts(); !slices.Equal(got, []string{"echo x"}) {
			t.Fatalf("caller %d's connection got %q", i, got)
		}
	}
	e.Close()
	if err := e.Dispatch(h, &runtime.Event{Type: runtime.Data, Conn: conn, Data: []byte("late")}); !errors.Is(err, runtime.ErrClosed) {
		t.Fatalf("Dispatch after Close = %v, want ErrClosed", err)
	}
}
