package gateway

import (
	"errors"
	"fmt"
	"time"

	"github.com/wsgw/wsgw/runtime"
)

// How script time is shared (docs/security.md, "Script time and memory"):
//
//   - at most Limits.ScriptWorkersPerEndpoint events of one endpoint hold a
//     runtime at once, so one endpoint whose script runs away leaves the rest
//     of the pool to the others;
//   - events of connections whose last event was interrupted (script_timeout
//     or script_memory) run through a narrower lane of
//     Limits.InterruptedWorkers runtimes for the whole node, so such
//     connections cannot hold the endpoint's share either;
//   - a connection whose events are interrupted Limits.MaxScriptInterrupts
//     times in a row is closed with 1011;
//   - a data event whose connection is closing, or whose client has gone, by
//     the time a runtime is free is not run at all.

// errGone is a data event not run: its connection closed, or its client
// went away, while the event waited for a runtime.
var errGone = errors.New("the connection is gone: event not run")

// closeInterrupted is the close code of a connection whose events keep
// being interrupted: the script could not serve it.
const closeInterrupted = 1011

// semaphore is a counting semaphore; its zero value is unusable, make one
// with newSemaphore.
type semaphore chan struct{}

func newSemaphore(n int) semaphore { return make(semaphore, n) }

// tryAcquire takes a slot if one is free at once.
func (s semaphore) tryAcquire() bool {
	select {
	case s <- struct{}{}:
		return true
	default:
		return false
	}
}

// acquire takes a slot, or gives up when the gateway halts.
func (s semaphore) acquire(halted <-chan struct{}) bool {
	select {
	case s <- struct{}{}:
		return true
	case <-halted:
		return false
	}
}

func (s semaphore) release() { <-s }

// endpointSlots returns the share of the pool of the endpoint at path, made
// when its first connection is upgraded: a path keeps its share across
// redeploys.
func (g *Gateway) endpointSlots(path string) semaphore {
	if s, ok := g.slots.Load(path); ok {
		return s.(semaphore)
	}
	s, _ := g.slots.LoadOrStore(path, newSemaphore(g.opts.Limits.ScriptWorkersPerEndpoint))
	return s.(semaphore)
}

// grant is the slots an admitted event holds while it runs.
type grant struct {
	endpoint semaphore
	lane     semaphore // the interrupted lane, or nil
}

func (gr grant) release() {
	if gr.lane != nil {
		gr.lane.release()
	}
	gr.endpoint.release()
}

// admitEvent waits until ev of c may take a runtime and returns the slots to
// release after the run; or errGone (the event must not run) or
// runtime.ErrClosed.
func (g *Gateway) admitEvent(c *conn, ev *runtime.Event) (grant, error) {
	var start time.Time // when the event began to wait for its slot, if it had to
	gr := grant{endpoint: c.slots}
	if !gr.endpoint.tryAcquire() {
		start = time.Now()
		if !gr.endpoint.acquire(g.halted) {
			return grant{}, runtime.ErrClosed
		}
	}
	suspect := c.interrupts > 0
	if suspect {
		if !g.interrupted.tryAcquire() && !g.interrupted.acquire(g.halted) {
			gr.endpoint.release()
			return grant{}, runtime.ErrClosed
		}
		gr.lane = g.interrupted
	}
	check := suspect || c.slow || (!start.IsZero() && time.Since(start) > waitedLong)
	if ev.Type == runtime.Data && c.gone(check) {
		gr.release()
		g.metrics.EventsSkipped.Inc()
		return grant{}, errGone
	}
	return gr, nil
}

// waitedLong is how long an event may wait for a runtime (or the previous
// event of its connection may take) before the client's socket is checked
// for a hang-up: a backlog builds only behind slow events, and checking
// every event would cost a system call each.
const waitedLong = 10 * time.Millisecond

// gone reports whether c's events should no longer run: it is closing, or
// (when check is set) its client has shut its side of the TCP connection.
// A client that went away is marked closing, so the rest of its backlog is
// read and dropped without running, up to its close frame or end of stream.
func (c *conn) gone(check bool) bool {
	if c.closing.Load() {
		return true
	}
	if check && c.ws != nil && peerClosed(c.ws.NetConn()) {
		c.closing.Store(true)
		return true
	}
	return false
}

// strike counts an interrupted event of c, or clears the count after one
// that was not, and closes c after MaxScriptInterrupts in a row. It runs on
// the read loop, which owns c.interrupts.
func (g *Gateway) strike(c *conn, err error) {
	if err == nil { // first, so that se costs no allocation per event
		c.interrupts = 0
		return
	}
	var se *runtime.ScriptError
	if !errors.As(err, &se) || !se.Interrupted() {
		c.interrupts = 0
		return
	}
	c.interrupts++
	if n := g.opts.Limits.MaxScriptInterrupts; c.interrupts >= n {
		g.log.Warn("closing a connection whose events keep being interrupted", "socket_id", c.info.ID,
			"route", c.info.Route, "interrupts", c.interrupts, "code", closeInterrupted)
		_ = c.Close(closeInterrupted, fmt.Sprintf("script interrupted %d times in a row", c.interrupts))
	}
}
