package wsgw

import "context"

// SocketService is what can be done to any socket of the cluster, wherever
// it is connected: what scripts call as the global Websocket and the admin
// REST API serves. Errors are *Error: ENotFound for a socket that does not
// exist (or is closing), EUnavailable when the node that holds it, or the
// registry, cannot be reached in time.
type SocketService interface {
	// List pages through the IDs of every socket: up to limit of them (all
	// when limit is 0) after cursor ("" for the first page), and the
	// cursor of the next page, "" on the last.
	List(ctx context.Context, cursor string, limit int) (ids []string, next string, err error)
	// Info describes socket id, with the live counters of the node that
	// holds it.
	Info(ctx context.Context, id string) (*Socket, error)
	// Send queues m to socket id: a text or binary frame, or on a STOMP
	// socket a MESSAGE frame to each of its subscriptions of m.Destination.
	// It returns once the node that holds the socket has queued it.
	Send(ctx context.Context, id string, m *Message) error
	// CloseSocket starts closing socket id with code (ValidCloseCode) and
	// reason.
	CloseSocket(ctx context.Context, id string, code int, reason string) error
	// CloseAll closes every socket of the cluster and says how many it
	// closed; the error names the nodes that did not answer.
	CloseAll(ctx context.Context) (int, error)

	// ListUser returns the IDs of the sockets bound to user, on every node.
	ListUser(ctx context.Context, user string) ([]string, error)
	// SendToUser queues m to every socket of user (as Send does to one) and
	// says to how many.
	SendToUser(ctx context.Context, user string, m *Message) (int, error)
	// CloseUser closes every socket of user and says how many.
	CloseUser(ctx context.Context, user string, code int, reason string) (int, error)

	// Join puts socket id in group; joining twice changes nothing.
	Join(ctx context.Context, id, group string) error
	// Leave takes socket id out of group; leaving a group it is not in
	// changes nothing.
	Leave(ctx context.Context, id, group string) error
	// ListGroup pages through the IDs of group's members, as List does.
	ListGroup(ctx context.Context, group, cursor string, limit int) (ids []string, next string, err error)
	// Publish queues a frame to every member of group but those in
	// exclude, on every node, at most once each. It returns once the
	// message is handed to every node, not delivered.
	Publish(ctx context.Context, group string, m *Message, exclude []string) error
	// Broadcast is Publish to every socket of the cluster.
	Broadcast(ctx context.Context, m *Message, exclude []string) error
}
