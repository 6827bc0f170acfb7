package redis

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wsgw/wsgw"
)

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
		s.log.Info("Redis is back: this node's sockets are registered again", "sockets", len(snapshot), "stale_removed", removed,
			"failures_since_last_line", s.failLog.Reset())
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
