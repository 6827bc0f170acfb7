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
	// Join and Leave change the groups of socket id on node, and return
	// once node has.
	Join(ctx context.Context, node, id, group string) error
	Leave(ctx context.Context, node, id, group string) error
	// SendToUser asks every other node to queue a frame to its sockets of
	// user, and returns how many they queued it to.
	SendToUser(ctx context.Context, user string, m *wsgw.Message) (int, error)
	// CloseUser asks every other node to close its sockets of user, and
	// returns how many they closed.
	CloseUser(ctx context.Context, user string, code int, reason string) (int, error)
	// Publish hands a message to every other node, once each, for its
	// members of group (every socket when group is ""), but those in
	// exclude. It does not wait for the nodes: delivery is at most once.
	Publish(ctx context.Context, group string, m *wsgw.Message, exclude []string) error
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
	Join(id, group string) error
	Leave(id, group string) error
	// SendToUser and CloseUser act on the node's sockets of user, and say
	// how many.
	SendToUser(user string, m *wsgw.Message) int
	CloseUser(user string, code int, reason string) int
	// Publish queues a frame to the node's members of group (every socket
	// when group is "") but those in exclude.
	Publish(group string, m *wsgw.Message, exclude []string)
}
