package store

import (
	"context"

	"github.com/wsgw/wsgw"
)

// Registry is the record of every socket of the cluster: which node holds
// it, what it was opened with, and its Index entries (state, user, groups).
//
// Register and Unregister may be applied asynchronously (batched), but in the
// order they were called for one socket. Get and List see every write that
// returned before them on the same Registry; other nodes see it after Flush.
type Registry interface {
	// Register records info under info.ID. The registry keeps the pointer;
	// the caller must not modify *info afterwards.
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
	// Ping reports whether this node is fully part of the registry; its
	// error is the reason, for the health probe.
	Ping(ctx context.Context) error
	// Close releases the registry's resources.
	Close() error
	Index
}
