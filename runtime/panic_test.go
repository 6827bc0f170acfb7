package runtime_test

import (
	"context"
	"errors"
	"testing"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/runtime"
)

// panickingService panics in Info, as a buggy binding or store would.
type panickingService struct{ wsgw.SocketService }

func (panickingService) Info(context.Context, string) (*wsgw.Socket, error) {
	panic("bug in a binding")
}

// TestBindingPanicIsRecoveredAndTheRuntimeReplaced runs a script whose
// binding panics on a pool of one runtime: the run ends with *PanicError,
// and the next run gets a fresh runtime instead of waiting forever for the
// slot of the discarded one.
func TestBindingPanicIsRecoveredAndTheRuntimeReplaced(t *testing.T) {
	e := newEngine(t, runtime.Options{PoolSize: 1, Service: panickingService{}})
	boom := mustCompile(t, `Websocket.info({socket_id: "x"})`)
	ok := mustCompile(t, `websocketInfo.send("fine")`)
	for range 3 {
		err := run(t, e, boom, newConn(), runtime.Event{Type: runtime.Data})
		var pe *runtime.PanicError
		if !errors.As(err, &pe) || pe.Value != "bug in a binding" || len(pe.Stack) == 0 {
			t.Fatalf("run = %v, want *PanicError with the panic value and stack", err)
		}
		c := newConn()
		if err := run(t, e, ok, c, runtime.Event{Type: runtime.Data}); err != nil {
			t.Fatalf("the run after a panic failed: %v", err)
		}
		if got := c.texts(); len(got) != 1 || got[0] != "fine" {
			t.Fatalf("the run after a panic sent %q", got)
		}
	}
}
