package redis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/store"
)

// resync makes Redis hold exactly this node's sockets: it renews the
// heartbeat, removes the records of sockets that are gone, and writes every
// live one again. Writes queued before it are reflected in the snapshot and
// dropped; writes queued during it follow it.
func (r *Registry) resync(ctx context.Context) {
	r.mu.Lock()
	snapshot := make([]*wsgw.SocketInfo, 0, len(r.local))
	for _, info := range r.local {
		snapshot = append(snapshot, info)
	}
	entries := make(map[string]*entry, len(r.entries))
	for id, e := range r.entries {
		entries[id] = &entry{state: bytes.Clone(e.state), user: e.user, groups: maps.Clone(e.groups)}
		e.dirty = false
		e.stored = e.stored || len(e.state) > 0
	}
	r.dirty = r.dirty[:0]
	dropped := r.queue
	r.queue = nil
	r.mu.Unlock()
	r.settle(dropped)
	removed, err := r.rewrite(ctx, snapshot, entries)
	if err != nil {
		r.sh.fail("resync", err)
		return
	}
	if r.joinedOnce {
		r.recovered.Store(time.Now().UnixNano())
	}
	r.joinedOnce = true
	r.sh.needResync.Store(false)
	signal(r.sh.beat) // prove the inbox at once, for the health probe
	if r.sh.failing.CompareAndSwap(true, false) {
		r.sh.log.Info("Redis is back: this node's sockets are registered again", "sockets", len(snapshot), "stale_removed", removed,
			"failures_since_last_line", r.sh.failLog.Reset())
	} else {
		r.sh.log.Info("registry resynced", "sockets", len(snapshot), "stale_removed", removed)
	}
}

// rewrite is the Redis side of resync; it returns how many stale records
// it removed. The heartbeat key says rejoiningMark until every socket is
// written and the inbox is proven, so that other nodes answer a miss, or a
// command that finds no subscriber, with 503 rather than 404 meanwhile.
func (r *Registry) rewrite(ctx context.Context, snapshot []*wsgw.SocketInfo, entries map[string]*entry) (int, error) {
	sockets := r.sh.keys.sockets(r.sh.node)
	r.joined = strconv.FormatInt(time.Now().UnixMilli(), 10)
	pipe := r.sh.client.Pipeline()
	pipe.Set(ctx, r.sh.keys.alive(r.sh.node), rejoiningMark, r.sh.ttl)
	pipe.SAdd(ctx, r.sh.keys.nodes(), r.sh.node)
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
		ids, err := r.sh.client.ZRangeByLex(ctx, sockets, rng).Result()
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
	for chunk := range chunks(stale, r.sh.opts.BatchSize) {
		pipe := r.sh.client.Pipeline()
		args := make([]any, len(chunk))
		for i, id := range chunk {
			pipe.Del(ctx, r.sh.keys.socket(id))
			args[i] = id
		}
		pipe.ZRem(ctx, sockets, args...)
		if _, err := pipe.Exec(ctx); err != nil {
			return 0, err
		}
	}
	for chunk := range chunks(snapshot, r.sh.opts.BatchSize) {
		pipe := r.sh.client.Pipeline()
		zs := make([]goredis.Z, len(chunk))
		for i, info := range chunk {
			data, err := json.Marshal(info)
			if err != nil {
				return 0, err
			}
			pipe.Set(ctx, r.sh.keys.socket(info.ID), data, 0)
			zs[i] = goredis.Z{Member: info.ID}
		}
		pipe.ZAdd(ctx, sockets, zs...)
		if _, err := pipe.Exec(ctx); err != nil {
			return 0, err
		}
	}
	if err := r.sh.dropIndex(ctx, r.sh.node); err != nil {
		return 0, err
	}
	if err := r.writeEntries(ctx, entries); err != nil {
		return 0, err
	}
	value := r.aliveValue()
	done, err := r.sh.client.SetXX(ctx, r.sh.keys.alive(r.sh.node), value, r.sh.ttl).Result()
	if err != nil {
		return 0, err
	}
	if !done { // a purge took this node for dead meanwhile
		return 0, errors.New("this node was purged while it wrote its sockets")
	}
	r.rejoiningShown.Store(value == rejoiningMark)
	return len(stale), nil
}

// rejoiningMark is what a node's heartbeat key holds while it writes its
// sockets into the registry again, and until its inbox is proven
// subscribed: it is alive, but not yet wholly part of the cluster.
const rejoiningMark = "rejoining"

// aliveValue is what this node's heartbeat key says: when it joined, or
// rejoiningMark while other nodes' commands may not reach it.
func (r *Registry) aliveValue() string {
	if r.sh.inbox.served.Load() && !r.sh.inbox.up.is() {
		return rejoiningMark
	}
	return r.joined
}

// settled reports whether a miss in the registry proves that a socket does
// not exist. It does not while this node, or another, is rejoining the
// cluster (writing its sockets again), nor, for 3 heartbeat intervals after this node came back
// from an outage, while a node that was part of the cluster before has not
// written its sockets again (Redis may have restarted empty): then the
// answer is store.ErrResyncing.
func (r *Registry) settled(ctx context.Context) error {
	if r.sh.needResync.Load() {
		return resyncing("this node has not written its sockets again yet")
	}
	peers := r.knownPeers()
	pipe := r.sh.client.Pipeline()
	own := pipe.Get(ctx, r.sh.keys.alive(r.sh.node))
	members := pipe.SMembers(ctx, r.sh.keys.nodes())
	alive := make([]*goredis.StringCmd, len(peers))
	for i, p := range peers {
		alive[i] = pipe.Get(ctx, r.sh.keys.alive(p))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		r.sh.unreachable(err)
		return unavailable(err)
	}
	if errors.Is(own.Err(), goredis.Nil) {
		// Redis lost this node's records (it restarted empty), or took
		// this node for dead: the writer rewrites them at once.
		r.sh.needResync.Store(true)
		signal(r.sh.beat)
		return resyncing("the registry lost this node's sockets")
	}
	recovering := time.Since(time.Unix(0, r.recovered.Load())) < r.sh.ttl
	var others []string
	for _, m := range members.Val() {
		if m != r.sh.node && !slices.Contains(peers, m) {
			others = append(others, m)
		}
	}
	for i, p := range peers {
		v, err := alive[i].Result()
		switch {
		case v == rejoiningMark:
			return resyncing("node " + p + " is rejoining the cluster")
		case errors.Is(err, goredis.Nil) && recovering && !slices.Contains(members.Val(), p):
			return resyncing("node " + p + " has not written its sockets again yet")
		}
	}
	if len(others) == 0 {
		return nil
	}
	pipe = r.sh.client.Pipeline()
	alive = alive[:0]
	for _, p := range others {
		alive = append(alive, pipe.Get(ctx, r.sh.keys.alive(p)))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		r.sh.unreachable(err)
		return unavailable(err)
	}
	for i, p := range others {
		if alive[i].Val() == rejoiningMark {
			return resyncing("node " + p + " is rejoining the cluster")
		}
	}
	return nil
}

func resyncing(reason string) error {
	return fmt.Errorf("%w: %s", store.ErrResyncing, reason)
}

// notePeers remembers the other nodes of the registry's member set, and
// forgets those gone from it for 3 heartbeat intervals, unless this node
// came back from an outage less than that ago (they may be on their way
// back).
func (r *Registry) notePeers(members []string) {
	now := time.Now()
	recovering := now.Sub(time.Unix(0, r.recovered.Load())) < r.sh.ttl
	r.peersMu.Lock()
	defer r.peersMu.Unlock()
	for _, m := range members {
		if m != r.sh.node {
			r.peers[m] = now
		}
	}
	for p, seen := range r.peers {
		if now.Sub(seen) > r.sh.ttl && !recovering {
			delete(r.peers, p)
		}
	}
}

// knownPeers are the other nodes this one remembers.
func (r *Registry) knownPeers() []string {
	r.peersMu.Lock()
	defer r.peersMu.Unlock()
	peers := make([]string, 0, len(r.peers))
	for p := range r.peers {
		peers = append(peers, p)
	}
	return peers
}
