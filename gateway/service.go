package gateway

import (
	"context"
	"errors"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/runtime"
	"github.com/wsgw/wsgw/store"
)

// The Websocket service: the five operations scripts (through runtime.Service)
// and the admin REST API (through handlers) both call. Errors are *wsgw.Error.

var _ runtime.Service = (*Gateway)(nil)

// List pages through the IDs of every registered socket.
func (g *Gateway) List(ctx context.Context, cursor string, limit int) ([]string, string, error) {
	if limit < 0 {
		return nil, "", wsgw.Errorf(wsgw.EInvalid, "limit must be a positive integer")
	}
	ids, next, err := g.opts.Store.List(ctx, cursor, limit)
	if err != nil {
		return nil, "", g.storeError("list", err)
	}
	if ids == nil {
		ids = []string{}
	}
	return ids, next, nil
}

// Info describes socket id.
func (g *Gateway) Info(ctx context.Context, id string) (*wsgw.Socket, error) {
	if c := g.conns.get(id); c != nil {
		return c.snapshot(), nil
	}
	if _, err := g.lookup(ctx, id); err != nil {
		return nil, err
	}
	return nil, g.notHere(id)
}

// Send queues a frame to socket id.
func (g *Gateway) Send(ctx context.Context, id string, message []byte, binary bool) error {
	if len(message) > g.opts.Limits.MaxMessageBytes {
		return wsgw.Errorf(wsgw.ETooLarge, "the message is %d bytes; max_message_bytes is %d", len(message), g.opts.Limits.MaxMessageBytes)
	}
	if c := g.conns.get(id); c != nil {
		return sendError(id, c.Send(message, binary))
	}
	if _, err := g.lookup(ctx, id); err != nil {
		return err
	}
	return g.notHere(id)
}

// Close closes socket id with code and reason.
func (g *Gateway) Close(ctx context.Context, id string, code int, reason string) error {
	if err := runtime.ValidCloseCode(code); err != nil {
		return wsgw.Errorf(wsgw.EInvalid, "%v", err)
	}
	if c := g.conns.get(id); c != nil {
		if c.closing.Load() {
			return wsgw.Errorf(wsgw.ENotFound, "socket %s is closing", id)
		}
		return c.Close(code, reason)
	}
	if _, err := g.lookup(ctx, id); err != nil {
		return err
	}
	return g.notHere(id)
}

// CloseAll closes every socket and returns how many it closed.
func (g *Gateway) CloseAll(ctx context.Context) (int, error) {
	n := 0
	g.conns.each(func(c *conn) {
		if !c.closing.Load() {
			_ = c.Close(1000, "")
			n++
		}
	})
	return n, nil
}

// lookup finds a socket that this node does not hold in the store.
func (g *Gateway) lookup(ctx context.Context, id string) (*wsgw.SocketInfo, error) {
	info, err := g.opts.Store.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, wsgw.Errorf(wsgw.ENotFound, "no socket %s", id)
	}
	if err != nil {
		return nil, g.storeError("get", err)
	}
	return info, nil
}

// notHere answers for a socket that the store lists but no node holds: with
// one node, a registration that outlived its connection.
func (g *Gateway) notHere(id string) error {
	return wsgw.Errorf(wsgw.ENotFound, "no socket %s", id)
}

func (g *Gateway) storeError(op string, err error) error {
	g.metrics.StoreErrors.WithLabelValues(op).Inc()
	g.log.Error("store operation failed", "op", op, "err", err)
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
	if err := g.opts.Store.Ping(ctx); err != nil {
		return err
	}
	return nil
}
