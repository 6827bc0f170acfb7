package redis

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wsgw/wsgw"
)

// op is one queued write of the registry.
type op struct {
	kind opKind
	info *wsgw.SocketInfo // opRegister
	id   string           // the other kinds but opBarrier
	done chan struct{}    // opBarrier
	// entry is an unregistered socket's index entry, to remove with it.
	entry *entry
	// group is the group of opGroupJoin and opGroupLeave, the user to leave of opUser.
	group string
	user  string // opUser: the user to bind, "" for none
	// data is the socket's index record after an index op (nil when it
	// has none left).
	data []byte
}

type opKind uint8

const (
	opRegister opKind = iota
	opUnregister
	opBarrier
	opUser
	opGroupJoin
	opGroupLeave
)

// runWriter is the writer goroutine: the only one that writes this node's part
// of the registry, so that one socket's writes reach Redis in the order they
// were made. It also heartbeats and resyncs.
func (r *Registry) runWriter() {
	defer r.wg.Done()
	beat := time.NewTicker(r.sh.opts.HeartbeatInterval)
	defer beat.Stop()
	retry := time.NewTicker(r.sh.retry)
	defer retry.Stop()
	states := time.NewTicker(stateInterval)
	defer states.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-r.wake:
			r.flush()
		case <-states.C:
			if r.statesPending() {
				r.flush()
			}
		case <-beat.C:
			r.heartbeat()
		case <-r.sh.beat:
			r.heartbeat()
		case <-retry.C:
			if r.sh.needResync.Load() {
				ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
				r.resync(ctx)
				cancel()
			}
		}
	}
}

// stateInterval is how long a changed state may wait for the writer: the
// states of every socket that changed meanwhile go in one HSET, each
// socket's latest only (docs/operations.md).
const stateInterval = 100 * time.Millisecond

// stateWrite is one socket's state to write; empty data removes it.
type stateWrite struct {
	id   string
	data []byte
}

// statesPending reports whether a changed state waits for the writer.
func (r *Registry) statesPending() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.dirty) > 0
}

// take removes and returns everything queued, and the changed states.
// The states are copied into the writer's arena, which the next take
// reuses: only the writer calls take.
func (r *Registry) take() ([]op, []stateWrite) {
	r.mu.Lock()
	defer r.mu.Unlock()
	batch := r.queue
	r.queue = nil
	r.arena, r.writes = r.arena[:0], r.writes[:0]
	for _, id := range r.dirty {
		e := r.entries[id]
		if e == nil || !e.dirty { // gone since, or listed twice
			continue
		}
		e.dirty = false
		e.stored = e.stored || len(e.state) > 0
		start := len(r.arena)
		r.arena = append(r.arena, e.state...)
		r.writes = append(r.writes, stateWrite{id: id, data: r.arena[start:len(r.arena):len(r.arena)]})
	}
	r.dirty = r.dirty[:0]
	return batch, r.writes
}

// flush writes the queue to Redis, BatchSize operations per round trip,
// then the changed states, until nothing is left. While a resync is pending
// all of it is dropped instead: the resync writes this node's sockets as
// they are then.
func (r *Registry) flush() {
	for {
		batch, states := r.take()
		if len(batch) == 0 && len(states) == 0 {
			return
		}
		for chunk := range chunks(batch, r.sh.opts.BatchSize) {
			if r.sh.needResync.Load() {
				break
			}
			if err := r.writeChunk(chunk); err != nil {
				r.sh.needResync.Store(true)
				r.countFailed(chunk, err)
			}
		}
		if len(states) > 0 && !r.sh.needResync.Load() {
			if err := r.writeStates(states); err != nil {
				r.sh.needResync.Store(true)
				r.sh.errs("state").Add(float64(len(states)))
				r.sh.report("state", err)
			}
		}
		r.settle(batch)
	}
}

// writeStates sends the changed states of a take in one pipeline: one HSET
// (and one HDEL, for states emptied) per BatchSize sockets. They follow the
// queue of the same take, so a socket's state never precedes its record.
func (r *Registry) writeStates(states []stateWrite) error {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	key := r.sh.keys.state(r.sh.node)
	pipe := r.sh.client.Pipeline()
	var set []any
	var del []string
	for chunk := range chunks(states, r.sh.opts.BatchSize) {
		set, del = set[:0], del[:0]
		for _, w := range chunk {
			if len(w.data) == 0 {
				del = append(del, w.id)
			} else {
				set = append(set, w.id, w.data)
			}
		}
		if len(set) > 0 {
			pipe.HSet(ctx, key, set...)
		}
		if len(del) > 0 {
			pipe.HDel(ctx, key, del...)
		}
	}
	_, err := pipe.Exec(ctx)
	return err
}

// writeChunk sends one batch in one pipeline. Runs of registrations share
// one ZADD and runs of unregistrations one ZREM; each socket's commands keep
// their order.
func (r *Registry) writeChunk(chunk []op) error {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	pipe := r.sh.client.Pipeline()
	sockets := r.sh.keys.sockets(r.sh.node)
	var run []any
	var runKind opKind
	endRun := func() {
		switch {
		case len(run) == 0:
		case runKind == opRegister:
			zs := make([]goredis.Z, len(run))
			for i, id := range run {
				zs[i] = goredis.Z{Member: id}
			}
			pipe.ZAdd(ctx, sockets, zs...)
		default:
			pipe.ZRem(ctx, sockets, run...)
		}
		run = run[:0]
	}
	for _, o := range chunk {
		if o.kind == opBarrier {
			continue
		}
		if o.kind >= opUser {
			endRun()
			r.writeIndex(ctx, pipe, o)
			continue
		}
		if o.kind != runKind {
			endRun()
			runKind = o.kind
		}
		switch o.kind {
		case opRegister:
			data, err := json.Marshal(o.info)
			if err != nil {
				return err
			}
			pipe.Set(ctx, r.sh.keys.socket(o.info.ID), data, 0)
			run = append(run, o.info.ID)
		case opUnregister:
			pipe.Del(ctx, r.sh.keys.socket(o.id))
			run = append(run, o.id)
			if o.entry != nil {
				r.dropEntry(ctx, pipe, o.id, o.entry)
			}
		}
	}
	endRun()
	if pipe.Len() == 0 {
		return nil
	}
	_, err := pipe.Exec(ctx)
	return err
}

// countFailed counts the registrations and unregistrations of a failed batch.
func (r *Registry) countFailed(chunk []op, err error) {
	var reg, unreg float64
	for _, o := range chunk {
		switch o.kind {
		case opRegister:
			reg++
		case opUnregister:
			unreg++
		}
	}
	r.sh.errs("register").Add(reg)
	r.sh.errs("unregister").Add(unreg)
	r.sh.report("register", err)
}

// settle finishes a batch, written or dropped: barriers are released and
// unregistered sockets are no longer hidden from Get.
func (r *Registry) settle(chunk []op) {
	r.mu.Lock()
	for _, o := range chunk {
		if o.kind == opUnregister {
			if r.gone[o.id]--; r.gone[o.id] <= 0 {
				delete(r.gone, o.id)
			}
		}
	}
	r.mu.Unlock()
	for _, o := range chunk {
		if o.kind == opBarrier {
			close(o.done)
		}
	}
}

// leave removes this node from the registry when it closes: the
// writes still queued, then its sockets, heartbeat and membership.
func (r *Registry) leave() {
	r.flush()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	r.mu.Lock()
	var ids []string
	for id := range r.local {
		ids = append(ids, id)
	}
	r.mu.Unlock()
	for chunk := range chunks(ids, r.sh.opts.BatchSize) {
		pipe := r.sh.client.Pipeline()
		for _, id := range chunk {
			pipe.Del(ctx, r.sh.keys.socket(id))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			r.sh.fail("leave", err)
			return
		}
	}
	if err := r.sh.dropIndex(ctx, r.sh.node); err != nil {
		r.sh.fail("leave", err)
		return
	}
	pipe := r.sh.client.Pipeline()
	pipe.Del(ctx, r.sh.keys.sockets(r.sh.node), r.sh.keys.alive(r.sh.node))
	pipe.SRem(ctx, r.sh.keys.nodes(), r.sh.node)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		r.sh.fail("leave", err)
		return
	}
	r.sh.log.Info("left the cluster", "sockets_removed", len(ids))
}

// chunks yields s in pieces of at most n.
func chunks[T any](s []T, n int) func(yield func([]T) bool) {
	return func(yield func([]T) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}
