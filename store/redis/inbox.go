package redis

import (
	"context"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wsgw/wsgw/store"
)

// inboxSendTimeout is how long go-redis waits for room in the inbox buffer
// before it drops a message (its default is a minute). The consumer never
// blocks on a client, so the buffer only fills when the process is starved;
// then it is better to stop reading and let Redis hold the messages (up to
// its client-output-buffer-limit for pub/sub) than to drop them here.
const inboxSendTimeout = time.Hour

// runInbox keeps this node's inbox subscribed and hands its commands to
// local. go-redis resubscribes by itself after a lost connection; a
// sunsubscribe pushed by Redis (the channel's slot moved to another shard)
// or a failed self-check makes it subscribe again from scratch, after a
// refresh of the cluster's slot map.
func (s *Store) runInbox(local store.Local) {
	defer s.wg.Done()
	channel := s.keys.inbox(s.node)
	for {
		ps := s.client.SSubscribe(context.Background(), channel)
		msgs := ps.ChannelWithSubscriptions(
			goredis.WithChannelSize(s.opts.InboxBuffer),
			goredis.WithChannelSendTimeout(inboxSendTimeout),
		)
		again := s.consume(local, channel, msgs)
		s.inboxUp.set(false)
		s.signal(s.beat) // the heartbeat tells the others at once: rejoining
		_ = ps.Close()
		for range msgs {
			// Let go-redis's receiving goroutine see the close and end.
		}
		if !again {
			return
		}
		if cc, ok := s.client.(*goredis.ClusterClient); ok {
			cc.ReloadState(context.Background())
		}
		select {
		case <-s.stop:
			return
		case <-time.After(s.retry):
		}
	}
}

// consume reads the inbox until the store stops (false) or the
// subscription must be made again (true).
func (s *Store) consume(local store.Local, channel string, msgs <-chan any) bool {
	for {
		select {
		case <-s.stop:
			return false
		case <-s.resub:
			return true
		case m, ok := <-msgs:
			if !ok {
				return true
			}
			switch m := m.(type) {
			case *goredis.Message:
				s.deliver(local, m.Payload)
			case *goredis.Subscription:
				if m.Channel != channel {
					continue
				}
				switch m.Kind {
				case "ssubscribe":
					s.inboxUp.set(true)
					s.log.Info("inbox subscribed", "channel", channel)
					// Back from an outage, the registry may have lost this
					// node: the heartbeat finds out at once.
					s.signal(s.beat)
				case "sunsubscribe":
					s.log.Warn("Redis unsubscribed this node's inbox (its slot moved?); subscribing again", "channel", channel)
					return true
				}
			}
		}
	}
}

// deliver carries out one command. Nothing here waits on a client or on
// Redis: frames and closes go to each connection's write queue, replies and
// acknowledgements to the replier.
func (s *Store) deliver(local store.Local, payload string) {
	c, err := decode(payload)
	if err == nil && c.op == opBatch {
		err = decodeBatch(c.body, func(c command) { s.carryOut(local, c) })
	} else if err == nil {
		s.carryOut(local, c)
	}
	if err != nil {
		s.errs("inbox").Inc()
		s.log.Warn("dropped a malformed inbox message", "err", err, "bytes", len(payload))
	}
}

// carryOut does what one command says.
func (s *Store) carryOut(local store.Local, c command) {
	switch c.op {
	case opSend:
		s.acknowledge(c, local.Send(c.id, []byte(c.body), c.binary))
	case opClose:
		s.acknowledge(c, local.CloseSocket(c.id, c.code, c.body))
	case opInfo:
		s.answer(c, replyOf(local.Info(c.id)))
	case opCloseAll:
		s.answer(c, reply{Count: local.CloseAll()})
	case opReply:
		s.complete(c.req, c.body)
	case opAcks:
		s.completeAcks(c.body)
	case opPing:
	}
}
