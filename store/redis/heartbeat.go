package redis

import (
	"context"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// heartbeat renews this node's liveness, checks that its inbox is still
// subscribed, and looks for dead nodes to purge. A heartbeat key that is
// gone (it expired during a long pause, Redis lost it, or another node
// purged this one) means the registry may have lost this node's sockets: a
// resync follows.
func (r *Registry) heartbeat() {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	began := time.Now()
	defer func() {
		if took := time.Since(began); took > r.sh.opts.HeartbeatInterval {
			r.sh.log.Warn("a heartbeat took longer than heartbeat_interval: Redis or this process is overloaded, and other nodes may take this one for dead", "took", took)
		}
	}()
	if r.sh.needResync.Load() {
		r.resync(ctx)
		return
	}
	pipe := r.sh.client.Pipeline()
	value := r.aliveValue()
	renewed := pipe.SetXX(ctx, r.sh.keys.alive(r.sh.node), value, r.sh.ttl)
	pipe.SAdd(ctx, r.sh.keys.nodes(), r.sh.node)
	members := pipe.SMembers(ctx, r.sh.keys.nodes())
	var ping *goredis.IntCmd
	if r.sh.inbox.served.Load() {
		ping = pipe.SPublish(ctx, r.sh.keys.inbox(r.sh.node), (&command{op: opPing}).encode(nil))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		r.sh.needResync.Store(true)
		r.sh.inbox.up.set(false)
		r.sh.fail("heartbeat", err)
		return
	}
	if !renewed.Val() {
		r.sh.log.Warn("this node's heartbeat had expired or was purged from Redis; re-registering its sockets")
		r.sh.needResync.Store(true)
		r.resync(ctx)
		return
	}
	r.rejoiningShown.Store(value == rejoiningMark)
	if ping != nil {
		r.checkInbox(ping.Val() > 0)
		if value == rejoiningMark && r.sh.inbox.up.is() { // proven now: tell the others at once
			if err := r.sh.client.SetXX(ctx, r.sh.keys.alive(r.sh.node), r.joined, r.sh.ttl).Err(); err != nil {
				r.sh.fail("heartbeat", err)
				return
			}
			r.rejoiningShown.Store(false)
		}
	}
	r.notePeers(members.Val())
	r.findDead(ctx, members.Val())
}

// checkInbox takes the result of the heartbeat's ping to this node's own
// inbox. It is the proof that other nodes' commands arrive. go-redis
// resubscribes by itself after a lost connection; if the inbox stays
// without a subscriber for two heartbeat intervals, it is subscribed again
// from scratch.
func (r *Registry) checkInbox(reached bool) {
	if reached {
		r.sh.inbox.up.set(true)
		r.silentSince = time.Time{}
		return
	}
	r.sh.inbox.up.set(false)
	now := time.Now()
	if r.silentSince.IsZero() {
		r.silentSince = now
		return
	}
	if now.Sub(r.silentSince) >= 2*r.sh.opts.HeartbeatInterval {
		r.silentSince = time.Time{}
		r.sh.errs("subscribe").Inc()
		r.sh.log.Warn("this node's inbox has had no subscriber in Redis for two heartbeats; subscribing again")
		signal(r.sh.resub)
	}
}

// findDead checks the heartbeat of every other node and purges those
// whose heartbeat expired.
func (r *Registry) findDead(ctx context.Context, nodes []string) {
	var others []string
	for _, n := range nodes {
		if n != r.sh.node {
			others = append(others, n)
		}
	}
	if len(others) == 0 {
		return
	}
	pipe := r.sh.client.Pipeline()
	alive := make([]*goredis.IntCmd, len(others))
	for i, n := range others {
		alive[i] = pipe.Exists(ctx, r.sh.keys.alive(n))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		r.sh.fail("heartbeat", err)
		return
	}
	for i, n := range others {
		if alive[i].Val() == 0 {
			r.sh.schedulePurge(n, false)
		}
	}
}
