// Package memory is the embedded, single-node store.Registry: the default when no
// Redis is configured.
package memory

import (
	"context"
	"sync"

	"github.com/google/btree"
	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/store"
)

// Store keeps the registry in the process. Its zero value is not usable; call New.
type Store struct {
	mu      sync.RWMutex
	sockets map[string]*wsgw.SocketInfo
	// ids orders the IDs so that a cursor (the last ID of a page) stays valid
	// while sockets come and go, and paging costs O(log n + page).
	ids *btree.BTreeG[string]
}

var _ store.Registry = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		sockets: make(map[string]*wsgw.SocketInfo),
		ids:     btree.NewOrderedG[string](32),
	}
}

// Register records info.
func (s *Store) Register(_ context.Context, info *wsgw.SocketInfo) error {
	s.mu.Lock()
	s.sockets[info.ID] = info
	s.ids.ReplaceOrInsert(info.ID)
	s.mu.Unlock()
	return nil
}

// Unregister removes the socket id.
func (s *Store) Unregister(_ context.Context, id string) error {
	s.mu.Lock()
	delete(s.sockets, id)
	s.ids.Delete(id)
	s.mu.Unlock()
	return nil
}

// Get returns the record of socket id.
func (s *Store) Get(_ context.Context, id string) (*wsgw.SocketInfo, error) {
	s.mu.RLock()
	info, ok := s.sockets[id]
	s.mu.RUnlock()
	if !ok {
		return nil, store.ErrNotFound
	}
	return info, nil
}

// List pages through the IDs in lexical order; the cursor is the last ID returned.
func (s *Store) List(_ context.Context, cursor string, limit int) ([]string, string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	capacity := s.ids.Len()
	if limit > 0 && limit < capacity {
		capacity = limit
	}
	ids := make([]string, 0, capacity)
	more := false
	s.ids.AscendGreaterOrEqual(cursor, func(id string) bool {
		if id == cursor {
			return true
		}
		if limit > 0 && len(ids) == limit {
			more = true
			return false
		}
		ids = append(ids, id)
		return true
	})
	if !more {
		return ids, "", nil
	}
	return ids, ids[len(ids)-1], nil
}

// Flush does nothing: every write is visible when it returns.
func (s *Store) Flush(context.Context) error { return nil }

// Ping always succeeds: the store is in the process.
func (s *Store) Ping(context.Context) error { return nil }

// Close does nothing; it exists to satisfy store.Registry.
func (s *Store) Close() error { return nil }
