package redis_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wsgw/wsgw/internal/redistest"
	"github.com/wsgw/wsgw/metrics"
	"github.com/wsgw/wsgw/store"
	redisstore "github.com/wsgw/wsgw/store/redis"
)

// testHeartbeat is long enough that a stall of a Redis shared with other
// test runs does not make a live node look dead (TTL 3s)...
const testHeartbeat = time.Second

// ...and fastHeartbeat keeps the tests of node loss short: a node is dead
// 450ms after its last heartbeat.
const fastHeartbeat = 150 * time.Millisecond

// backend is a Redis deployment that tests run on: the shared server, a
// throwaway one, or a three-master cluster.
type backend struct {
	addrs   []string
	cluster bool
	// owned is set when the test owns the servers, and may stop them.
	owned interface {
		Stop()
		Restart(t testing.TB)
	}
}

func sharedBackend(t testing.TB) backend {
	return backend{addrs: []string{redistest.Addr(t)}}
}

func clusterBackend(cl *redistest.Cluster) backend {
	return backend{addrs: cl.Addrs, cluster: true, owned: cl}
}

// client is a plain go-redis client on the backend, for looking at keys.
func (b backend) client(t testing.TB) goredis.UniversalClient {
	c := goredis.NewUniversalClient(&goredis.UniversalOptions{
		Addrs: b.addrs, IsClusterMode: b.cluster, DisableIdentity: true,
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// parts are one node's store on a backend: its shard, and the roles on it.
type parts struct {
	*redisstore.Shard
	registry *redisstore.Registry
	deploys  *redisstore.Deploys
	bus      *redisstore.Bus // nil until serve
}

// open makes the shard, registry and deploy registry of node under prefix,
// closed (and the prefix wiped) when the test ends.
func (b backend) open(t testing.TB, prefix, node string, o redisstore.Options) *parts {
	t.Helper()
	o.Addrs, o.Cluster, o.KeyPrefix, o.NodeID = b.addrs, b.cluster, prefix, node
	if o.HeartbeatInterval == 0 {
		o.HeartbeatInterval = testHeartbeat
	}
	if o.Logger == nil {
		o.Logger = testLogger()
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New(nil)
	}
	sh, err := redisstore.NewShard(o)
	if err != nil {
		t.Fatal(err)
	}
	p := &parts{Shard: sh, registry: redisstore.NewRegistry(sh), deploys: redisstore.NewDeploys(sh)}
	admin := b.client(t)
	t.Cleanup(func() {
		p.close(true)
		if b.owned == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = redistest.DeletePrefix(ctx, admin, prefix)
		}
	})
	return p
}

// serve starts the node's bus, whose commands go to local.
func (p *parts) serve(local store.Local) *redisstore.Bus {
	p.bus = redisstore.NewBus(p.Shard, local)
	return p.bus
}

// close closes the roles, then the shard; without leave, as a killed
// process would stop: nothing is removed from Redis.
func (p *parts) close(leave bool) {
	if !leave {
		p.registry.Kill() // first: its heartbeat must not tell of the bus's end
	}
	if p.bus != nil {
		_ = p.bus.Close()
	}
	if leave {
		_ = p.registry.Close()
	}
	_ = p.deploys.Close()
	_ = p.Shard.Close()
}

// testLogger discards the stores' logs unless WSGW_TEST_LOG is set.
func testLogger() *slog.Logger {
	var out io.Writer = io.Discard
	if os.Getenv("WSGW_TEST_LOG") != "" {
		out = os.Stderr
	}
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
