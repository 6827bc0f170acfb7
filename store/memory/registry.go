// Package memory is the store of a single node, kept in the process: the
// default when no Redis is configured. Registry, Bus and Deploys implement
// the store interfaces, and pass the same contract suites as store/redis.
package memory

import (
	"context"
	"sync"

	"github.com/google/btree"
	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/store"
)

// Registry keeps the registry of sockets in the process. Its zero value is
// not usable; call NewRegistry.
type Registry struct {
	mu      sync.RWMutex
	sockets map[string]*wsgw.SocketInfo
	// ids orders the IDs so that a cursor (the last ID of a page) stays valid
	// while sockets come and go, and paging costs O(log n + page).
	ids   *btree.BTreeG[string]
	index index
}

var _ store.Registry = (*Registry)(nil)

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{
		sockets: make(map[string]*wsgw.SocketInfo),
		ids:     btree.NewOrderedG[string](32),
		index:   newIndex(),
	}
}

// Register records info.
func (s *Registry) Register(_ context.Context, info *wsgw.SocketInfo) error {
	s.mu.Lock()
	s.sockets[info.ID] = info
	s.ids.ReplaceOrInsert(info.ID)
	s.mu.Unlock()
	return nil
}

// Unregister removes the socket id.
func (s *Registry) Unregister(_ context.Context, id string) error {
	s.mu.Lock()
	delete(s.sockets, id)
	s.ids.Delete(id)
	s.index.drop(id)
	s.mu.Unlock()
	return nil
}

// Get returns the record of socket id.
func (s *Registry) Get(_ context.Context, id string) (*wsgw.SocketInfo, error) {
	s.mu.RLock()
	info, ok := s.sockets[id]
	s.mu.RUnlock()
	if !ok {
		return nil, store.ErrNotFound
	}
	return info, nil
}

// List pages through the IDs in lexical order; the cursor is the last ID returned.
func (s *Registry) List(_ context.Context, cursor string, limit int) ([]string, string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids, next := page(s.ids, cursor, limit)
	return ids, next, nil
}

// Flush does nothing: every write is visible when it returns.
func (s *Registry) Flush(context.Context) error { return nil }

// Ping always succeeds: the registry is in the process.
func (s *Registry) Ping(context.Context) error { return nil }

// Close does nothing: the registry is garbage once unreferenced.
func (s *Registry) Close() error { return nil }
