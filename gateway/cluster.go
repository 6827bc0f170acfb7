package gateway

import (
	"context"

	"github.com/wsgw/wsgw"
)

// Cluster carries the Websocket service to the sockets that other nodes hold.
// A gateway without one is a single node: the store lists only its own
// sockets. Errors are *wsgw.Error: ENotFound when the node is gone or does
// not hold the socket, EUnavailable when the cluster or the node cannot be
// reached in time.
type Cluster interface {
	// Send queues a frame to socket id on node. It returns once node has
	// queued the frame on the socket's connection (without waiting for it
	// to be written), or with node's refusal.
	Send(ctx context.Context, node, id string, message []byte, binary bool) error
	// Close starts closing socket id on node, and returns once node has.
	Close(ctx context.Context, node, id string, code int, reason string) error
	// Info asks node for the live state of socket id.
	Info(ctx context.Context, node, id string) (*wsgw.Socket, error)
	// CloseAll asks every other node to close all its sockets, and returns
	// how many they closed.
	CloseAll(ctx context.Context) (int, error)
	// Handle starts delivering the commands that other nodes address to
	// this one to local. The gateway calls it once, from New.
	Handle(local Local)
}

// Local is this node as the cluster sees it: what a command from another
// node does here. No method blocks on a client: frames and closes go through
// each connection's write queue.
type Local interface {
	Send(id string, message []byte, binary bool) error
	Close(id string, code int, reason string) error
	Info(id string) (*wsgw.Socket, error)
	CloseAll() int
}

// localNode serves other nodes' commands from this gateway's connections.
type localNode struct{ g *Gateway }

var _ Local = localNode{}

func (l localNode) Send(id string, message []byte, binary bool) error {
	c := l.g.conns.get(id)
	if c == nil {
		return errNoSocket(id)
	}
	return sendError(id, c.Send(message, binary))
}

func (l localNode) Close(id string, code int, reason string) error {
	if err := wsgw.ValidCloseCode(code); err != nil {
		return wsgw.Errorf(wsgw.EInvalid, "%v", err)
	}
	c := l.g.conns.get(id)
	if c == nil || c.closing.Load() {
		return errNoSocket(id)
	}
	return c.Close(code, reason)
}

func (l localNode) Info(id string) (*wsgw.Socket, error) {
	c := l.g.conns.get(id)
	if c == nil {
		return nil, errNoSocket(id)
	}
	return c.snapshot(), nil
}

func (l localNode) CloseAll() int { return l.g.closeAllLocal() }

func errNoSocket(id string) error { return wsgw.Errorf(wsgw.ENotFound, "no socket %s", id) }
