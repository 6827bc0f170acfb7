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
	value := s.aliveValue()
	renewed := pipe.SetXX(ctx, s.keys.alive(s.node), value, s.ttl)
	pipe.SAdd(ctx, s.keys.nodes(), s.node)
	members := pipe.SMembers(ctx, s.keys.nodes())
	var ping *goredis.IntCmd
	if s.handler.Load() != nil {
		ping = pipe.SPublish(ctx, s.keys.inbox(s.node), (&command{op: opPing}).encode(nil))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		s.needResync.Store(true)
		s.inboxUp.set(false)
		s.fail("heartbeat", err)
		return
	}
	if !renewed.Val() {
		s.log.Warn("this node's heartbeat had expired or was purged from Redis; re-registering its sockets")
		s.needResync.Store(true)
		s.resync(ctx)
		return
	}
	s.rejoiningShown.Store(value == rejoiningMark)
	if ping != nil {
		s.checkInbox(ping.Val() > 0)
		if value == rejoiningMark && s.inboxUp.is() { // proven now: tell the others at once
			if err := s.client.SetXX(ctx, s.keys.alive(s.node), s.joined, s.ttl).Err(); err != nil {
				s.fail("heartbeat", err)
				return
			}
			s.rejoiningShown.Store(false)
		}
	}
	s.notePeers(members.Val())
	s.findDead(ctx, members.Val())
}

// checkInbox takes the result of the heartbeat's ping to this node's own
// inbox. It is the proof that other nodes' commands arrive. go-redis
// resubscribes by itself after a lost connection; if the inbox stays
// without a subscriber for two heartbeat intervals, it is subscribed again
// from scratch.
func (s *Store) checkInbox(reached bool) {
	if reached {
		s.inboxUp.set(true)
		s.silentSince = time.Time{}
		return
	}
	s.inboxUp.set(false)
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
