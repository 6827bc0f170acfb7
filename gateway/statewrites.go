package gateway

import (
	"context"
	"sync"
	"time"
)

// stateBatch is how long a changed state waits before the gateway hands it
// to the registry. The Redis registry waits as long again before it
// writes it (docs/operations.md, "What wsgw keeps in Redis").
const stateBatch = 100 * time.Millisecond

// stateWrites hands the registry the states that events changed, once per
// stateBatch for each connection rather than after every event: a
// connection whose state changes on every message costs the registry one
// call a batch. A call after every event took 2.6% of the gateway's CPU
// in the state echo on Redis (docs/BENCHMARKS.md), most of it the
// registry's lookup of the socket, whose memory is cold by the next
// message. run writes the batches.
type stateWrites struct {
	mu      sync.Mutex
	pending []*conn
	wake    chan struct{} // a batch has begun
	buf     []byte        // the state being handed over; run's own
}

func newStateWrites() *stateWrites { return &stateWrites{wake: make(chan struct{}, 1)} }

// stateSetter is the registry's part that stateWrites uses.
type stateSetter interface {
	SetState(ctx context.Context, id string, state []byte) error
}

// add queues c, whose event just saved its state, for the next batch.
func (w *stateWrites) add(c *conn) {
	if c.stateQueued.Swap(true) {
		return // in the batch already: it reads the state when it is written
	}
	w.mu.Lock()
	w.pending = append(w.pending, c)
	first := len(w.pending) == 1
	w.mu.Unlock()
	if first {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// run writes a batch stateBatch after its first state, until stop is
// closed. Sockets closed meanwhile are gone from the registry, which
// ignores states of sockets it does not hold.
func (w *stateWrites) run(stop <-chan struct{}, reg stateSetter, failed func(c *conn, err error)) {
	t := time.NewTimer(stateBatch)
	defer t.Stop()
	var batch []*conn
	for {
		select {
		case <-w.wake:
		case <-stop:
			return
		}
		t.Reset(stateBatch)
		select {
		case <-t.C:
		case <-stop:
			return
		}
		w.mu.Lock()
		batch, w.pending = w.pending, batch[:0]
		w.mu.Unlock()
		for i, c := range batch {
			batch[i] = nil
			c.stateQueued.Store(false) // before the read: a change after it queues c again
			c.mu.Lock()
			w.buf = append(w.buf[:0], c.State()...)
			c.mu.Unlock()
			if err := reg.SetState(context.Background(), c.info.ID, w.buf); err != nil {
				failed(c, err)
			}
		}
	}
}
