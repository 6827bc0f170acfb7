package store

import (
	"context"

	"github.com/wsgw/wsgw"
)

// Bus carries commands to the node that holds a socket, and answers with
// that node's answer. Every node serves the commands addressed to it with
// the Local its Bus was made with. Errors are *wsgw.Error: ENotFound when the
// node is gone or does not hold the socket, EUnavailable when the bus or
// the node cannot be reached in time.
type Bus interface {
	// Send queues a frame to socket id on node. It returns once node has
	// queued the frame on the socket's connection (without waiting for it
	// to be written), or with node's refusal.
	Send(ctx context.Context, node, id string, m *wsgw.Message) error
	// CloseSocket starts closing socket id on node, and returns once node has.
	CloseSocket(ctx context.Context, node, id string, code int, reason string) error
	// Info asks node for the live state of socket id.
	Info(ctx context.Context, node, id string) (*wsgw.Socket, error)
	// CloseAll asks every other node to close all its sockets, and returns
	// how many they closed.
	CloseAll(ctx context.Context) (int, error)
	// Close stops serving this node's commands; calls after it answer 503.
	Close() error
}

// Local is one node as the Bus sees it: what a command addressed to it
// does there. No method blocks on a client: frames and closes go through
// each connection's write queue. Errors are *wsgw.Error, as the caller
// gets them.
type Local interface {
	Send(id string, m *wsgw.Message) error
	CloseSocket(id string, code int, reason string) error
	Info(id string) (*wsgw.Socket, error)
	// CloseAll closes every socket of the node and says how many.
	CloseAll() int
}
