package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/store"
)

// Deploys shares endpoint deploys between the nodes (store.DeployRegistry).
// Its keys share the hash tag {deploys}, so the scripts below touch them
// atomically on a Redis Cluster too:
//
//	<prefix>:{deploys}:seq       string, the cluster's last version
//	<prefix>:{deploys}:scripts   hash, path -> the deployment's JSON (script included)
//	<prefix>:{deploys}:versions  hash, path -> version of the last deploy or delete
//	<prefix>:{deploys}:notices   sharded pub/sub channel, one message per change
//
// The event handler is stored under the field "event_handler" (paths start
// with /). Notices make other nodes switch at once; every node also polls
// seq each second, so one that missed a notice catches up within a second.
type Deploys struct {
	sh     *Shard
	stop   chan struct{}
	closed atomic.Bool
	wg     sync.WaitGroup
}

var _ store.DeployRegistry = (*Deploys)(nil)

// NewDeploys returns the deploy registry of the cluster on sh.
func NewDeploys(sh *Shard) *Deploys { return &Deploys{sh: sh, stop: make(chan struct{})} }

// Close stops Watch.
func (d *Deploys) Close() error {
	if d.closed.CompareAndSwap(false, true) {
		close(d.stop)
		d.wg.Wait()
	}
	return nil
}

// deployPoll is how often a node checks that it has not missed a deploy.
const deployPoll = time.Second

const handlerField = "event_handler"

func field(path string) string {
	if path == "" {
		return handlerField
	}
	return path
}

func (k keys) deploySeq() string      { return k.prefix + ":{deploys}:seq" }
func (k keys) deployScripts() string  { return k.prefix + ":{deploys}:scripts" }
func (k keys) deployVersions() string { return k.prefix + ":{deploys}:versions" }
func (k keys) deployNotices() string  { return k.prefix + ":{deploys}:notices" }

// nextVersion increments seq, and lifts it above floor: after Redis lost its
// data, versions still grow past what the nodes run.
var nextVersion = goredis.NewScript(`
local v = redis.call('INCR', KEYS[1])
local floor = tonumber(ARGV[1])
if v <= floor then
  v = floor + 1
  redis.call('SET', KEYS[1], v)
end
return v`)

// saveDeploy stores ARGV[3] under ARGV[1] unless a version above ARGV[2] is
// recorded for the path. It returns 0 for a refusal, 1 for a replaced
// deployment, 2 for a path that had none.
var saveDeploy = goredis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if cur > tonumber(ARGV[2]) then return 0 end
local created = redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1 + created`)

// deleteDeploy removes ARGV[1] as of version ARGV[2], leaving the version as
// a tombstone so that an older deploy arriving late cannot bring it back.
var deleteDeploy = goredis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if cur > tonumber(ARGV[2]) then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1`)

// notice is one change, as published.
type notice struct {
	Deployment wsgw.Deployment `json:"deployment"`
	Deleted    bool            `json:"deleted,omitempty"`
}

// NextVersion returns a version above floor and every version before it.
func (d *Deploys) NextVersion(ctx context.Context, floor int64) (int64, error) {
	s := d.sh
	v, err := nextVersion.Run(ctx, s.client, []string{s.keys.deploySeq()}, floor).Int64()
	if err != nil {
		return 0, d.fail("deploy_version", err)
	}
	return v, nil
}

// Save stores dep unless a newer version is recorded, then tells every
// node; created reports that the path had no stored deployment.
func (d *Deploys) Save(ctx context.Context, dep wsgw.Deployment) (saved, created bool, err error) {
	s := d.sh
	data, err := json.Marshal(dep)
	if err != nil {
		return false, false, fmt.Errorf("redis deploys: %w", err)
	}
	r, err := saveDeploy.Run(ctx, s.client, []string{s.keys.deployScripts(), s.keys.deployVersions()},
		field(dep.Path), dep.Version, data).Int()
	if err != nil {
		return false, false, d.fail("deploy_save", err)
	}
	if r == 0 {
		return false, false, nil
	}
	d.publish(ctx, notice{Deployment: dep})
	return true, r == 2, nil
}

// Delete removes path as of version unless a newer version is recorded,
// then tells every node.
func (d *Deploys) Delete(ctx context.Context, path string, version int64) (bool, error) {
	s := d.sh
	ok, err := deleteDeploy.Run(ctx, s.client, []string{s.keys.deployScripts(), s.keys.deployVersions()},
		field(path), version).Int()
	if err != nil {
		return false, d.fail("deploy_delete", err)
	}
	if ok == 0 {
		return false, nil
	}
	d.publish(ctx, notice{Deployment: wsgw.Deployment{Path: path, Version: version}, Deleted: true})
	return true, nil
}

// publish tells the other nodes; one that misses it catches up by polling.
func (d *Deploys) publish(ctx context.Context, n notice) {
	data, _ := json.Marshal(n)
	if err := d.sh.client.SPublish(ctx, d.sh.keys.deployNotices(), data).Err(); err != nil {
		d.sh.fail("deploy_notice", err)
	}
}

// Load returns every stored deployment and the versions of deleted paths.
func (d *Deploys) Load(ctx context.Context) ([]wsgw.Deployment, map[string]int64, error) {
	s := d.sh
	var scripts *goredis.MapStringStringCmd
	var versions *goredis.MapStringStringCmd
	_, err := s.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		scripts = p.HGetAll(ctx, s.keys.deployScripts())
		versions = p.HGetAll(ctx, s.keys.deployVersions())
		return nil
	})
	if err != nil {
		return nil, nil, d.fail("deploy_load", err)
	}
	var deps []wsgw.Deployment
	for f, data := range scripts.Val() {
		var dep wsgw.Deployment
		if err := json.Unmarshal([]byte(data), &dep); err != nil {
			s.errs("deploy_load").Inc()
			s.log.Error("skipped a malformed stored deployment", "field", f, "err", err)
			continue
		}
		deps = append(deps, dep)
	}
	deleted := map[string]int64{}
	for f, v := range versions.Val() {
		if _, live := scripts.Val()[f]; live {
			continue
		}
		var version int64
		if _, err := fmt.Sscan(v, &version); err == nil {
			if f == handlerField {
				f = ""
			}
			deleted[f] = version
		}
	}
	return deps, deleted, nil
}

// Watch delivers every node's changes until Close: notices as they
// come, and a resync whenever some may have been missed.
func (d *Deploys) Watch(changed func(wsgw.Deployment, bool), resync func()) {
	s := d.sh
	if d.closed.Load() {
		return
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		ps := s.client.SSubscribe(context.Background(), s.keys.deployNotices())
		defer ps.Close()
		msgs := ps.ChannelWithSubscriptions(goredis.WithChannelSize(1024))
		poll := time.NewTicker(deployPoll)
		defer poll.Stop()
		last := ""
		for {
			select {
			case <-d.stop:
				return
			case m := <-msgs:
				switch m := m.(type) {
				case *goredis.Message:
					var n notice
					if err := json.Unmarshal([]byte(m.Payload), &n); err != nil {
						s.log.Warn("dropped a malformed deploy notice", "err", err)
						continue
					}
					changed(n.Deployment, n.Deleted)
				case *goredis.Subscription:
					if m.Kind == "ssubscribe" { // (re)subscribed: notices may have been missed
						resync()
					}
				}
			case <-poll.C:
				ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
				seq, err := s.client.Get(ctx, s.keys.deploySeq()).Result()
				cancel()
				if err != nil && !errors.Is(err, goredis.Nil) {
					continue // the registry's own checks report the outage
				}
				if seq != last {
					last = seq
					resync()
				}
			}
		}
	}()
}

func (d *Deploys) fail(op string, err error) error {
	d.sh.fail(op, err)
	return unavailable(err)
}
