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
