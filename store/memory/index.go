package memory

import (
	"context"
	"maps"
	"slices"

	"github.com/google/btree"
)

// entry is what the index holds of one socket.
type entry struct {
	user   string
	groups map[string]struct{}
}

// index is the Registry's store.Index, guarded by the Registry's lock.
type index struct {
	entries map[string]*entry
	users   map[string]map[string]struct{}
	// groups keeps each group's members ordered, for paging as List does.
	groups map[string]*btree.BTreeG[string]
}

func newIndex() index {
	return index{
		entries: make(map[string]*entry),
		users:   make(map[string]map[string]struct{}),
		groups:  make(map[string]*btree.BTreeG[string]),
	}
}

func (x *index) entry(id string) *entry {
	e := x.entries[id]
	if e == nil {
		e = &entry{}
		x.entries[id] = e
	}
	return e
}

func (x *index) setUser(id, user string) {
	e := x.entry(id)
	if e.user == user {
		return
	}
	if e.user != "" {
		set := x.users[e.user]
		delete(set, id)
		if len(set) == 0 {
			delete(x.users, e.user)
		}
	}
	e.user = user
	if user != "" {
		set := x.users[user]
		if set == nil {
			set = make(map[string]struct{})
			x.users[user] = set
		}
		set[id] = struct{}{}
	}
}

func (x *index) join(id, group string) {
	e := x.entry(id)
	if e.groups == nil {
		e.groups = make(map[string]struct{})
	}
	e.groups[group] = struct{}{}
	members := x.groups[group]
	if members == nil {
		members = btree.NewOrderedG[string](32)
		x.groups[group] = members
	}
	members.ReplaceOrInsert(id)
}

func (x *index) leave(id, group string) {
	if e := x.entries[id]; e != nil {
		delete(e.groups, group)
	}
	if members := x.groups[group]; members != nil {
		members.Delete(id)
		if members.Len() == 0 {
			delete(x.groups, group)
		}
	}
}

// drop removes socket id from every index.
func (x *index) drop(id string) {
	e := x.entries[id]
	if e == nil {
		return
	}
	x.setUser(id, "")
	for g := range e.groups {
		x.leave(id, g)
	}
	delete(x.entries, id)
}

// SetState keeps nothing: on one node the connection holds its state and
// answers info from it, so a second copy here would only cost a lock per
// changed event.
func (s *Registry) SetState(context.Context, string, []byte) error { return nil }

// SetUser binds socket id to user.
func (s *Registry) SetUser(_ context.Context, id, user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sockets[id]; ok {
		s.index.setUser(id, user)
	}
	return nil
}

// Join puts socket id in group.
func (s *Registry) Join(_ context.Context, id, group string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sockets[id]; ok {
		s.index.join(id, group)
	}
	return nil
}

// Leave takes socket id out of group.
func (s *Registry) Leave(_ context.Context, id, group string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.index.leave(id, group)
	return nil
}

// UserSockets returns the sockets of user, sorted.
func (s *Registry) UserSockets(_ context.Context, user string) ([]string, error) {
	s.mu.RLock()
	ids := slices.Collect(maps.Keys(s.index.users[user]))
	s.mu.RUnlock()
	slices.Sort(ids)
	if ids == nil {
		ids = []string{}
	}
	return ids, nil
}

// GroupSockets pages through group's members; the cursor is the last ID
// returned.
func (s *Registry) GroupSockets(_ context.Context, group, cursor string, limit int) ([]string, string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	members := s.index.groups[group]
	if members == nil {
		return []string{}, "", nil
	}
	ids, next := page(members, cursor, limit)
	return ids, next, nil
}

// page returns up to limit IDs of t after cursor (all when limit <= 0),
// and the cursor of the next page, "" on the last.
func page(t *btree.BTreeG[string], cursor string, limit int) ([]string, string) {
	capacity := t.Len()
	if limit > 0 && limit < capacity {
		capacity = limit
	}
	ids := make([]string, 0, capacity)
	more := false
	t.AscendGreaterOrEqual(cursor, func(id string) bool {
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
		return ids, ""
	}
	return ids, ids[len(ids)-1]
}
