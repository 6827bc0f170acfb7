package redis

import (
	"context"
	"errors"

	goredis "github.com/redis/go-redis/v9"
)

// purge is a request to remove a dead node's sockets from the registry.
type purge struct {
	node string
	// force purges even a node whose heartbeat has not expired: one whose
	// inbox had no subscriber, which only a dead node has for long. If it
	// was alive after all, it finds its heartbeat gone and resyncs.
	force bool
}

// purgeScript pops up to ARGV[1] IDs from a node's set of sockets, unless
// the node is alive: it runs on the node's slot (its keys share a hash tag),
// so a node that comes back between two chunks stops the purge. ARGV[2] ==
// "force" deletes the heartbeat first. It returns false (nil) for a live
// node, else the IDs it popped.
var purgeScript = goredis.NewScript(`
if ARGV[2] == "force" then
  redis.call("DEL", KEYS[1])
elseif redis.call("EXISTS", KEYS[1]) == 1 then
  return false
end
local popped = redis.call("ZPOPMIN", KEYS[2], ARGV[1])
local ids = {}
for i = 1, #popped, 2 do ids[#ids + 1] = popped[i] end
return ids
`)

// schedulePurge asks the purger to purge node, once at a time per node. It
// never blocks: a request that finds the purger busy is made again by the
// next heartbeat.
func (s *Shard) schedulePurge(node string, force bool) {
	if node == s.node {
		return
	}
	s.purgeMu.Lock()
	defer s.purgeMu.Unlock()
	if s.purging[node] {
		return
	}
	select {
	case s.purges <- purge{node: node, force: force}:
		s.purging[node] = true
	default:
	}
}

// runPurger is the purger goroutine: dead nodes are purged off the writer's
// goroutine, so a big purge never delays registrations.
func (s *Shard) runPurger() {
	defer s.wg.Done()
	for {
		select {
		case <-s.stop:
			return
		case p := <-s.purges:
			ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
			s.purgeNode(ctx, p)
			cancel()
			s.purgeMu.Lock()
			delete(s.purging, p.node)
			s.purgeMu.Unlock()
		}
	}
}

func (s *Shard) purgeNode(ctx context.Context, p purge) {
	const chunk = 1000
	keys := []string{s.keys.alive(p.node), s.keys.sockets(p.node)}
	total, first := 0, true
	for {
		mode := ""
		if p.force && first {
			mode = "force"
		}
		first = false
		ids, err := purgeScript.Run(ctx, s.client, keys, chunk, mode).StringSlice()
		if errors.Is(err, goredis.Nil) {
			s.log.Info("stopped purging a node that is alive again", "dead_node", p.node, "sockets_purged", total)
			return
		}
		if err != nil {
			s.fail("purge", err)
			return
		}
		if len(ids) > 0 {
			pipe := s.client.Pipeline()
			for _, id := range ids {
				pipe.Del(ctx, s.keys.socket(id))
			}
			if _, err := pipe.Exec(ctx); err != nil {
				s.fail("purge", err)
				return
			}
			total += len(ids)
			s.opts.Metrics.SocketsPurged.Add(float64(len(ids)))
		}
		if len(ids) < chunk {
			break
		}
	}
	if err := s.dropIndex(ctx, p.node); err != nil {
		s.fail("purge", err)
		return
	}
	removed, err := s.client.SRem(ctx, s.keys.nodes(), p.node).Result()
	if err != nil {
		s.fail("purge", err)
		return
	}
	if removed == 0 && total == 0 {
		return // another node purged it first
	}
	reason := "heartbeat_expired"
	if p.force {
		reason = "no_subscriber"
	}
	s.opts.Metrics.NodesPurged.WithLabelValues(reason).Inc()
	s.log.Warn("purged a dead node's sockets from the registry", "dead_node", p.node, "reason", reason, "sockets_purged", total)
}
