// Package redis keeps what the nodes of a cluster share in Redis: one
// server, a Redis Cluster or a Sentinel-managed master (go-redis
// UniversalClient). A node opens one Shard, its connection to Redis, and
// runs the three roles of the store package on it: the Registry of sockets
// (registry.go), the Bus that carries commands to the node holding a socket
// (bus.go) and the Deploys that share deploys (deploys.go). Close the roles
// before their Shard.
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

	"github.com/wsgw/wsgw/internal/ratelog"
	"github.com/wsgw/wsgw/metrics"
	"github.com/wsgw/wsgw/store"
)

// Options configure a Shard and the roles on it. Zero fields get defaults
// from setDefaults.
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
	// KeyPrefix starts every key and channel (default DefaultKeyPrefix), so
	// that several deployments can share one Redis.
	KeyPrefix string
	// HeartbeatInterval is how often the node proves it is alive (default
	// DefaultHeartbeatInterval); a node silent for 3 intervals is dead and
	// its sockets are purged.
	HeartbeatInterval time.Duration
	// RequestTimeout bounds the wait for another node's answer to a
	// command (default 2s).
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

// The defaults of the settings that the configuration file names
// (store.key_prefix, store.heartbeat_interval).
const (
	DefaultKeyPrefix         = "wsgw"
	DefaultHeartbeatInterval = 5 * time.Second
)

func (o *Options) setDefaults() {
	if o.KeyPrefix == "" {
		o.KeyPrefix = DefaultKeyPrefix
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = DefaultHeartbeatInterval
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

// Shard is one node's connection to Redis, and what its roles share: how
// Redis failures are counted and told, whether this node's part of the
// registry must be written again, whether its inbox is proven subscribed,
// and the purge of dead nodes. Make it with NewShard.
type Shard struct {
	opts   Options
	node   string
	client goredis.UniversalClient
	keys   keys
	log    *slog.Logger
	errs   func(op string) prometheus.Counter
	ttl    time.Duration // a node's heartbeat lives this long
	retry  time.Duration // how soon a failed resync or subscription is tried again

	// needResync: Redis may have lost this node's part of the registry
	// (it failed, or restarted empty); the Registry's writer rewrites it.
	needResync atomic.Bool
	// inbox is the state of this node's inbox, which the Bus subscribes
	// and the Registry's heartbeat proves.
	inbox inboxState
	// beat asks the Registry to heartbeat now; resub asks the Bus to
	// subscribe its inbox again.
	beat, resub chan struct{}
	failing     atomic.Bool
	failLog     ratelog.Limiter // lines about Redis failing, while it does

	purgeMu sync.Mutex
	purging map[string]bool
	purges  chan purge

	stop   chan struct{}
	closed atomic.Bool
	wg     sync.WaitGroup
}

// inboxState is what the roles know of this node's inbox.
type inboxState struct {
	// served: a Bus serves this node's inbox, so other nodes may send
	// commands here and the heartbeat checks that they arrive.
	served atomic.Bool
	// up: the inbox is subscribed, as last seen.
	up flag
}

// NewShard connects to Redis (lazily: a Redis that does not answer yet is
// an unhealthy node, not an error) and starts the purger of dead nodes.
func NewShard(opts Options) (*Shard, error) {
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
	s := &Shard{
		opts:    opts,
		node:    opts.NodeID,
		client:  client,
		keys:    keys{prefix: opts.KeyPrefix},
		log:     opts.Logger.With("node", opts.NodeID),
		errs:    func(op string) prometheus.Counter { return opts.Metrics.StoreErrors.WithLabelValues(op) },
		ttl:     3 * opts.HeartbeatInterval,
		retry:   min(opts.HeartbeatInterval/2, time.Second),
		inbox:   inboxState{up: newFlag()},
		beat:    make(chan struct{}, 1),
		resub:   make(chan struct{}, 1),
		purging: make(map[string]bool),
		purges:  make(chan purge, 64),
		stop:    make(chan struct{}),
	}
	s.wg.Add(1)
	go s.runPurger()
	return s, nil
}

// KeyPrefix is the prefix of every key and channel of the shard.
func (s *Shard) KeyPrefix() string { return s.opts.KeyPrefix }

// Close stops the purger and closes the connections to Redis. The roles on
// the shard must be closed first.
func (s *Shard) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(s.stop)
	s.wg.Wait()
	return s.client.Close()
}

// signal wakes the goroutine waiting on ch, without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// fail counts and logs a failure to reach Redis. The first failure after
// success is an error line; while Redis stays away, one warning per
// ratelog.Interval counts the failures since the line before.
func (s *Shard) fail(op string, err error) {
	s.errs(op).Inc()
	s.report(op, err)
}

// unreachable notes that Redis did not answer. It may have restarted empty
// in the meantime: until the writer has rewritten this node's part of the
// registry, and the heartbeat has proven the inbox, the node is not healthy.
// A caller's own deadline or cancellation says nothing of Redis.
func (s *Shard) unreachable(err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return
	}
	s.needResync.Store(true)
	s.inbox.up.set(false)
}

// report logs a failure to reach Redis that is already counted.
func (s *Shard) report(op string, err error) {
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

// rejoining reports whether node's heartbeat says that it is rejoining
// the cluster.
func (s *Shard) rejoining(ctx context.Context, node string) (bool, error) {
	v, err := s.client.Get(ctx, s.keys.alive(node)).Result()
	if errors.Is(err, goredis.Nil) {
		return false, nil
	}
	return v == rejoiningMark, err
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
