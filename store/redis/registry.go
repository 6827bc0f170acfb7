package redis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/store"
)

// Registry is a node's view of the registry of sockets in Redis, and its
// membership of the cluster: it heartbeats for the node, finds dead nodes,
// and writes the node's sockets again whenever Redis may have lost them.
// Make it with NewRegistry; Close leaves the cluster.
type Registry struct {
	sh *Shard

	// mu guards this node's sockets, the queue of writes and the sockets
	// whose unregistration is queued but not yet written.
	mu    sync.Mutex
	local map[string]*wsgw.SocketInfo
	// entries are the index entries (state, user, groups) of local sockets
	// that have any (index.go).
	entries map[string]*entry
	queue   []op
	gone    map[string]int
	// dirty lists the sockets whose state changed since the writer last
	// took them; arena and writes are the writer's copy of those states.
	dirty  []string
	arena  []byte
	writes []stateWrite

	wake chan struct{} // the writer has work
	// rejoiningShown: the heartbeat key says rejoiningMark, so other
	// nodes do not count on this one yet.
	rejoiningShown atomic.Bool
	// silentSince is when the heartbeat's ping to this node's own inbox
	// began to reach no subscriber, and joined is what the heartbeat key
	// holds: when the node last (re)wrote its registry, in Unix ms, for
	// operators reading Redis. Only the writer goroutine touches them.
	silentSince time.Time
	joined      string
	joinedOnce  bool // a resync has succeeded: later ones are recoveries

	// recovered is when this node last wrote its sockets again after an
	// outage (Unix ns), and peers the other nodes it has seen in the
	// registry, with when it last saw each: what a miss in the registry
	// is checked against (settled).
	recovered atomic.Int64
	peersMu   sync.Mutex
	peers     map[string]time.Time

	stop   chan struct{}
	closed atomic.Bool
	wg     sync.WaitGroup
}

var _ store.Registry = (*Registry)(nil)

// NewRegistry joins the cluster: it clears what a previous run of the same
// node left in the registry and starts heartbeating. If Redis does not
// answer, the node starts unhealthy and joins when it does.
func NewRegistry(sh *Shard) *Registry {
	r := &Registry{
		sh:      sh,
		local:   make(map[string]*wsgw.SocketInfo),
		entries: make(map[string]*entry),
		gone:    make(map[string]int),
		peers:   make(map[string]time.Time),
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
	}
	// The first resync empties this node's registry of what a previous run
	// with the same ID left: a restarted node starts with no ghosts.
	sh.needResync.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	r.resync(ctx)
	cancel()
	r.wg.Add(1)
	go r.runWriter()
	return r
}

// Register records info, which must be of this node, and queues it for
// Redis; it never waits for Redis.
func (r *Registry) Register(_ context.Context, info *wsgw.SocketInfo) error {
	if info.Node != r.sh.node {
		return fmt.Errorf("redis store of node %q: socket %s belongs to node %q", r.sh.node, info.ID, info.Node)
	}
	if r.closed.Load() {
		return errClosed
	}
	r.mu.Lock()
	r.local[info.ID] = info
	r.queue = append(r.queue, op{kind: opRegister, info: info})
	r.mu.Unlock()
	signal(r.wake)
	return nil
}

// Unregister forgets socket id and queues its removal from Redis.
func (r *Registry) Unregister(_ context.Context, id string) error {
	if r.closed.Load() {
		return errClosed
	}
	r.mu.Lock()
	delete(r.local, id)
	r.gone[id]++
	r.queue = append(r.queue, op{kind: opUnregister, id: id, entry: r.entries[id]})
	delete(r.entries, id)
	r.mu.Unlock()
	signal(r.wake)
	return nil
}

var errClosed = errors.New("redis store: closed")

// Get returns the record of socket id: this node's from memory, another
// node's from Redis. A miss is store.ErrResyncing rather than ErrNotFound
// while the registry is being written again after an outage (settled).
func (r *Registry) Get(ctx context.Context, id string) (*wsgw.SocketInfo, error) {
	r.mu.Lock()
	info, ok := r.local[id]
	gone := r.gone[id] > 0
	r.mu.Unlock()
	if ok {
		return info, nil
	}
	if gone {
		return nil, store.ErrNotFound
	}
	data, err := r.sh.client.Get(ctx, r.sh.keys.socket(id)).Bytes()
	if errors.Is(err, goredis.Nil) {
		if err := r.settled(ctx); err != nil {
			return nil, err
		}
		return nil, store.ErrNotFound
	}
	if err != nil {
		r.sh.unreachable(err)
		return nil, unavailable(err)
	}
	return decodeInfo(data)
}

// Flush waits until every write queued before it has been sent to Redis.
func (r *Registry) Flush(ctx context.Context) error {
	if r.closed.Load() {
		return errClosed
	}
	done := make(chan struct{})
	r.mu.Lock()
	r.queue = append(r.queue, op{kind: opBarrier, done: done})
	r.mu.Unlock()
	signal(r.wake)
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Ping reports whether this node is fully part of the cluster: Redis
// answers, the registry holds every local socket, the inbox is subscribed,
// and the other nodes know it. Its error is the reason, for the health probe.
func (r *Registry) Ping(ctx context.Context) error {
	sh := r.sh
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := sh.client.Ping(ctx).Err(); err != nil {
		sh.unreachable(err)
		return unavailable(err)
	}
	if sh.needResync.Load() {
		return fmt.Errorf("%w: re-registering this node's sockets in Redis", store.ErrUnavailable)
	}
	if sh.inbox.served.Load() && !sh.inbox.up.is() {
		return fmt.Errorf("%w: this node's inbox channel is not subscribed", store.ErrUnavailable)
	}
	if r.rejoiningShown.Load() {
		return fmt.Errorf("%w: the other nodes still see this node as rejoining the cluster", store.ErrUnavailable)
	}
	return nil
}

// Close leaves the cluster: it writes what is queued, and removes this
// node's sockets, heartbeat and membership.
func (r *Registry) Close() error {
	r.shutdown(true)
	return nil
}

// shutdown stops the writer; leave says whether it leaves the cluster
// first, or stops as a killed process would (tests).
func (r *Registry) shutdown(leave bool) {
	if !r.closed.CompareAndSwap(false, true) {
		return
	}
	close(r.stop)
	r.wg.Wait()
	if leave {
		r.leave()
	}
}
