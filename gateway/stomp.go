package gateway

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/lxzan/gws"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/deploy"
	"github.com/wsgw/wsgw/runtime"
	"github.com/wsgw/wsgw/stomp"
)

// stompSession is the STOMP side of a connection to a STOMP endpoint
// (docs/stomp.md): the frames it reads, its subscriptions, its
// transactions and its heart-beats. A plain connection has none, and its
// read path pays one nil check for it.
type stompSession struct {
	c   *conn
	cfg *deploy.STOMP

	// Read loop only.
	dec       stomp.Decoder
	connected bool
	tx        map[string][]stompSend // open transactions: their SENDs, in order
	txSends   int                    // SENDs held in every open transaction

	// mu guards what deliveries and the heart-beat timer read from other
	// goroutines.
	mu      sync.Mutex
	version stomp.Version
	subs    map[string]subscription // by id
	beats   *time.Timer             // nil without heart-beats
	every   time.Duration           // the agreed server heart-beat interval; 0 for none
	expect  time.Duration           // the agreed client heart-beat interval; 0 for none
	nextOut time.Time               // when the next heart-beat is due
	// errFrame is the ERROR frame the close sends (beforeClose); quiet
	// means none: the client asked for the close (DISCONNECT).
	errFrame *stomp.Frame
	quiet    bool

	// written is the WriteAsync callback of the frames that are not
	// messages: heart-beats and the closing ERROR.
	written func(error)
}

// subscription is one SUBSCRIBE of a connection.
type subscription struct {
	destination string
	// acked: the client acknowledges its messages (ack mode client or
	// client-individual), so STOMP 1.2 MESSAGE frames carry an ack header.
	acked bool
}

// stompSend is a SEND held in a transaction until its COMMIT.
type stompSend struct {
	frame stomp.Frame // headers and a copy of the body
	at    int64       // when it was received, ms since the Unix epoch
}

// Bounds of what one STOMP connection may hold.
const (
	maxSTOMPTransactions  = 16
	maxSTOMPTxSends       = 1024
	maxSTOMPSubscriptions = 1024
)

// Close codes of a STOMP connection the gateway ends.
const (
	closeSTOMPProtocol = 1002 // a malformed frame, or one the protocol forbids here
	closeSTOMPRefused  = 1008 // the script refused a subscription
	closeHeartbeat     = 1001 // the client's heart-beats stopped
)

func newStompSession(c *conn, cfg *deploy.STOMP, maxBody int) *stompSession {
	return &stompSession{c: c, cfg: cfg, dec: stomp.Decoder{MaxBody: maxBody}, written: func(error) { c.pending.Add(-1) }}
}

// read handles one WebSocket message of the client: whole frames, and lone
// EOLs (heart-beats, which only refresh lastSeen). It runs on the read loop
// and stops at the first frame that ends the connection.
func (s *stompSession) read(msg []byte, now time.Time) {
	for f, err := range s.dec.Frames(msg) {
		if err != nil {
			s.refuse(closeSTOMPProtocol, "STOMP protocol error", err.Error(), "")
			return
		}
		if !s.frame(&f, now) || s.c.closing.Load() {
			return
		}
	}
}

// frame handles one client frame and reports whether the connection goes on.
func (s *stompSession) frame(f *stomp.Frame, now time.Time) bool {
	receipt := f.Get("receipt")
	if !s.connected && f.Command != stomp.CmdConnect && f.Command != stomp.CmdStomp {
		s.refuse(closeSTOMPProtocol, "STOMP protocol error", "the first frame must be CONNECT or STOMP, not "+f.Command, receipt)
		return false
	}
	if err := stomp.Validate(s.dec.Version, f); err != nil {
		s.refuse(closeSTOMPProtocol, "STOMP protocol error", err.Error(), receipt)
		return false
	}
	g, c := s.c.g, s.c
	switch f.Command {
	case stomp.CmdConnect, stomp.CmdStomp:
		if s.connected {
			s.refuse(closeSTOMPProtocol, "STOMP protocol error", "already connected: a second "+f.Command+" frame", receipt)
			return false
		}
		return s.connect(f, now)
	case stomp.CmdSubscribe:
		id, ok := f.Lookup("id")
		if !ok { // STOMP 1.0 may leave it out
			id = f.Get("destination")
		}
		if !s.subscribe(f, id, now) {
			return false
		}
	case stomp.CmdUnsubscribe:
		id, ok := f.Lookup("id")
		if !ok {
			id = f.Get("destination")
		}
		s.unsubscribe(f, id, now)
	case stomp.CmdSend:
		if c.limiter != nil && !g.allow(c, now) {
			c.dropped.Add(1)
			g.metrics.MessagesDropped.Inc()
			return !c.closing.Load()
		}
		if tx, ok := f.Lookup("transaction"); ok {
			if !s.hold(f, tx, now, receipt) {
				return false
			}
			break
		}
		s.send(f, now.UnixMilli())
	case stomp.CmdBegin:
		tx := f.Get("transaction")
		if _, open := s.tx[tx]; open {
			s.refuse(closeSTOMPProtocol, "STOMP protocol error", "transaction "+strconv.Quote(tx)+" is already open", receipt)
			return false
		}
		if len(s.tx) >= maxSTOMPTransactions {
			s.refuse(closeSTOMPProtocol, "too many transactions", fmt.Sprintf("more than %d open transactions", maxSTOMPTransactions), receipt)
			return false
		}
		if s.tx == nil {
			s.tx = make(map[string][]stompSend)
		}
		s.tx[tx] = nil
	case stomp.CmdCommit, stomp.CmdAbort:
		tx := f.Get("transaction")
		sends, open := s.tx[tx]
		if !open {
			s.refuse(closeSTOMPProtocol, "STOMP protocol error", "no open transaction "+strconv.Quote(tx), receipt)
			return false
		}
		delete(s.tx, tx)
		s.txSends -= len(sends)
		if f.Command == stomp.CmdCommit {
			for i := range sends {
				s.send(&sends[i].frame, sends[i].at)
				if c.closing.Load() {
					return false
				}
			}
		}
	case stomp.CmdDisconnect:
		s.mu.Lock()
		s.quiet = true
		s.mu.Unlock()
		if receipt != "" {
			s.write(stomp.ReceiptFrame(receipt))
		}
		_ = c.Close(1000, "STOMP DISCONNECT")
		return false
	case stomp.CmdAck, stomp.CmdNack:
		// Delivery is at most once: nothing waits for an acknowledgement.
	}
	if receipt != "" && !c.closing.Load() {
		s.write(stomp.ReceiptFrame(receipt))
	}
	return true
}

// connect runs the open event for a CONNECT or STOMP frame and, unless the
// script refused it, answers CONNECTED and starts the heart-beats.
func (s *stompSession) connect(f *stomp.Frame, now time.Time) bool {
	receipt := f.Get("receipt")
	v, err := stomp.NegotiateVersion(f.Get("accept-version"))
	if err != nil {
		s.refuseFrame(closeSTOMPProtocol, "STOMP protocol error", stomp.Frame{Command: stomp.CmdError, Headers: []stomp.Header{
			{Key: "message", Value: err.Error()}, {Key: "version", Value: stomp.SupportedVersions},
		}})
		return false
	}
	client, err := stomp.ParseHeartBeat(f.Get("heart-beat"))
	if err != nil {
		s.refuse(closeSTOMPProtocol, "STOMP protocol error", err.Error(), receipt)
		return false
	}
	s.dec.Version = v
	s.connected = true
	s.mu.Lock()
	s.version = v
	s.mu.Unlock()

	g, c := s.c.g, s.c
	c.openRan = true
	ev := runtime.Event{Type: runtime.Open, Timestamp: now.UnixMilli(), Frame: f}
	if err := g.runEvent(c, &ev); err != nil {
		s.refuse(1011, "open handler failed", "the endpoint refused the connection", receipt)
		return false
	}
	if c.closing.Load() {
		return false // the script closed it: beforeClose sends the ERROR
	}
	var every, expect time.Duration
	if v != stomp.V10 {
		every, expect = stomp.NegotiateHeartBeat(s.cfg.HeartBeat, client)
	}
	s.write(stomp.ConnectedFrame(v, s.cfg.HeartBeat, "wsgw", c.info.ID))
	s.startBeats(every, expect, now)
	return true
}

// subscribe runs the subscribe event of a SUBSCRIBE and records the
// subscription unless the script refused it.
func (s *stompSession) subscribe(f *stomp.Frame, id string, now time.Time) bool {
	receipt := f.Get("receipt")
	dest := f.Get("destination")
	s.mu.Lock()
	_, taken := s.subs[id]
	n := len(s.subs)
	s.mu.Unlock()
	switch {
	case taken:
		s.refuse(closeSTOMPProtocol, "STOMP protocol error", "subscription id "+strconv.Quote(id)+" is already in use", receipt)
		return false
	case n >= maxSTOMPSubscriptions:
		s.refuse(closeSTOMPProtocol, "too many subscriptions", fmt.Sprintf("more than %d subscriptions", maxSTOMPSubscriptions), receipt)
		return false
	case !utf8.ValidString(id):
		s.refuse(closeSTOMPProtocol, "STOMP protocol error", "the subscription id is not UTF-8", receipt)
		return false
	}
	ev := runtime.Event{Type: runtime.Subscribe, Timestamp: now.UnixMilli(), Frame: f, Destination: dest}
	err := s.c.g.runEvent(s.c, &ev)
	if errors.Is(err, errGone) || s.c.closing.Load() {
		return false
	}
	if err != nil {
		s.refuse(closeSTOMPRefused, "subscription refused", "the subscription to "+dest+" was refused", receipt)
		return false
	}
	if err := s.c.g.conns.join(s.c, dest); err != nil {
		s.refuse(closeSTOMPRefused, "subscription refused", "cannot subscribe to "+dest+": "+wsgw.ErrorMessage(err), receipt)
		return false
	}
	ack := f.Get("ack")
	s.mu.Lock()
	if s.subs == nil {
		s.subs = make(map[string]subscription)
	}
	s.subs[id] = subscription{destination: dest, acked: ack == "client" || ack == "client-individual"}
	s.mu.Unlock()
	return true
}

// unsubscribe ends subscription id, if there is one, and runs its
// unsubscribe event.
func (s *stompSession) unsubscribe(f *stomp.Frame, id string, now time.Time) {
	s.mu.Lock()
	sub, ok := s.subs[id]
	delete(s.subs, id)
	s.mu.Unlock()
	if !ok {
		return
	}
	dest := sub.destination
	if !s.subscribed(dest) { // its last subscription to dest: the socket leaves the group
		_ = s.c.g.conns.leave(s.c, dest)
	}
	ev := runtime.Event{Type: runtime.Unsubscribe, Timestamp: now.UnixMilli(), Frame: f, Destination: dest}
	_ = s.c.g.runEvent(s.c, &ev)
}

// hold keeps a SEND of transaction tx until its COMMIT; its body is copied,
// as the message it came in is reused.
func (s *stompSession) hold(f *stomp.Frame, tx string, now time.Time, receipt string) bool {
	sends, open := s.tx[tx]
	if !open {
		s.refuse(closeSTOMPProtocol, "STOMP protocol error", "no open transaction "+strconv.Quote(tx), receipt)
		return false
	}
	if s.txSends >= maxSTOMPTxSends {
		s.refuse(closeSTOMPProtocol, "transaction too large", fmt.Sprintf("more than %d SEND frames held in transactions", maxSTOMPTxSends), receipt)
		return false
	}
	held := *f
	held.Body = append([]byte(nil), f.Body...)
	s.tx[tx] = append(sends, stompSend{frame: held, at: now.UnixMilli()})
	s.txSends++
	return true
}

// send runs the data event of a SEND frame. A script error is logged by
// runEvent and leaves the connection open, as on every endpoint.
func (s *stompSession) send(f *stomp.Frame, at int64) {
	ev := runtime.Event{
		Type: runtime.Data, Data: f.Body, Binary: !utf8.Valid(f.Body), Timestamp: at,
		Frame: f, Destination: f.Get("destination"),
	}
	_ = s.c.g.runEvent(s.c, &ev)
}

// deliver sends m as a MESSAGE frame to each subscription of
// m.Destination; with none, m is dropped and counted.
func (s *stompSession) deliver(m *wsgw.Message) error {
	if !s.subscribed(m.Destination) {
		s.c.dropped.Add(1)
		s.c.g.metrics.MessagesDropped.Inc()
		return nil
	}
	return s.deliverMessage(newMessage(m), m.Destination)
}

// subscribed reports whether the connection has a subscription to dest.
func (s *stompSession) subscribed(dest string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sub := range s.subs {
		if sub.destination == dest {
			return true
		}
	}
	return false
}

// publication is one publish to the node's STOMP members of a group: the
// message encoded once, one message-id for all, and a broadcaster per
// distinct frame. Subscribers' frames differ only in version, subscription
// id and ack header, and clients use few ids ("sub-0", "0"), so most
// members share a frame, written as gws writes a plain publish: built once.
// It is used by the publishing goroutine alone.
type publication struct {
	msg    stompMessage
	id     string
	frames map[frameKey]*sharedFrame
}

type frameKey struct {
	v            stomp.Version
	subscription string
	acked        bool
}

func newPublication(g *Gateway, m *wsgw.Message) *publication {
	return &publication{msg: newMessage(m), id: strconv.FormatUint(g.stompIDs.Add(1), 10), frames: make(map[frameKey]*sharedFrame)}
}

func (p *publication) frame(k frameKey) *sharedFrame {
	b := p.frames[k]
	if b == nil {
		var f []byte
		if k.acked {
			f = p.msg.AppendAck(nil, k.v, k.subscription, p.id, p.id)
		} else {
			f = p.msg.Append(nil, k.v, k.subscription, p.id)
		}
		b = newSharedFrame(p.msg.op, f)
		p.frames[k] = b
	}
	return b
}

// close releases the broadcasters once every member has its frames queued.
func (p *publication) close() {
	for _, b := range p.frames {
		_ = b.Close()
	}
}

// publish queues p's frame to each subscription of group; with none (a
// broadcast, or a group the script joined without a SUBSCRIBE) the message
// is dropped and counted. It reports whether a frame was queued.
func (s *stompSession) publish(p *publication, group string) bool {
	var buf [4]frameKey
	keys := buf[:0]
	s.mu.Lock()
	v := s.version
	for id, sub := range s.subs {
		if sub.destination == group && group != "" {
			keys = append(keys, frameKey{v: v, subscription: id, acked: sub.acked && v == stomp.V12})
		}
	}
	s.mu.Unlock()
	if len(keys) == 0 {
		s.c.dropped.Add(1)
		s.c.g.metrics.MessagesDropped.Inc()
		return false
	}
	queued := false
	for _, k := range keys {
		queued = s.c.broadcast(p.frame(k)) || queued
	}
	return queued
}

// deliverMessage queues t's MESSAGE frame to each subscription of dest:
// one allocation per frame, the template's. The frames are queued after mu
// is released: a full queue closes the connection, which takes mu.
func (s *stompSession) deliverMessage(t stompMessage, dest string) error {
	var buf [4][]byte
	frames := buf[:0]
	s.mu.Lock()
	v := s.version
	for id, sub := range s.subs {
		if sub.destination != dest {
			continue
		}
		mid := s.nextMessageID()
		if sub.acked && v == stomp.V12 {
			frames = append(frames, t.AppendAck(nil, v, id, mid, mid))
		} else {
			frames = append(frames, t.Append(nil, v, id, mid))
		}
	}
	s.mu.Unlock()
	for _, f := range frames {
		if err := s.c.write(t.op, f); err != nil {
			return err
		}
	}
	return nil
}

// stompMessage is one message encoded once for every subscriber of a
// destination (stomp.MessageTemplate), and the opcode its frames go out with.
type stompMessage struct {
	*stomp.MessageTemplate
	op gws.Opcode
}

func newMessage(m *wsgw.Message) stompMessage {
	sm := stomp.Message{Destination: m.Destination, ContentType: "text/plain", Body: m.Data}
	switch {
	case m.JSON:
		sm.ContentType = "application/json"
	case m.Binary:
		sm.ContentType = "application/octet-stream"
	}
	text := utf8.Valid(m.Data) && utf8.ValidString(m.Destination)
	for k, v := range m.Headers {
		sm.Headers = append(sm.Headers, stomp.Header{Key: k, Value: v})
		text = text && utf8.ValidString(k) && utf8.ValidString(v)
	}
	op := gws.OpcodeText
	if !text {
		op = gws.OpcodeBinary
	}
	return stompMessage{stomp.NewMessageTemplate(sm), op}
}

// nextMessageID is a message-id unique on this node, so in each
// connection: one per message, shared by every subscriber of a publish.
func (s *stompSession) nextMessageID() string {
	return strconv.FormatUint(s.c.g.stompIDs.Add(1), 10)
}

// write queues a server frame, as text (a frame is text unless its body
// is not UTF-8: the headers are).
func (s *stompSession) write(f stomp.Frame) {
	s.mu.Lock()
	v := s.version
	s.mu.Unlock()
	op := gws.OpcodeText
	if !utf8.Valid(f.Body) {
		op = gws.OpcodeBinary
	}
	_ = s.c.write(op, stomp.Append(nil, v, &f))
}

// refuse ends the connection with an ERROR frame saying message (and the
// receipt-id of the frame that failed), then a close with code and reason.
func (s *stompSession) refuse(code int, reason, message, receipt string) {
	s.refuseFrame(code, reason, stomp.ErrorFrame(message, receipt, ""))
}

func (s *stompSession) refuseFrame(code int, reason string, f stomp.Frame) {
	s.c.g.log.Info("STOMP connection refused", "socket_id", s.c.info.ID, "route", s.c.info.Route,
		"code", code, "error", f.Get("message"))
	s.mu.Lock()
	if s.errFrame == nil {
		s.errFrame = &f
	}
	s.mu.Unlock()
	_ = s.c.Close(code, reason)
}

// beforeClose queues the ERROR frame that tells a STOMP client why the
// gateway closes its connection, ahead of the close frame: the one refuse
// set, or one saying the close reason. A DISCONNECT closes without one. It
// runs once, from conn.startClose, and stops the heart-beats.
func (s *stompSession) beforeClose(code int, reason string) {
	s.mu.Lock()
	if s.beats != nil {
		s.beats.Stop()
	}
	f, quiet, v := s.errFrame, s.quiet, s.version
	s.mu.Unlock()
	if quiet {
		return
	}
	if f == nil {
		if reason == "" {
			reason = "the connection is closed (" + strconv.Itoa(code) + ")"
		}
		e := stomp.ErrorFrame(reason, "", "")
		f = &e
	}
	s.c.pending.Add(1)
	s.c.ws.WriteAsync(gws.OpcodeText, stomp.Append(nil, v, f), s.written)
}

// startBeats starts the timer that sends heart-beats every `every` and
// closes a connection that has been silent for twice `expect`.
func (s *stompSession) startBeats(every, expect time.Duration, now time.Time) {
	if every == 0 && expect == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.every, s.expect = every, expect
	s.nextOut = now.Add(every)
	s.beats = time.AfterFunc(s.due(now), s.beat)
}

// due is how long until the timer must look again: the next heart-beat, or
// the moment the client's silence becomes too long. Under mu.
func (s *stompSession) due(now time.Time) time.Duration {
	d := time.Duration(1<<63 - 1)
	if s.every > 0 {
		d = s.nextOut.Sub(now)
	}
	if s.expect > 0 {
		last := time.Unix(0, s.c.lastSeen.Load())
		d = min(d, last.Add(2*s.expect).Sub(now))
	}
	return max(d, time.Millisecond)
}

// beat is the heart-beat timer: it sends an EOL when one is due, and closes
// a client silent for twice its agreed interval.
func (s *stompSession) beat() {
	c := s.c
	if c.closing.Load() {
		return
	}
	now := time.Now()
	s.mu.Lock()
	if s.every > 0 && !now.Before(s.nextOut) {
		s.nextOut = now.Add(s.every)
		if c.pending.Add(1) <= int64(c.g.opts.Limits.MaxPendingSends) {
			c.ws.WriteAsync(gws.OpcodeText, eol, s.written)
		} else {
			c.pending.Add(-1) // the queue is full of frames, which are heart-beats too
		}
	}
	if s.expect > 0 {
		silent := now.Sub(time.Unix(0, c.lastSeen.Load()))
		if silent >= 2*s.expect {
			s.mu.Unlock()
			c.g.log.Info("STOMP heart-beat missed", "socket_id", c.info.ID, "route", c.info.Route,
				"silent_ms", silent.Milliseconds(), "expected_ms", s.expect.Milliseconds())
			_ = c.Close(closeHeartbeat, "STOMP heart-beat timeout")
			return
		}
	}
	s.beats.Reset(s.due(now))
	s.mu.Unlock()
}

// eol is a heart-beat.
var eol = []byte{'\n'}
