package redis

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"

	goredis "github.com/redis/go-redis/v9"
)

// entry is what the index holds of one of this node's sockets; the
// Registry's own view, which a resync writes again.
type entry struct {
	// state is the socket's state as last saved, nil or empty for none;
	// each save overwrites it in place. dirty: it is not in Redis yet.
	// stored: the state hash may hold a field of the socket.
	state  []byte
	dirty  bool
	stored bool
	user   string
	groups map[string]struct{}
}

func (e *entry) empty() bool { return e.user == "" && len(e.groups) == 0 }

// record is an entry's user and groups as the index hash holds them: what
// a purge or a resync must remove.
type record struct {
	User   string   `json:"u,omitempty"`
	Groups []string `json:"g,omitempty"`
}

func (e *entry) record() []byte {
	if e.empty() {
		return nil
	}
	rec := record{User: e.user, Groups: slices.Sorted(maps.Keys(e.groups))}
	data, _ := json.Marshal(rec) // strings and a slice of them always marshal
	return data
}

// entryOf returns the entry of socket id, made on first use, or nil when
// this node does not hold the socket. r.mu must be held.
func (r *Registry) entryOf(id string) *entry {
	if e := r.entries[id]; e != nil { // only local sockets have one
		return e
	}
	if _, ok := r.local[id]; !ok {
		return nil
	}
	e := &entry{}
	r.entries[id] = e
	return e
}

// enqueue queues o for the writer, once fn has updated the entry of o.id
// (fn returns false when nothing changed). r.mu must not be held.
func (r *Registry) enqueue(o op, fn func(e *entry, o *op) bool) error {
	if r.closed.Load() {
		return errClosed
	}
	r.mu.Lock()
	e := r.entryOf(o.id)
	if e == nil || !fn(e, &o) {
		r.mu.Unlock()
		return nil
	}
	o.data = e.record()
	r.queue = append(r.queue, o)
	r.mu.Unlock()
	signal(r.wake)
	return nil
}

// SetState saves socket id's state. It is written to Redis with the
// node's next batch of states, at most stateInterval later: a socket whose
// state changes on every message costs one HSET field per interval, not one
// command per message. Only Redis lags: info is answered by the node that
// holds the socket, from the connection.
func (r *Registry) SetState(_ context.Context, id string, state []byte) error {
	if r.closed.Load() {
		return errClosed
	}
	if string(state) == "{}" {
		state = nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.entryOf(id)
	if e == nil {
		return nil
	}
	e.state = append(e.state[:0], state...) // the caller reuses state's bytes
	if !e.dirty {
		e.dirty = true
		r.dirty = append(r.dirty, id)
	}
	return nil
}

// SetUser binds socket id to user.
func (r *Registry) SetUser(_ context.Context, id, user string) error {
	return r.enqueue(op{kind: opUser, id: id, user: user}, func(e *entry, o *op) bool {
		if e.user == user {
			return false
		}
		o.group = e.user // the user to leave
		e.user = user
		return true
	})
}

// Join puts socket id in group.
func (r *Registry) Join(_ context.Context, id, group string) error {
	return r.enqueue(op{kind: opGroupJoin, id: id, group: group}, func(e *entry, _ *op) bool {
		if _, ok := e.groups[group]; ok {
			return false
		}
		if e.groups == nil {
			e.groups = make(map[string]struct{})
		}
		e.groups[group] = struct{}{}
		return true
	})
}

// Leave takes socket id out of group.
func (r *Registry) Leave(_ context.Context, id, group string) error {
	return r.enqueue(op{kind: opGroupLeave, id: id, group: group}, func(e *entry, _ *op) bool {
		if _, ok := e.groups[group]; !ok {
			return false
		}
		delete(e.groups, group)
		return true
	})
}

// UserSockets returns the sockets of user on every live node.
func (r *Registry) UserSockets(ctx context.Context, user string) ([]string, error) {
	ids, _, err := r.merged(ctx, func(node string) string { return r.sh.keys.user(node, user) }, "", 0)
	return ids, err
}

// GroupSockets pages through group's members on every live node.
func (r *Registry) GroupSockets(ctx context.Context, group, cursor string, limit int) ([]string, string, error) {
	return r.merged(ctx, func(node string) string { return r.sh.keys.group(node, group) }, cursor, limit)
}

// writeIndex adds the commands of an index op to pipe.
func (r *Registry) writeIndex(ctx context.Context, pipe goredis.Pipeliner, o op) {
	k, node := r.sh.keys, r.sh.node
	switch o.kind {
	case opUser:
		if o.group != "" {
			pipe.ZRem(ctx, k.user(node, o.group), o.id)
		}
		if o.user != "" {
			pipe.ZAdd(ctx, k.user(node, o.user), goredis.Z{Member: o.id})
		}
	case opGroupJoin:
		pipe.ZAdd(ctx, k.group(node, o.group), goredis.Z{Member: o.id})
	case opGroupLeave:
		pipe.ZRem(ctx, k.group(node, o.group), o.id)
	}
	if len(o.data) == 0 {
		pipe.HDel(ctx, k.index(node), o.id)
	} else {
		pipe.HSet(ctx, k.index(node), o.id, o.data)
	}
}

// dropEntry adds the removal of an unregistered socket's entry to pipe.
func (r *Registry) dropEntry(ctx context.Context, pipe goredis.Pipeliner, id string, e *entry) {
	k, node := r.sh.keys, r.sh.node
	if e.user != "" {
		pipe.ZRem(ctx, k.user(node, e.user), id)
	}
	for g := range e.groups {
		pipe.ZRem(ctx, k.group(node, g), id)
	}
	if !e.empty() {
		pipe.HDel(ctx, k.index(node), id)
	}
	if e.stored {
		pipe.HDel(ctx, k.state(node), id)
	}
}

// writeEntries writes the entries of a resync: the node's index was
// dropped just before.
func (r *Registry) writeEntries(ctx context.Context, entries map[string]*entry) error {
	k, node := r.sh.keys, r.sh.node
	pipe := r.sh.client.Pipeline()
	for id, e := range entries {
		if e.user != "" {
			pipe.ZAdd(ctx, k.user(node, e.user), goredis.Z{Member: id})
		}
		for g := range e.groups {
			pipe.ZAdd(ctx, k.group(node, g), goredis.Z{Member: id})
		}
		if rec := e.record(); rec != nil {
			pipe.HSet(ctx, k.index(node), id, rec)
		}
		if len(e.state) > 0 {
			pipe.HSet(ctx, k.state(node), id, e.state)
		}
		if pipe.Len() >= r.sh.opts.BatchSize {
			if _, err := pipe.Exec(ctx); err != nil {
				return err
			}
		}
	}
	if pipe.Len() == 0 {
		return nil
	}
	_, err := pipe.Exec(ctx)
	return err
}

// dropIndex removes node's whole index: every group and user key its
// index hash names, then the hash and the states. A purge runs it for a
// dead node, a resync and a leave for this one.
func (s *Shard) dropIndex(ctx context.Context, node string) error {
	k := s.keys
	var cursor uint64
	for {
		fields, next, err := s.client.HScan(ctx, k.index(node), cursor, "", 1000).Result()
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for i := 1; i < len(fields); i += 2 {
			var rec record
			if err := json.Unmarshal([]byte(fields[i]), &rec); err != nil {
				continue // not ours to read; the hash goes below anyway
			}
			if rec.User != "" {
				seen[k.user(node, rec.User)] = true
			}
			for _, g := range rec.Groups {
				seen[k.group(node, g)] = true
			}
		}
		if len(seen) > 0 {
			pipe := s.client.Pipeline()
			for key := range seen {
				pipe.Unlink(ctx, key)
			}
			if _, err := pipe.Exec(ctx); err != nil {
				return err
			}
		}
		cursor = next
		if cursor == 0 {
			break
		}
	}
	err := s.client.Unlink(ctx, k.index(node), k.state(node)).Err()
	if errors.Is(err, goredis.Nil) {
		return nil
	}
	return err
}
