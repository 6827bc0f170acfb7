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
}
