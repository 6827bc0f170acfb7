// Package redis is the store.Registry of a cluster of gateway nodes, the
// store.Bus that carries the socket service between them and the
// store.DeployRegistry that shares their deploys, on one
// Redis server, a Redis Cluster or a Sentinel-managed master (go-redis
// UniversalClient).
//
// Writes of the registry are batched: Register and Unregister update this
// node's own view at once and queue a command for one writer goroutine,
// which sends everything queued in one pipeline per round trip. This node's
// own view is the truth about its sockets: after any failure to reach Redis
// the writer rewrites the node's whole registry from it (a resync), so
// nothing of a socket that stayed connected is lost in an outage.
package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/internal/ratelog"
	"github.com/wsgw/wsgw/metrics"
	"github.com/wsgw/wsgw/store"
)

// Options configure a Store. Zero fields get defaults from setDefaults.
type Options struct {
	// Addrs is one server (host:port, redis://host:port/db or rediss://),
	// the seeds of a Redis Cluster (several addresses, or one with
	// Cluster), or the Sentinels when SentinelMaster is set.
	Addrs          []string
	Cluster        bool
	SentinelMaster string
	// Username and Password, when set, win over those of a URL.
	Username, Password string

	// NodeID names this node; it must not contain braces (they would change
	// the Cluster hash tag of its keys).
	NodeID string
	// KeyPrefix starts every key and channel (default "wsgw"), so that
	// several deployments can share one Redis.
	KeyPrefix string
	// HeartbeatInterval is how often the node proves it is alive (default
	// 5s); a node silent for 3 intervals is dead and its sockets are purged.
	HeartbeatInterval time.Duration
	// RequestTimeout bounds the wait for another node's answer to info and
	// closeAll (default 2s).
	RequestTimeout time.Duration
	// BatchSize is how many queued registrations go in one round trip
	// (default 512).
	BatchSize int
	// InboxBuffer is how many inbox messages go-redis may hold for the
	// consumer (default 65536).
	InboxBuffer int

	Logger  *slog.Logger
	Metrics *metrics.Metrics
}

func (o *Options) setDefaults() {
	if o.KeyPrefix == "" {
		o.KeyPrefix = "wsgw"
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = 5 * time.Second
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 2 * time.Second
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 512
	}
	if o.InboxBuffer <= 0 {
		o.InboxBuffer = 1 << 16
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New(nil)
	}
}

// ioTimeout bounds one round trip of the background goroutines.
const ioTimeout = 10 * time.Second

// pingTimeout bounds Ping, so that a Redis that does not answer fails the
// health probe instead of hanging it.
const pingTimeout = 2 * time.Second

// Store is a node's view of the registry in Redis, and its end of the
// cluster bus. Create it with New; Close leaves the cluster.
type Store struct {
	opts   Options
	node   string
	client goredis.UniversalClient
	keys   keys
	log    *slog.Logger
	errs   func(op string) prometheus.Counter
	ttl    time.Duration
	retry  time.Duration

	// mu guards this node's sockets, the queue of writes and the sockets
	// whose unregistration is queued but not yet written.
	mu    sync.Mutex
	local map[string]*wsgw.SocketInfo
	queue []op
	gone  map[string]int

	wake       chan struct{} // the writer has work
	beat       chan struct{} // the writer should heartbeat now
	resub      chan struct{} // the inbox should be subscribed again
	needResync atomic.Bool
	failing    atomic.Bool
	// rejoiningShown: the heartbeat key says rejoiningMark, so other
	// nodes do not count on this one yet.
	rejoiningShown atomic.Bool
	failLog        ratelog.Limiter // lines about Redis failing, while it does
	slowLog        ratelog.Limiter // lines about nodes that do not answer in time
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

	handler   atomic.Pointer[store.Local]
	inboxUp   flag // this node's inbox is subscribed: answers can arrive
	reqSeq    atomic.Uint64
	pendingMu sync.Mutex
	pending   map[uint64]chan answer
	outMu     sync.Mutex
	outbox    map[string][]outbound // commands for other nodes, by node
	outWake   chan struct{}         // the publisher has commands to send
	direct    atomic.Bool           // a caller is publishing its command itself
	replies   chan outgoing
	ackMu     sync.Mutex
	acks      map[string][]byte // acknowledgements owed, by node: appendAck entries
	ackWake   chan struct{}     // the replier has acknowledgements to send

	purgeMu sync.Mutex
	purging map[string]bool
	purges  chan purge

	stop   chan struct{}
	killed atomic.Bool // stop without leaving the cluster (tests)
	closed atomic.Bool
	wg     sync.WaitGroup
}

var _ store.Registry = (*Store)(nil)

// New connects to Redis and joins the cluster: it clears what a previous
// run of the same node left in the registry and starts heartbeating. If
// Redis does not answer, the node starts unhealthy and joins when it does.
func New(opts Options) (*Store, error) {
	opts.setDefaults()
	if opts.NodeID == "" {
		return nil, errors.New("redis store: no node ID")
	}
	for name, v := range map[string]string{"node ID": opts.NodeID, "key prefix": opts.KeyPrefix} {
		if strings.ContainsAny(v, "{}") {
			return nil, fmt.Errorf("redis store: the %s %q contains a brace, which would break Redis Cluster hash tags", name, v)
		}
	}
	client, err := newClient(&opts)
	if err != nil {
		return nil, fmt.Errorf("redis store: %w", err)
	}
	s := &Store{
		opts:    opts,
		node:    opts.NodeID,
		client:  client,
		keys:    keys{prefix: opts.KeyPrefix},
		log:     opts.Logger.With("node", opts.NodeID),
		errs:    func(op string) prometheus.Counter { return opts.Metrics.StoreErrors.WithLabelValues(op) },
		ttl:     3 * opts.HeartbeatInterval,
		retry:   min(opts.HeartbeatInterval/2, time.Second),
		local:   make(map[string]*wsgw.SocketInfo),
		gone:    make(map[string]int),
		peers:   make(map[string]time.Time),
		wake:    make(chan struct{}, 1),
		beat:    make(chan struct{}, 1),
		resub:   make(chan struct{}, 1),
		inboxUp: newFlag(),
		pending: make(map[uint64]chan answer),
		outbox:  make(map[string][]outbound),
		outWake: make(chan struct{}, 1),
		replies: make(chan outgoing, 1024),
		acks:    make(map[string][]byte),
		ackWake: make(chan struct{}, 1),
		purging: make(map[string]bool),
		purges:  make(chan purge, 64),
		stop:    make(chan struct{}),
	}
	// The first resync empties this node's registry of what a previous run
	// with the same ID left: a restarted node starts with no ghosts.
	s.needResync.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	s.resync(ctx)
	cancel()
	s.wg.Add(4)
	go s.runWriter()
	go s.runPurger()
	go s.runReplier()
	go s.runPublisher()
	return s, nil
}

// KeyPrefix is the prefix of every key and channel of the store.
func (s *Store) KeyPrefix() string { return s.opts.KeyPrefix }

// Register records info, which must be of this node, and queues it for
// Redis; it never waits for Redis.
func (s *Store) Register(_ context.Context, info *wsgw.SocketInfo) error {
	if info.Node != s.node {
		return fmt.Errorf("redis store of node %q: socket %s belongs to node %q", s.node, info.ID, info.Node)
	}
	if s.closed.Load() {
		return errClosed
	}
	s.mu.Lock()
	s.local[info.ID] = info
	s.queue = append(s.queue, op{kind: opRegister, info: info})
	s.mu.Unlock()
	s.signal(s.wake)
	return nil
}

// Unregister forgets socket id and queues its removal from Redis.
func (s *Store) Unregister(_ context.Context, id string) error {
	if s.closed.Load() {
		return errClosed
	}
	s.mu.Lock()
	delete(s.local, id)
	s.gone[id]++
	s.queue = append(s.queue, op{kind: opUnregister, id: id})
	s.mu.Unlock()
	s.signal(s.wake)
	return nil
}

var errClosed = errors.New("redis store: closed")

// Get returns the record of socket id: this node's from memory, another
// node's from Redis. A miss is store.ErrResyncing rather than ErrNotFound
// while the registry is being written again after an outage (settled).
func (s *Store) Get(ctx context.Context, id string) (*wsgw.SocketInfo, error) {
	s.mu.Lock()
	info, ok := s.local[id]
	gone := s.gone[id] > 0
	s.mu.Unlock()
	if ok {
		return info, nil
	}
	if gone {
		return nil, store.ErrNotFound
	}
	data, err := s.client.Get(ctx, s.keys.socket(id)).Bytes()
	if errors.Is(err, goredis.Nil) {
		if err := s.settled(ctx); err != nil {
			return nil, err
		}
		return nil, store.ErrNotFound
	}
	if err != nil {
		s.unreachable(err)
		return nil, unavailable(err)
	}
	return decodeInfo(data)
}

// Flush waits until every write queued before it has been sent to Redis.
func (s *Store) Flush(ctx context.Context) error {
	if s.closed.Load() {
		return errClosed
	}
	done := make(chan struct{})
	s.mu.Lock()
	s.queue = append(s.queue, op{kind: opBarrier, done: done})
	s.mu.Unlock()
	s.signal(s.wake)
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
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := s.client.Ping(ctx).Err(); err != nil {
		s.unreachable(err)
		return unavailable(err)
	}
	if s.needResync.Load() {
		return fmt.Errorf("%w: re-registering this node's sockets in Redis", store.ErrUnavailable)
	}
	if s.handler.Load() != nil && !s.inboxUp.is() {
		return fmt.Errorf("%w: this node's inbox channel is not subscribed", store.ErrUnavailable)
	}
	if s.rejoiningShown.Load() {
		return fmt.Errorf("%w: the other nodes still see this node as rejoining the cluster", store.ErrUnavailable)
	}
	return nil
}

// Close leaves the cluster: it writes what is queued, removes this node's
// sockets, heartbeat and inbox, and closes the connections to Redis.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(s.stop)
	s.wg.Wait()
	s.pendingMu.Lock()
	for id, ch := range s.pending {
		close(ch)
		delete(s.pending, id)
	}
	s.pendingMu.Unlock()
	return s.client.Close()
}

// signal wakes the goroutine waiting on ch, without blocking.
func (s *Store) signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// fail counts and logs a failure to reach Redis. The first failure after
// success is an error line; while Redis stays away, one warning per
// ratelog.Interval counts the failures since the line before.
func (s *Store) fail(op string, err error) {
	s.errs(op).Inc()
	s.report(op, err)
}

// unreachable notes that Redis did not answer. It may have restarted empty
// in the meantime: until the writer has rewritten this node's part of the
// registry, and the heartbeat has proven the inbox, the node is not healthy.
// A caller's own deadline or cancellation says nothing of Redis.
func (s *Store) unreachable(err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return
	}
	s.needResync.Store(true)
	s.inboxUp.set(false)
}

// report logs a failure to reach Redis that is already counted.
func (s *Store) report(op string, err error) {
	s.unreachable(err)
	if s.failing.CompareAndSwap(false, true) {
		s.failLog.Reset()
		s.failLog.Allow()
		s.log.Error("lost Redis: local sockets keep working; they will be re-registered when it answers", "op", op, "err", err)
		return
	}
	if ok, n := s.failLog.Allow(); ok {
		s.log.Warn("Redis still unreachable", "failures", n, "op", op, "err", err)
	}
}

// unavailable wraps a Redis failure as store.ErrUnavailable.
func unavailable(err error) error {
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

// flag is a boolean that a goroutine can wait to become true.
type flag struct {
	mu sync.Mutex
	on bool
	up chan struct{} // closed while on
}

func newFlag() flag { return flag{up: make(chan struct{})} }

func (f *flag) set(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if on == f.on {
		return
	}
	f.on = on
	if on {
		close(f.up)
	} else {
		f.up = make(chan struct{})
	}
}

func (f *flag) is() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.on
}

// ready returns a channel that is closed once the flag is true.
func (f *flag) ready() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.up
}
