package redis

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wsgw/wsgw"
)

// op is one queued write of the registry.
type op struct {
	kind opKind
	info *wsgw.SocketInfo // opRegister
	id   string           // opUnregister
	done chan struct{}    // opBarrier
}

type opKind uint8

const (
	opRegister opKind = iota
	opUnregister
	opBarrier
)

// runWriter is the writer goroutine: the only one that writes this node's part
// of the registry, so that one socket's writes reach Redis in the order they
// were made. It also heartbeats and resyncs.
func (s *Store) runWriter() {
	defer s.wg.Done()
	beat := time.NewTicker(s.opts.HeartbeatInterval)
	defer beat.Stop()
	retry := time.NewTicker(s.retry)
	defer retry.Stop()
	for {
		select {
		case <-s.stop:
			s.leave()
			return
		case <-s.wake:
			s.flush()
		case <-beat.C:
			s.heartbeat()
		case <-s.beat:
			s.heartbeat()
		case <-retry.C:
			if s.needResync.Load() {
				ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
				s.resync(ctx)
				cancel()
			}
		}
	}
}

// take removes and returns everything queued.
func (s *Store) take() []op {
	s.mu.Lock()
	batch := s.queue
	s.queue = nil
	s.mu.Unlock()
	return batch
}

// flush writes the queue to Redis, BatchSize operations per round trip,
// until it is empty. While a resync is pending the queue is dropped instead:
// the resync writes this node's sockets as they are then.
func (s *Store) flush() {
	for {
		batch := s.take()
		if len(batch) == 0 {
			return
		}
		for len(batch) > 0 {
			n := min(len(batch), s.opts.BatchSize)
			chunk := batch[:n]
			batch = batch[n:]
			if !s.needResync.Load() {
				if err := s.writeChunk(chunk); err != nil {
					s.needResync.Store(true)
					s.countFailed(chunk, err)
				}
			}
			s.settle(chunk)
		}
	}
}

// writeChunk sends one batch in one pipeline. Runs of registrations share
// one ZADD and runs of unregistrations one ZREM; each socket's commands keep
// their order.
func (s *Store) writeChunk(chunk []op) error {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	pipe := s.client.Pipeline()
	sockets := s.keys.sockets(s.node)
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
			pipe.Set(ctx, s.keys.socket(o.info.ID), data, 0)
			run = append(run, o.info.ID)
		case opUnregister:
			pipe.Del(ctx, s.keys.socket(o.id))
			run = append(run, o.id)
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
func (s *Store) countFailed(chunk []op, err error) {
	var reg, unreg float64
	for _, o := range chunk {
		switch o.kind {
		case opRegister:
			reg++
		case opUnregister:
			unreg++
		}
	}
	s.errs("register").Add(reg)
	s.errs("unregister").Add(unreg)
	s.report("register", err)
}

// settle finishes a batch, written or dropped: barriers are released and
// unregistered sockets are no longer hidden from Get.
func (s *Store) settle(chunk []op) {
	s.mu.Lock()
	for _, o := range chunk {
		if o.kind == opUnregister {
			if s.gone[o.id]--; s.gone[o.id] <= 0 {
				delete(s.gone, o.id)
			}
		}
	}
	s.mu.Unlock()
	for _, o := range chunk {
		if o.kind == opBarrier {
			close(o.done)
		}
	}
}

// heartbeat renews this node's liveness, checks that its inbox is still
// subscribed, and looks for dead nodes to purge. A heartbeat key that is
// gone (it expired during a long pause, Redis lost it, or another node
// purged this one) means the registry may have lost this node's sockets: a
// resync follows.
func (s *Store) heartbeat() {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	began := time.Now()
	defer func() {
		if took := time.Since(began); took > s.opts.HeartbeatInterval {
			s.log.Warn("a heartbeat took longer than heartbeat_interval: Redis or this process is overloaded, and other nodes may take this one for dead", "took", took)
		}
	}()
	if s.needResync.Load() {
		s.resync(ctx)
		return
	}
	pipe := s.client.Pipeline()
	renewed := pipe.SetXX(ctx, s.keys.alive(s.node), s.joined, s.ttl)
	pipe.SAdd(ctx, s.keys.nodes(), s.node)
	members := pipe.SMembers(ctx, s.keys.nodes())
	var ping *goredis.IntCmd
	if s.handler.Load() != nil {
		ping = pipe.SPublish(ctx, s.keys.inbox(s.node), (&command{op: opPing}).encode(nil))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		s.needResync.Store(true)
		s.subscribed.Store(false)
		s.fail("heartbeat", err)
		return
	}
	if !renewed.Val() {
		s.log.Warn("this node's heartbeat had expired or was purged from Redis; re-registering its sockets")
		s.needResync.Store(true)
		s.resync(ctx)
		return
	}
	if ping != nil {
		s.checkInbox(ping.Val() > 0)
	}
	s.findDead(ctx, members.Val())
}

// checkInbox takes the result of the heartbeat's ping to this node's own
// inbox. It is the proof that other nodes' commands arrive. go-redis
// resubscribes by itself after a lost connection; if the inbox stays
// without a subscriber for two heartbeat intervals, it is subscribed again
// from scratch.
func (s *Store) checkInbox(reached bool) {
	if reached {
		s.subscribed.Store(true)
		s.silentSince = time.Time{}
		return
	}
	s.subscribed.Store(false)
	now := time.Now()
	if s.silentSince.IsZero() {
		s.silentSince = now
		return
	}
	if now.Sub(s.silentSince) >= 2*s.opts.HeartbeatInterval {
		s.silentSince = time.Time{}
		s.errs("subscribe").Inc()
		s.log.Warn("this node's inbox has had no subscriber in Redis for two heartbeats; subscribing again")
		s.signal(s.resub)
	}
}

// findDead checks the heartbeat of every other node and purges those
// whose heartbeat expired.
func (s *Store) findDead(ctx context.Context, nodes []string) {
	var others []string
	for _, n := range nodes {
		if n != s.node {
			others = append(others, n)
		}
	}
	if len(others) == 0 {
		return
	}
	pipe := s.client.Pipeline()
	alive := make([]*goredis.IntCmd, len(others))
	for i, n := range others {
		alive[i] = pipe.Exists(ctx, s.keys.alive(n))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		s.fail("heartbeat", err)
		return
	}
	for i, n := range others {
		if alive[i].Val() == 0 {
			s.schedulePurge(n, false)
		}
	}
}

// resync makes Redis hold exactly this node's sockets: it renews the
// heartbeat, removes the records of sockets that are gone, and writes every
// live one again. Writes queued before it are reflected in the snapshot and
// dropped; writes queued during it follow it.
func (s *Store) resync(ctx context.Context) {
	s.mu.Lock()
	snapshot := make([]*wsgw.SocketInfo, 0, len(s.local))
	for _, info := range s.local {
		snapshot = append(snapshot, info)
	}
	dropped := s.queue
	s.queue = nil
	s.mu.Unlock()
	s.settle(dropped)
	removed, err := s.rewrite(ctx, snapshot)
	if err != nil {
		s.fail("resync", err)
		return
	}
	s.needResync.Store(false)
	s.signal(s.beat) // prove the inbox at once, for the health probe
	if s.failing.CompareAndSwap(true, false) {
		s.log.Info("Redis is back: this node's sockets are registered again", "sockets", len(snapshot), "stale_removed", removed)
	} else {
		s.log.Info("registry resynced", "sockets", len(snapshot), "stale_removed", removed)
	}
}

// rewrite is the Redis side of resync; it returns how many stale records
// it removed.
func (s *Store) rewrite(ctx context.Context, snapshot []*wsgw.SocketInfo) (int, error) {
	sockets := s.keys.sockets(s.node)
	s.joined = strconv.FormatInt(time.Now().UnixMilli(), 10)
	pipe := s.client.Pipeline()
	pipe.Set(ctx, s.keys.alive(s.node), s.joined, s.ttl)
	pipe.SAdd(ctx, s.keys.nodes(), s.node)
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, err
	}
	live := make(map[string]bool, len(snapshot))
	for _, info := range snapshot {
		live[info.ID] = true
	}
	// Read the registered IDs a page at a time, so that no reply is huge.
	var stale []string
	rng := &goredis.ZRangeBy{Min: "-", Max: "+", Count: 10_000}
	for {
		ids, err := s.client.ZRangeByLex(ctx, sockets, rng).Result()
		if err != nil {
			return 0, err
		}
		for _, id := range ids {
			if !live[id] {
				stale = append(stale, id)
			}
		}
		if len(ids) < int(rng.Count) {
			break
		}
		rng.Min = "(" + ids[len(ids)-1]
	}
	for chunk := range chunks(stale, s.opts.BatchSize) {
		pipe := s.client.Pipeline()
		args := make([]any, len(chunk))
		for i, id := range chunk {
			pipe.Del(ctx, s.keys.socket(id))
			args[i] = id
		}
		pipe.ZRem(ctx, sockets, args...)
		if _, err := pipe.Exec(ctx); err != nil {
			return 0, err
		}
	}
	for chunk := range chunks(snapshot, s.opts.BatchSize) {
		pipe := s.client.Pipeline()
		zs := make([]goredis.Z, len(chunk))
		for i, info := range chunk {
			data, err := json.Marshal(info)
			if err != nil {
				return 0, err
			}
			pipe.Set(ctx, s.keys.socket(info.ID), data, 0)
			zs[i] = goredis.Z{Member: info.ID}
		}
		pipe.ZAdd(ctx, sockets, zs...)
		if _, err := pipe.Exec(ctx); err != nil {
			return 0, err
		}
	}
	return len(stale), nil
}

// leave removes this node from the registry when the store closes: the
// writes still queued, then its sockets, heartbeat and membership.
func (s *Store) leave() {
	if s.killed.Load() {
		return
	}
	s.flush()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	s.mu.Lock()
	var ids []string
	for id := range s.local {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	for chunk := range chunks(ids, s.opts.BatchSize) {
		pipe := s.client.Pipeline()
		for _, id := range chunk {
			pipe.Del(ctx, s.keys.socket(id))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			s.fail("leave", err)
			return
		}
	}
	pipe := s.client.Pipeline()
	pipe.Del(ctx, s.keys.sockets(s.node), s.keys.alive(s.node))
	pipe.SRem(ctx, s.keys.nodes(), s.node)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		s.fail("leave", err)
		return
	}
	s.log.Info("left the cluster", "sockets_removed", len(ids))
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
