package gateway

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/lxzan/gws"
	"golang.org/x/time/rate"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/deploy"
)

// conn is one WebSocket connection held by this node.
type conn struct {
	g        *Gateway
	ws       *gws.Conn
	guard    frameGuard // the socket gws reads, behind the frame-header guard
	info     *wsgw.SocketInfo
	endpoint *deploy.Endpoint
	slots    semaphore // the endpoint's share of the script workers (fairshare.go)
	remote   string
	ip       netip.Addr // counted in the per-IP limit; invalid when that limit is off
	opened   time.Time
	limiter  *rate.Limiter // nil when the rate limit is lifted
	written  func(error)   // the WriteAsync callback, made once per connection
	stomp    *stompSession // nil unless the endpoint speaks STOMP
	// broadcasted follows a broadcast frame in the write queue (groups.go),
	// made once per connection.
	broadcasted func()

	// Set before the upgrade, read-only after.
	claims  map[string]any // the verified token's claims; nil without auth
	expires int64          // the token's exp in Unix ns; 0 for none
	refusal *refusal       // non-nil: closed at once after the upgrade
	// authUser is the user the token names ("" for none): the socket's
	// user from its open on.
	authUser string

	// user, groups and unindexed are guarded by Conns.ixMu (groups.go):
	// unindexed is set when the connection closes, and nothing joins after.
	user      string
	groups    map[string]struct{}
	unindexed bool

	expiryIndex int // position in the expiry queue, -1 when not in it; guarded by its lock

	lastSeen atomic.Int64 // Unix ns of the last frame from the client
	pending  atomic.Int64 // frames queued for writing
	in       atomic.Int64
	out      atomic.Int64
	dropped  atomic.Int64
	closing  atomic.Bool
	finished atomic.Bool // finish has run
	// scriptVersion is the version of the script the last event ran.
	scriptVersion atomic.Int64

	// Set on the read loop, read by finish on the same loop.
	counted   bool  // in the table, the gauge and the store
	openRan   bool  // the open event ran, so the close event must
	heldSince int64 // on_exceed: delay: Unix ns when the rate limit began holding the connection back; 0 when it is not
	// interrupts counts this connection's events interrupted in a row
	// (fairshare.go).
	interrupts int
	slow       bool  // the last event ran longer than waitedLong
	streak     uint8 // messages in a row that came within busyGap of the one before (gateway.go)
	heavy      bool  // the last event ran longer than heavyEvent (gateway.go)
	// offLoop is set while the connection's callback runs on a goroutine
	// other than its read loop, whose stack may grow (readloop.go).
	offLoop bool

	// wake is closed by Close to end a rate-limit delay; made on the
	// connection's first delay, nil before. Guarded by mu.
	wake chan struct{}

	// mu guards the close decision, which may come from any goroutine, and
	// defers a close asked for during the connection's own event; and the
	// outbox.
	mu       sync.Mutex
	inEvent  bool // from the start of an event to the end of its outbox's flush
	deferred bool
	flushing bool // the read loop is writing the outbox
	// outbox holds the frames sent to the connection while its event runs,
	// which its read loop writes itself when the event ends (flushOutbox);
	// nil between events.
	outbox      *outbox
	closeCode   int
	closeReason string
	// state is websocketInfo.state as the scripts last saved it (JSON), nil
	// for none. Each save overwrites it in place, so a state that changes
	// on every message costs no allocation; info copies it under mu.
	state []byte
	// stateQueued is set while the connection waits in the gateway's next
	// batch of states (statewrites.go).
	stateQueued atomic.Bool
}

// Errors Send returns; the service turns them into answers.
var (
	errClosing     = errors.New("the socket is closing")
	errBackpressed = errors.New("the socket's send queue is full; it is being closed with 1013")
)

func (c *conn) Info() *wsgw.SocketInfo { return c.info }

// Auth returns the verified token's claims, nil when the endpoint has no auth.
func (c *conn) Auth() map[string]any { return c.claims }

// UserID returns the user the verified token names (the claim auth.user_claim
// names, when it is a string), "" for none.
func (c *conn) UserID() string { return c.user }

// Send queues a text or binary frame. A STOMP connection has no
// destination for it: the message is dropped and counted.
func (c *conn) Send(payload []byte, binary bool) error {
	if c.stomp != nil {
		return c.stomp.deliver(&wsgw.Message{Data: payload, Binary: binary})
	}
	op := gws.OpcodeText
	if binary {
		op = gws.OpcodeBinary
	}
	return c.write(op, payload)
}

// write queues a frame: in the outbox while the connection's event runs,
// else on gws's per-connection writer. Past either, a client that does not
// read cannot stall anyone: when more than max_pending_sends frames wait,
// the connection is closed with 1013.
func (c *conn) write(op gws.Opcode, payload []byte) error {
	if err := c.reserve(); err != nil {
		return err
	}
	c.queue(op, payload, c.written)
	return nil
}

// queue puts a frame counted in pending in the outbox, or on gws's writer
// when no event runs; done is called once it is written or has failed.
func (c *conn) queue(op gws.Opcode, payload []byte, done func(error)) {
	c.mu.Lock()
	if c.inEvent {
		c.outboxLocked().frames = append(c.outbox.frames, outFrame{op, payload, done})
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.ws.WriteAsync(op, payload, done)
}

// reserve counts a frame about to be queued, or refuses it: the
// connection is closing, or has max_pending_sends frames queued already
// (then it is closed with 1013).
func (c *conn) reserve() error {
	if c.closing.Load() {
		c.g.metrics.refusedClosing.Inc()
		return errClosing
	}
	if c.pending.Add(1) > int64(c.g.opts.Limits.MaxPendingSends) {
		c.pending.Add(-1)
		c.g.metrics.refusedBackpressure.Inc()
		_ = c.Close(1013, "too many pending messages")
		return errBackpressed
	}
	return nil
}

// Deliver queues m: to its destination's subscriptions on a STOMP
// connection, as a plain frame on any other.
func (c *conn) Deliver(m *wsgw.Message) error {
	if c.stomp != nil {
		return c.stomp.deliver(m)
	}
	return c.Send(m.Data, m.Binary)
}

func (c *conn) onWritten(err error) {
	c.pending.Add(-1)
	if err == nil {
		c.out.Add(1)
		c.g.metrics.MessagesOut.Inc()
	}
}

// Close starts the closing handshake with code and reason. Asked for while
// the connection's own event runs, it takes effect when that event returns,
// so that what the script sent before and after still goes out first.
func (c *conn) Close(code int, reason string) error {
	c.mu.Lock()
	if c.closeCode != 0 {
		c.mu.Unlock()
		return nil
	}
	c.closeCode, c.closeReason = code, truncateReason(reason)
	if c.wake != nil {
		close(c.wake)
	}
	if c.inEvent {
		c.deferred = true
		if c.flushing { // the read loop may be stuck writing to a client that does not read
			_ = c.ws.SetWriteDeadline(time.Now().Add(c.g.opts.Limits.CloseTimeout))
		}
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	c.startClose()
	return nil
}

// beginEvent and endEvent bracket a script run on the read loop. Frames
// sent to the connection in between wait in its outbox, and endEvent
// writes them, then starts a close the event asked for.
func (c *conn) beginEvent() {
	c.mu.Lock()
	c.inEvent = true
	c.mu.Unlock()
}

func (c *conn) endEvent() {
	c.mu.Lock()
	c.flushOutbox()
	c.inEvent = false
	start := c.deferred
	c.deferred = false
	c.mu.Unlock()
	if start {
		c.startClose()
	}
}

// startClose sends the close frame after every frame already queued, then
// half-closes the socket so the client's close frame and FIN end the read
// loop. close_timeout bounds both the flush and the wait for the client.
func (c *conn) startClose() {
	c.closing.Store(true)
	c.mu.Lock()
	code, reason := c.closeCode, c.closeReason
	c.mu.Unlock()
	_ = c.ws.SetDeadline(time.Now().Add(c.g.opts.Limits.CloseTimeout))
	if c.stomp != nil {
		c.stomp.beforeClose(code, reason)
	}
	payload := make([]byte, 2+len(reason))
	binary.BigEndian.PutUint16(payload, uint16(code))
	copy(payload[2:], reason)
	c.ws.Async(func() {
		if err := c.ws.WriteMessage(gws.OpcodeCloseConnection, payload); err == nil {
			if cw, ok := c.ws.NetConn().(interface{ CloseWrite() error }); ok {
				_ = cw.CloseWrite()
			}
		}
	})
}

// errFailed ends gws's read loop after conn.fail.
var errFailed = errors.New("the connection failed on a frame the gateway refused")

// fail ends the connection on a frame the guard refused, as RFC 6455 §7.1.7
// says: the close frame goes out after every frame already queued, then the
// socket is closed without processing anything more. It runs on the read
// loop, which it holds for at most close_timeout, and returns the error that
// ends it.
func (c *conn) fail(code int, reason string) error {
	c.closing.Store(true)
	c.mu.Lock()
	first := c.closeCode == 0
	if first {
		c.closeCode, c.closeReason = code, reason
	}
	c.mu.Unlock()
	_ = c.ws.SetDeadline(time.Now().Add(c.g.opts.Limits.CloseTimeout))
	if first { // else the close frame of the close already begun is queued
		c.startClose()
	}
	c.flush()
	c.linger()
	_ = c.ws.NetConn().Close()
	return errFailed
}

// linger reads and discards what the client still sends until it closes
// its side or the deadline passes. Closing a socket with bytes unread makes
// the kernel answer with a reset, which can destroy the frames still on
// their way to the client, the close frame among them.
func (c *conn) linger() {
	var buf [512]byte
	for {
		if _, err := c.guard.Conn.Read(buf[:]); err != nil {
			return
		}
	}
}

// flush waits until every frame queued so far is written, or close_timeout.
func (c *conn) flush() {
	done := make(chan struct{})
	c.ws.Async(func() { close(done) })
	c.wait(done)
}

func (c *conn) wait(done <-chan struct{}) {
	t := time.NewTimer(c.g.opts.Limits.CloseTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// abort ends a connection whose read loop is gone: the close frame goes out
// at once, bounded by close_timeout, then the socket is closed.
func (c *conn) abort(code int, reason string) {
	c.closing.Store(true)
	c.mu.Lock()
	if c.closeCode == 0 {
		c.closeCode, c.closeReason = code, reason
	}
	code, reason = c.closeCode, c.closeReason
	c.mu.Unlock()
	_ = c.ws.SetDeadline(time.Now().Add(c.g.opts.Limits.CloseTimeout))
	_ = c.ws.WriteClose(uint16(code), []byte(reason))
	_ = c.ws.NetConn().Close()
}

// ping writes a ping frame directly, bounded by timeout. It skips a
// connection that is closing or has frames queued: its writer is busy, and
// the next sweep will ping it. The write deadline is only cleared if no close
// set its own meanwhile.
func (c *conn) ping(timeout time.Duration) {
	c.mu.Lock()
	if c.closeCode != 0 || c.pending.Load() > 0 {
		c.mu.Unlock()
		return
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(timeout))
	c.mu.Unlock()
	err := c.ws.WritePing(nil)
	c.mu.Lock()
	if c.closeCode == 0 && err == nil {
		_ = c.ws.SetWriteDeadline(time.Time{})
	}
	c.mu.Unlock()
}

// closedBy returns the code and reason this side closed with, if it did.
func (c *conn) closedBy() (int, string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeCode, c.closeReason, c.closeCode != 0
}

// snapshot is the info operation's answer for a local socket.
func (c *conn) snapshot() *wsgw.Socket {
	user, groups := c.g.conns.identity(c)
	return &wsgw.Socket{
		SocketInfo:      *c.info,
		Type:            "open",
		MessagesIn:      c.in.Load(),
		MessagesOut:     c.out.Load(),
		MessagesDropped: c.dropped.Load(),
		ScriptVersion:   c.scriptVersion.Load(),
		State:           c.stateCopy(),
		UserID:          user,
		Groups:          groups,
	}
}

// State is websocketInfo.state as last saved, as JSON, for the engine: it
// is valid until the connection's next SaveState. Only the connection's
// own events call it, and only they write c.state (SaveState), one at a
// time, so it reads without mu.
func (c *conn) State() []byte {
	if c.state == nil {
		return wsgw.EmptyState
	}
	return c.state
}

// stateCopy is the state for info, which runs beside the connection's
// events.
func (c *conn) stateCopy() json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == nil {
		return wsgw.EmptyState
	}
	return bytes.Clone(c.state)
}

// SaveState keeps a copy of state (JSON) with the connection and queues
// it for the registry's next batch (statewrites.go): the engine calls it
// only when an event changed the state, and reuses state's bytes
// afterwards.
func (c *conn) SaveState(state []byte) error {
	c.mu.Lock()
	if cap(c.state) > 1024 && cap(c.state) > 4*len(state) {
		c.state = nil // a state that shrank does not keep its largest buffer
	}
	c.state = append(c.state[:0], state...)
	c.mu.Unlock()
	c.g.states.add(c)
	return nil
}

// User is the user the socket is bound to, "" for none.
func (c *conn) User() string {
	c.g.conns.ixMu.RLock()
	defer c.g.conns.ixMu.RUnlock()
	return c.user
}

// SetUser binds the socket to user; "" unbinds it.
func (c *conn) SetUser(user string) error { return c.g.conns.setUser(c, user) }

// Join puts the socket in group.
func (c *conn) Join(group string) error { return c.g.conns.join(c, group) }

// Leave takes the socket out of group.
func (c *conn) Leave(group string) error { return c.g.conns.leave(c, group) }

// truncateReason keeps a close reason within the 123 bytes a close frame
// allows, without splitting a UTF-8 sequence.
func truncateReason(s string) string {
	const max = 123
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
