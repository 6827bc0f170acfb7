package store

import "context"

// Index is what the registry keeps of each socket besides its record: the
// state its scripts saved, the user it is bound to and the groups it is
// in, and for every user and group the sockets that have it. Its writes
// follow the Register of the same socket on the same Registry, in order,
// and Unregister drops them all; the sockets of a dead node leave every
// index with it. Reads see every write that returned before them on the
// same Registry; other nodes see it after Flush.
type Index interface {
	// SetState saves socket id's state (JSON); "{}" or empty drops it. The
	// caller reuses state's bytes once it returns: a registry that keeps
	// the state keeps a copy.
	SetState(ctx context.Context, id string, state []byte) error
	// SetUser binds socket id to user; "" unbinds it.
	SetUser(ctx context.Context, id, user string) error
	// Join puts socket id in group; joining twice changes nothing.
	Join(ctx context.Context, id, group string) error
	// Leave takes socket id out of group; leaving a group it is not in
	// changes nothing.
	Leave(ctx context.Context, id, group string) error
	// UserSockets returns the IDs of the sockets bound to user, sorted.
	UserSockets(ctx context.Context, user string) ([]string, error)
	// GroupSockets pages through the IDs of group's members in lexical
	// order, as Registry.List pages through every socket.
	GroupSockets(ctx context.Context, group, cursor string, limit int) (ids []string, next string, err error)
}
