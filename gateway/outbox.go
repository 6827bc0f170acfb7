package gateway

import (
	"sync"
	"time"

	"github.com/lxzan/gws"
)

// The outbox: frames sent to a connection while its event runs wait there,
// and the connection's read loop writes them itself when the event ends,
// one plain write each, rather than queue them on gws's writer, which
// starts a goroutine whenever a connection's queue was idle
// (docs/BENCHMARKS.md, "Time per message"). The read loop is the goroutine
// best placed to block on the client: a client that does not read then
// holds back only itself (what it sends next waits in TCP), and frames sent
// to it from elsewhere meanwhile join the outbox, where max_pending_sends
// counts them as it counts gws's queue. The script that sent them has
// given its runtime back by then: no worker ever waits on a socket.

// outFrame is a frame in an outbox; done is called once it is written, or
// failed.
type outFrame struct {
	op      gws.Opcode
	payload []byte
	done    func(error)
}

type outbox struct{ frames []outFrame }

// outboxes keeps outboxes between events, so that a connection holds none
// while it is quiet.
var outboxes = sync.Pool{New: func() any { return new(outbox) }}

// maxKeptOutbox is the most frames an outbox may have held and still go
// back to the pool.
const maxKeptOutbox = 256

func (ob *outbox) release() {
	if cap(ob.frames) > maxKeptOutbox {
		return
	}
	clear(ob.frames)
	ob.frames = ob.frames[:0]
	outboxes.Put(ob)
}

// outboxLocked returns c's outbox, taking one if it has none. Under c.mu.
func (c *conn) outboxLocked() *outbox {
	if c.outbox == nil {
		c.outbox = outboxes.Get().(*outbox)
	}
	return c.outbox
}

// flushOutbox writes the outbox, on the read loop as an event ends. Frames
// queued on gws's writer before the event still wait there when pending
// counts more than the outbox holds: then the outbox joins them, in order.
// It is called, and returns, under c.mu, which it releases while it writes;
// frames sent meanwhile join a new outbox, written in turn.
func (c *conn) flushOutbox() {
	for c.outbox != nil {
		ob := c.outbox
		c.outbox = nil
		if c.pending.Load() > int64(len(ob.frames)) {
			for _, f := range ob.frames {
				c.ws.WriteAsync(f.op, f.payload, f.done)
			}
			ob.release()
			continue
		}
		c.flushing = true
		if c.deferred { // the close waits for these frames, for close_timeout at most
			_ = c.ws.SetWriteDeadline(time.Now().Add(c.g.opts.Limits.CloseTimeout))
		}
		c.mu.Unlock()
		for i := range ob.frames {
			f := &ob.frames[i]
			f.done(c.ws.WriteMessage(f.op, f.payload))
		}
		ob.release()
		c.mu.Lock()
		c.flushing = false
	}
}
