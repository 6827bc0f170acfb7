package gateway

import (
	"context"
	"errors"
	"runtime/debug"
	"time"

	"github.com/lxzan/gws"

	"github.com/wsgw/wsgw/runtime"
)

// events receives gws's callbacks. All of them run on the connection's read
// loop, so one connection's events are serial without a lock.
type events struct{ g *Gateway }

func (e events) OnOpen(socket *gws.Conn) {
	g, c := e.g, connOf(socket)
	defer e.recover(c, "open")
	if c.refusal != nil {
		g.refuseUpgraded(c)
		return
	}
	g.conns.add(c)
	g.metrics.ConnectionsOpen.Inc()
	g.metrics.ConnectionsOpened.Inc()
	g.storms.upgrade()
	c.counted = true
	if c.expires != 0 {
		g.expiries.add(c)
	}
	if err := g.opts.Registry.Register(context.Background(), c.info); err != nil {
		g.metrics.StoreErrors.WithLabelValues("register").Inc()
		g.log.Error("store register failed", "socket_id", c.info.ID, "err", err)
	}
	if c.authUser != "" {
		_ = g.conns.setUser(c, c.authUser)
		g.log.Info("connection opened", "socket_id", c.info.ID, "route", c.info.Route, "remote", c.remote, "user", c.authUser)
	} else {
		g.log.Info("connection opened", "socket_id", c.info.ID, "route", c.info.Route, "remote", c.remote)
	}
	if c.stomp != nil {
		if g.closing.Load() {
			_ = c.Close(1001, "going away")
		}
		return // the open event runs at CONNECT
	}
	ev := runtime.Event{Type: runtime.Open, Timestamp: c.opened.UnixMilli()}
	c.openRan = true
	if err := g.runEvent(c, &ev); err != nil {
		_ = c.Close(1011, "open handler failed")
	}
	if g.closing.Load() { // upgraded while Shutdown was closing the others
		_ = c.Close(1001, "going away")
	}
}

func (e events) OnMessage(socket *gws.Conn, msg *gws.Message) {
	defer msg.Close()
	g, c := e.g, connOf(socket)
	defer e.recover(c, "message")
	now := time.Now()
	c.countStreak(now.UnixNano() - c.lastSeen.Swap(now.UnixNano()))
	if c.closing.Load() {
		return // the close handshake has begun: no more events but close
	}
	c.in.Add(1)
	g.metrics.MessagesIn.Inc()
	if c.stomp != nil {
		c.stomp.read(msg.Bytes(), now) // the rate limit counts SEND frames only
		return
	}
	if c.limiter != nil && !g.allow(c, now) {
		c.dropped.Add(1)
		g.metrics.MessagesDropped.Inc()
		return
	}
	ev := runtime.Event{
		Type:      runtime.Data,
		Data:      msg.Bytes(),
		Binary:    msg.Opcode == gws.OpcodeBinary,
		Timestamp: now.UnixMilli(),
	}
	_ = g.runEvent(c, &ev)
}

func (e events) OnClose(socket *gws.Conn, err error) {
	c := connOf(socket)
	defer e.recover(c, "close")
	code, reason := closeStatus(err)
	e.g.finish(c, code, reason)
}

func (e events) OnPing(socket *gws.Conn, payload []byte) {
	c := connOf(socket)
	c.lastSeen.Store(time.Now().UnixNano())
	_ = c.write(gws.OpcodePong, append([]byte(nil), payload...))
}

func (e events) OnPong(socket *gws.Conn, _ []byte) {
	connOf(socket).lastSeen.Store(time.Now().UnixNano())
}

// recover turns a panic in one of our callbacks into a 1011 close of that
// connection alone. It must be deferred directly, for recover to see the panic.
func (e events) recover(c *conn, where string) {
	if p := recover(); p != nil {
		e.g.panicked(c, where, p, debug.Stack())
		_ = c.Close(1011, "internal error")
	}
}

// closeStatus is the close code and reason of a connection that ended with
// err, as gws reports it: the client's close frame, or a dropped connection
// (1006). The guard refuses every frame gws would fail the connection on
// (frameguard.go), and a close the gateway began is the gateway's own
// (finish takes it from closedBy), so gws's protocol errors never get here.
func closeStatus(err error) (int, string) {
	var ce *gws.CloseError
	if errors.As(err, &ce) {
		if ce.Code == 0 {
			return 1005, ""
		}
		return int(ce.Code), string(ce.Reason)
	}
	return 1006, "connection lost"
}
