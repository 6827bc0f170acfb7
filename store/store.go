// Package store defines the registry of sockets that every gateway node
// shares. store/memory keeps it in the process (one node); store/redis keeps it
// in Redis (a cluster of nodes). Both pass the contract suite in storetest.
package store

import (
	"context"
	"errors"

	"github.com/wsgw/wsgw"
)

// ErrNotFound is returned by Get for a socket that is not registered.
var ErrNotFound = errors.New("store: no such socket")

// ErrUnavailable wraps failures to reach the backing service.
var ErrUnavailable = errors.New("store: unavailable")

// ErrResyncing is returned by Get, instead of ErrNotFound, while the nodes
// are writing their sockets into the registry again after it was
// unreachable or lost them: the socket may exist, and be found in a moment.
var ErrResyncing = errors.New("store: registry resyncing")

// Store is the registry of sockets.
//
// Register and Unregister may be applied asynchronously (batched), but in the
// order they were called for one socket. Get and List see every write that
// returned before them on the same Store; other nodes see it after Flush.
type Store interface {
	// Register records info under info.ID. The store keeps the pointer; the
	// caller must not modify *info afterwards.
	Register(ctx context.Context, info *wsgw.SocketInfo) error
	// Unregister removes the socket; removing an unknown socket is not an error.
	Unregister(ctx context.Context, id string) error
	// Get returns the socket's record, or ErrNotFound (ErrResyncing when a
	// miss does not prove that the socket does not exist). The result is
	// shared and must not be modified.
	Get(ctx context.Context, id string) (*wsgw.SocketInfo, error)
	// List returns up to limit socket IDs (all when limit <= 0) that come
	// after cursor ("" = from the start), and the cursor of the next page, ""
	// on the last. Paging through a registry that does not change returns
	// every ID exactly once.
	List(ctx context.Context, cursor string, limit int) (ids []string, next string, err error)
	// Flush returns once every Register and Unregister that returned before
	// it is visible to every node sharing the registry.
	Flush(ctx context.Context) error
	// Ping reports whether the backing service answers.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}
