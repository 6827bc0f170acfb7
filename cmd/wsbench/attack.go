package main

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
)

// attackers are --attackers connections to --attack-url that each send a
// small message --attack-rate times a second while the echo scenario runs,
// and connect again whenever the gateway closes them: a persistent client
// whose messages make the target's script misbehave (for example an
// endpoint whose data event is `while (true) {}`). The echo clients' RTT then
// shows what such clients cost everyone else.
type attackers struct {
	r      *runner
	target endpoint

	dials, dialFailed, sent atomic.Int64
	mu                      sync.Mutex
	closes                  map[string]int64 // close codes the gateway sent, "1006" for a drop
}

// attackMessage is what every attacker sends.
var attackMessage = []byte("attack")

// run keeps --attackers connections busy until ctx ends.
func (a *attackers) run(ctx context.Context) {
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / a.r.cfg.AttackRate)
	for i := range a.r.cfg.Attackers {
		wg.Go(func() { a.attack(ctx, i, interval) })
	}
	wg.Wait()
}

// attack is one attacker: connect, send at its rate until the connection
// ends, connect again after a short pause, until ctx ends.
func (a *attackers) attack(ctx context.Context, i int, interval time.Duration) {
	for ctx.Err() == nil {
		h := &attackConn{closed: make(chan struct{})}
		timeout := time.Duration(a.r.cfg.DialTimeout)
		conn, _, err := gws.NewClient(h, &gws.ClientOption{
			Addr:             a.target.URL,
			HandshakeTimeout: timeout,
			Logger:           gwsLogger{},
			NewDialer: func() (gws.Dialer, error) {
				return fixedDialer{sourceDialer(i, a.r.srcAddrs, timeout), a.target.Addr.String()}, nil
			},
		})
		a.dials.Add(1)
		if err != nil {
			a.dialFailed.Add(1)
			pause(ctx, 100*time.Millisecond)
			continue
		}
		go conn.ReadLoop()
		a.send(ctx, conn, h, interval)
		if ctx.Err() == nil { // the target ended it, or a write failed and the connection is ending
			select {
			case <-h.closed:
			case <-time.After(timeout):
				_ = conn.NetConn().Close()
				<-h.closed
			}
			a.mu.Lock()
			a.closes[h.code]++
			a.mu.Unlock()
		} else { // the run is over
			_ = conn.WriteClose(1000, nil)
			_ = conn.NetConn().Close()
			<-h.closed
		}
		pause(ctx, 50*time.Millisecond)
	}
}

// send writes attackMessage every interval until ctx ends or the connection closes.
func (a *attackers) send(ctx context.Context, conn *gws.Conn, h *attackConn, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		_ = conn.SetWriteDeadline(time.Now().Add(interval))
		if conn.WriteMessage(gws.OpcodeText, attackMessage) != nil {
			return
		}
		a.sent.Add(1)
		select {
		case <-ctx.Done():
			return
		case <-h.closed:
			return
		case <-t.C:
		}
	}
}

func (a *attackers) stats() *AttackStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	closes := make(map[string]int64, len(a.closes))
	for k, v := range a.closes {
		closes[k] = v
	}
	return &AttackStats{Attackers: a.r.cfg.Attackers, Dials: a.dials.Load(), DialFailed: a.dialFailed.Load(),
		Sent: a.sent.Load(), Closes: closes}
}

func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// attackConn records how the gateway ended an attacker's connection.
type attackConn struct {
	code   string
	closed chan struct{}
}

func (h *attackConn) OnOpen(*gws.Conn) {}
func (h *attackConn) OnClose(_ *gws.Conn, err error) {
	h.code = "1006"
	var ce *gws.CloseError
	if errors.As(err, &ce) {
		h.code = strconv.Itoa(int(ce.Code))
	}
	close(h.closed)
}
func (h *attackConn) OnPing(c *gws.Conn, p []byte) { _ = c.WritePong(p) }
func (h *attackConn) OnPong(*gws.Conn, []byte)     {}
func (h *attackConn) OnMessage(_ *gws.Conn, m *gws.Message) {
	_ = m.Close()
}
