package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
)

// onMessage handles a data message that client c received at time at; data
// is only valid during the call.
type onMessage func(c *client, data []byte, at time.Time)

// fleet is the set of WebSocket clients of one process and what their setup
// measured. Every scenario but baseline starts by dialing a fleet.
type fleet struct {
	r     *runner
	onMsg onMessage
	// onOpen, when set, runs once a connection's handshake is done, before
	// its read loop starts (fanout's STOMP members send CONNECT there).
	onOpen func(c *client)
	// header is added to every upgrade request (fanout's STOMP members ask
	// for a subprotocol with it).
	header http.Header

	mu      sync.Mutex
	clients []*client // connected ones, in no particular order

	hs           *Histogram
	failures     *reasons // dial and handshake failures
	errs         *reasons // errors after connecting
	attempted    atomic.Int64
	failed       atomic.Int64
	closedByPeer atomic.Int64
	closing      atomic.Bool
	loops        sync.WaitGroup
	dialSec      float64
}

func newFleet(r *runner, onMsg onMessage) *fleet {
	return &fleet{r: r, onMsg: onMsg, hs: newHistogram(),
		failures: newReasons("connection failed"), errs: newReasons("connection error")}
}

// dial opens this process's share of connections with --concurrency dialers
// at rate handshakes/s (0 = as fast as the dialers go). It returns when every
// connection was attempted or ctx ended.
func (f *fleet) dial(ctx context.Context, rate float64) {
	p := newPacer(rate, int64(f.r.share.Conns))
	start := time.Now()
	var wg sync.WaitGroup
	for range min(f.r.cfg.Concurrency, f.r.share.Conns) {
		wg.Go(func() {
			for {
				i, ok := p.wait(ctx)
				if !ok {
					return
				}
				f.dialOne(int64(f.r.share.Offset) + i)
			}
		})
	}
	wg.Wait()
	f.dialSec = time.Since(start).Seconds()
}

// dialOne opens the connection with global index k and starts its read
// loop. Connections go to the --url targets in turn: k to target k mod n.
func (f *fleet) dialOne(k int64) {
	c := &client{id: k, f: f}
	timeout := time.Duration(f.r.cfg.DialTimeout)
	n := int64(len(f.r.targets))
	target, src := f.r.targets[k%n], int(k/n)
	opt := &gws.ClientOption{
		Addr:             target.URL,
		RequestHeader:    f.header.Clone(),
		HandshakeTimeout: timeout,
		Logger:           gwsLogger{},
		NewDialer: func() (gws.Dialer, error) {
			return fixedDialer{sourceDialer(src, f.r.srcAddrs, timeout), target.Addr.String()}, nil
		},
	}
	f.attempted.Add(1)
	t0 := time.Now()
	conn, resp, err := gws.NewClient(c, opt)
	if err != nil {
		f.failed.Add(1)
		f.r.ctr.errors.Add(1)
		f.failures.add(classify(err, resp), err)
		return
	}
	f.hs.Record(time.Since(t0))
	c.conn = conn
	f.mu.Lock()
	f.clients = append(f.clients, c)
	f.mu.Unlock()
	f.r.ctr.conns.Add(1)
	f.loops.Add(1)
	if f.onOpen != nil {
		f.onOpen(c)
	}
	go conn.ReadLoop()
}

// connected returns the clients that completed their handshake.
func (f *fleet) connected() []*client {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.clients
}

// closeAll closes every connection with a normal close frame and waits for
// the read loops to end. The write deadline keeps a peer that stopped
// reading from blocking the close.
func (f *fleet) closeAll() {
	f.closing.Store(true)
	for _, c := range f.connected() {
		_ = c.conn.SetWriteDeadline(time.Now().Add(time.Second))
		_ = c.conn.WriteClose(1000, nil)
	}
	f.loops.Wait()
}

// connStats reports connection setup; call it after dial.
func (f *fleet) connStats() ConnStats {
	ok := f.attempted.Load() - f.failed.Load()
	s := ConnStats{
		Attempted:    f.attempted.Load(),
		OK:           ok,
		Failed:       f.failed.Load(),
		Failures:     f.failures.counts(),
		DialSec:      f.dialSec,
		Handshake:    f.hs.Snapshot(),
		ClosedByPeer: f.closedByPeer.Load(),
	}
	if f.dialSec > 0 {
		s.HandshakesPerSec = float64(ok) / f.dialSec
	}
	return s
}

// client is one WebSocket connection; it is its own gws event handler.
type client struct {
	id   int64 // global connection index, unique over all processes
	f    *fleet
	conn *gws.Conn

	mu  sync.Mutex // guards buf and seq: the first send and echo-driven ones run on different goroutines
	buf []byte
	seq int64

	done atomic.Bool // a scenario's one-shot flag (idle: warm-up echo seen)
}

// send writes the next identifying message of the given size.
func (c *client) send(size int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	c.buf = appendMsg(c.buf, c.id, c.seq, time.Now().UnixNano(), size)
	if err := c.conn.WriteMessage(gws.OpcodeText, c.buf); err != nil {
		if !c.f.closing.Load() {
			c.f.r.ctr.errors.Add(1)
			c.f.errs.add("write_"+classify(err, nil), err)
		}
		return fmt.Errorf("send on connection %d: %w", c.id, err)
	}
	c.f.r.ctr.sent.Add(1)
	return nil
}

func (c *client) OnOpen(*gws.Conn) {}

func (c *client) OnClose(_ *gws.Conn, err error) {
	if !c.f.closing.Load() {
		c.f.closedByPeer.Add(1)
		c.f.r.ctr.errors.Add(1)
		c.f.errs.add("closed_by_peer", err)
	}
	c.f.r.ctr.conns.Add(-1)
	c.f.loops.Done()
}

func (c *client) OnPing(socket *gws.Conn, payload []byte) { _ = socket.WritePong(payload) }

func (c *client) OnPong(*gws.Conn, []byte) {}

func (c *client) OnMessage(_ *gws.Conn, m *gws.Message) {
	c.f.onMsg(c, m.Bytes(), time.Now())
	_ = m.Close()
}

// fixedDialer dials the address checked by the loopback guard, whatever
// address gws derives from the URL.
type fixedDialer struct {
	d    *net.Dialer
	addr string
}

func (f fixedDialer) Dial(network, _ string) (net.Conn, error) { return f.d.Dial(network, f.addr) }

// gwsLogger routes gws's internal error log to slog.
type gwsLogger struct{}

func (gwsLogger) Error(v ...any) { slog.Error("gws: " + fmt.Sprint(v...)) }
