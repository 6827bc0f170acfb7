package gateway

import (
	"hash/maphash"
	"sync"
)

// connTable is this node's connections by socket ID, sharded so that
// connects, closes and lookups on many cores do not queue on one lock.
type connTable struct {
	seed   maphash.Seed
	shards [64]connShard
}

type connShard struct {
	mu sync.RWMutex
	m  map[string]*conn
}

func (t *connTable) init() {
	t.seed = maphash.MakeSeed()
	for i := range t.shards {
		t.shards[i].m = make(map[string]*conn)
	}
}

func (t *connTable) shard(id string) *connShard {
	return &t.shards[maphash.String(t.seed, id)%uint64(len(t.shards))]
}

func (t *connTable) add(c *conn) {
	s := t.shard(c.info.ID)
	s.mu.Lock()
	s.m[c.info.ID] = c
	s.mu.Unlock()
}

// remove deletes c and reports whether it was there, so that a connection is
// finished exactly once.
func (t *connTable) remove(c *conn) bool {
	s := t.shard(c.info.ID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[c.info.ID] != c {
		return false
	}
	delete(s.m, c.info.ID)
	return true
}

func (t *connTable) get(id string) *conn {
	s := t.shard(id)
	s.mu.RLock()
	c := s.m[id]
	s.mu.RUnlock()
	return c
}

func (t *connTable) len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// each calls fn for every connection, outside the shard locks.
func (t *connTable) each(fn func(*conn)) {
	var batch []*conn
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.RLock()
		for _, c := range s.m {
			batch = append(batch, c)
		}
		s.mu.RUnlock()
		for _, c := range batch {
			fn(c)
		}
		batch = batch[:0]
	}
}
