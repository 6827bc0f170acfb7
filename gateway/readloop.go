package gateway

import (
	"sync/atomic"

	"github.com/lxzan/gws"
)

// Each connection's read loop is a goroutine that spends its life parked in
// a read. The runtime starts a goroutine with a 2 KiB stack and doubles it
// when a call goes deeper than about 1,100 bytes; it halves a stack only
// when less than a quarter of it, counting an 800-byte guard, is in use, so
// a read loop that once grew keeps 4 KiB for good (docs/BENCHMARKS.md,
// "Memory per idle connection"). The read loop therefore makes no deep call
// of its own: the open event runs on the goroutine that upgraded the
// connection (ServeHTTP), and each message and ping is handed to a helper
// goroutine while the read loop waits (hops). Only the close, after which
// the read loop ends, runs on it, and the events of a busy connection,
// which saves two goroutine switches each (handOff), and the frames of a
// STOMP session; such a connection keeps the 4 KiB stack this grows to.

// hops is the event handler gws calls on the read loops; it runs their
// callbacks on helper goroutines, whose stacks may grow as deep as the
// callbacks go. A helper waits for the next callback after its own, up to
// maxIdleHelpers of them; a burst beyond that starts more, which end when
// it has passed. The hand-over itself allocates nothing on the read loop
// once warm (a runtime allocation there goes deep enough to grow the
// stack): hops are reused through a free list that, unlike a sync.Pool, a
// collection does not empty.
type hops struct {
	events events
	jobs   chan *hop // unbuffered: a send succeeds only when a helper waits
	free   chan *hop
	idle   atomic.Int32
	stop   <-chan struct{}
}

// maxIdleHelpers is how many helpers wait for work between bursts, and
// maxFreeHops how many hops are kept for reuse.
const (
	maxIdleHelpers = 64
	maxFreeHops    = 1024
)

// hop is one callback handed from a read loop to a helper.
type hop struct {
	socket *gws.Conn
	msg    *gws.Message // nil for a ping
	ping   []byte
	done   chan struct{}
}

func newHops(e events, stop <-chan struct{}) *hops {
	return &hops{events: e, jobs: make(chan *hop), free: make(chan *hop, maxFreeHops), stop: stop}
}

// OnOpen does nothing: ServeHTTP ran the open before starting the read loop.
func (*hops) OnOpen(*gws.Conn) {}

// OnClose runs on the read loop, which ends right after.
func (h *hops) OnClose(socket *gws.Conn, err error) { h.events.OnClose(socket, err) }

func (h *hops) OnPong(socket *gws.Conn, payload []byte) { h.events.OnPong(socket, payload) }

func (h *hops) OnMessage(socket *gws.Conn, msg *gws.Message) {
	// A busy connection's event runs on the read loop anyway (handOff). A
	// STOMP session's frames stay on it too: handed over, an UNSUBSCRIBE's
	// receipt was sometimes never written (TestSTOMPConnectAndEcho, run
	// with the other STOMP tests); not understood yet.
	if c := connOf(socket); c.busy() || c.stomp != nil {
		h.events.OnMessage(socket, msg)
		return
	}
	var j *hop
	select {
	case j = <-h.free:
	default:
		j = &hop{done: make(chan struct{}, 1)}
	}
	j.socket, j.msg = socket, msg
	select { // run's body, which a call would put one frame deeper
	case h.jobs <- j:
	default:
		go h.helper(j)
	}
	<-j.done
	j.socket, j.msg = nil, nil
	select {
	case h.free <- j:
	default:
	}
}

func (h *hops) OnPing(socket *gws.Conn, payload []byte) {
	j := &hop{socket: socket, ping: payload, done: make(chan struct{}, 1)} // rare: not worth a reuse
	select {
	case h.jobs <- j:
	default:
		go h.helper(j)
	}
	<-j.done
}

func (h *hops) helper(j *hop) {
	for {
		c := connOf(j.socket)
		c.offLoop = true // the read loop waits for j.done
		if j.msg != nil {
			h.events.OnMessage(j.socket, j.msg) // recovers its own panics
		} else {
			h.ping(j)
		}
		c.offLoop = false
		j.done <- struct{}{} // j is the read loop's again
		if h.idle.Add(1) > maxIdleHelpers {
			h.idle.Add(-1)
			return
		}
		select {
		case j = <-h.jobs:
			h.idle.Add(-1)
		case <-h.stop:
			h.idle.Add(-1)
			return
		}
	}
}

// ping answers a ping; a panic closes the connection with 1011, as one in
// any other callback does.
func (h *hops) ping(j *hop) {
	defer h.events.recover(connOf(j.socket), "ping")
	h.events.OnPing(j.socket, j.ping)
}
