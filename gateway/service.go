package gateway

import (
	"context"
	"errors"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/store"
)

// The socket service (wsgw.SocketService) over this node's connections, the
// registry and the cluster: what scripts and the admin REST API call.

var _ wsgw.SocketService = (*Gateway)(nil)

// List pages through the IDs of every registered socket.
func (g *Gateway) List(ctx context.Context, cursor string, limit int) ([]string, string, error) {
	if limit < 0 {
		return nil, "", wsgw.Errorf(wsgw.EInvalid, "limit must be a positive integer")
	}
	ids, next, err := g.opts.Registry.List(ctx, cursor, limit)
	if err != nil {
		return nil, "", g.storeError("list", err)
	}
	if ids == nil {
		ids = []string{}
	}
	return ids, next, nil
}

// Info describes socket id: the live state of a socket on another node
// comes from that node.
func (g *Gateway) Info(ctx context.Context, id string) (*wsgw.Socket, error) {
	if g.conns.Holds(id) {
		return g.conns.Info(id)
	}
	info, err := g.lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	if !g.remote(info) {
		return nil, g.notHere(id)
	}
	return g.opts.Bus.Info(ctx, info.Node, id)
}

// Send queues a frame to socket id. A local socket never costs a trip to
// the store.
func (g *Gateway) Send(ctx context.Context, id string, message []byte, binary bool) error {
	if len(message) > g.opts.Limits.MaxMessageBytes {
		return wsgw.Errorf(wsgw.ETooLarge, "the message is %d bytes; max_message_bytes is %d", len(message), g.opts.Limits.MaxMessageBytes)
	}
	if g.conns.Holds(id) {
		return g.conns.Send(id, message, binary)
	}
	info, err := g.lookup(ctx, id)
	if err != nil {
		return err
	}
	if !g.remote(info) {
		return g.notHere(id)
	}
	return g.opts.Bus.Send(ctx, info.Node, id, message, binary)
}

// CloseSocket closes socket id with code and reason.
func (g *Gateway) CloseSocket(ctx context.Context, id string, code int, reason string) error {
	if err := wsgw.ValidCloseCode(code); err != nil {
		return wsgw.Errorf(wsgw.EInvalid, "%v", err)
	}
	if g.conns.Holds(id) {
		return g.conns.CloseSocket(id, code, reason)
	}
	info, err := g.lookup(ctx, id)
	if err != nil {
		return err
	}
	if !g.remote(info) {
		return g.notHere(id)
	}
	return g.opts.Bus.CloseSocket(ctx, info.Node, id, code, reason)
}

// CloseAll closes every socket of the cluster and returns how many it
// closed. The local sockets are closed even when other nodes cannot be
// reached; the error then says so.
func (g *Gateway) CloseAll(ctx context.Context) (int, error) {
	n := g.conns.CloseAll()
	remote, err := g.opts.Bus.CloseAll(ctx)
	return n + remote, err
}

// remote reports whether a registered socket that this node does not hold
// lives on another node.
func (g *Gateway) remote(info *wsgw.SocketInfo) bool {
	return info.Node != g.opts.NodeID
}

// lookup finds a socket that this node does not hold in the store.
func (g *Gateway) lookup(ctx context.Context, id string) (*wsgw.SocketInfo, error) {
	info, err := g.opts.Registry.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, wsgw.Errorf(wsgw.ENotFound, "no socket %s", id)
	}
	if errors.Is(err, store.ErrResyncing) {
		return nil, wsgw.Errorf(wsgw.EUnavailable, "registry resyncing: socket %s may exist; try again in a moment", id)
	}
	if err != nil {
		return nil, g.storeError("get", err)
	}
	return info, nil
}

// notHere answers for a socket that the registry says this node holds, and
// it does not: a registration that outlived its connection.
func (g *Gateway) notHere(id string) error {
	return wsgw.Errorf(wsgw.ENotFound, "no socket %s", id)
}

// storeError counts a failed store operation and answers 503. While the
// store stays away every call fails: one line per ratelog.Interval says
// how many did.
func (g *Gateway) storeError(op string, err error) error {
	g.metrics.StoreErrors.WithLabelValues(op).Inc()
	if ok, n := g.storeErrLog.Allow(); ok {
		g.log.Error("store operation failed", "op", op, "err", err, "failures", n)
	}
	return wsgw.Errorf(wsgw.EUnavailable, "the socket registry is unavailable")
}

func sendError(id string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errClosing):
		return wsgw.Errorf(wsgw.ENotFound, "socket %s is closing", id)
	case errors.Is(err, errBackpressed):
		return wsgw.Errorf(wsgw.EUnavailable, "socket %s: %v", id, err)
	}
	return err
}

// Health reports whether this node can serve: the store must answer.
func (g *Gateway) Health(ctx context.Context) error {
	if g.closing.Load() {
		return errors.New("shutting down")
	}
	if err := g.opts.Registry.Ping(ctx); err != nil {
		return err
	}
	return nil
}
