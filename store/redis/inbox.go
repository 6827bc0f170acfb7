package redis

import (
	"context"
	"github.com/wsgw/wsgw"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// inboxSendTimeout is how long go-redis waits for room in the inbox buffer
// before it drops a message (its default is a minute). The consumer never
// blocks on a client, so the buffer only fills when the process is starved;
// then it is better to stop reading and let Redis hold the messages (up to
// its client-output-buffer-limit for pub/sub) than to drop them here.
const inboxSendTimeout = time.Hour

// runInbox keeps this node's inbox subscribed and hands its commands to
// the Local. go-redis resubscribes by itself after a lost connection; a
// sunsubscribe pushed by Redis (the channel's slot moved to another shard)
// or a failed self-check makes it subscribe again from scratch, after a
// refresh of the cluster's slot map.
func (b *Bus) runInbox() {
	defer b.wg.Done()
	channel := b.sh.keys.inbox(b.sh.node)
	for {
		ps := b.sh.client.SSubscribe(context.Background(), channel)
		msgs := ps.ChannelWithSubscriptions(
			goredis.WithChannelSize(b.sh.opts.InboxBuffer),
			goredis.WithChannelSendTimeout(inboxSendTimeout),
		)
		again := b.consume(channel, msgs)
		b.sh.inbox.up.set(false)
		signal(b.sh.beat) // the heartbeat tells the others at once: rejoining
		_ = ps.Close()
		for range msgs {
			// Let go-redis's receiving goroutine see the close and end.
		}
		if !again {
			return
		}
		if cc, ok := b.sh.client.(*goredis.ClusterClient); ok {
			cc.ReloadState(context.Background())
		}
		select {
		case <-b.stop:
			return
		case <-time.After(b.sh.retry):
		}
	}
}

// consume reads the inbox until the bus stops (false) or the
// subscription must be made again (true).
func (b *Bus) consume(channel string, msgs <-chan any) bool {
	for {
		select {
		case <-b.stop:
			return false
		case <-b.sh.resub:
			return true
		case m, ok := <-msgs:
			if !ok {
				return true
			}
			switch m := m.(type) {
			case *goredis.Message:
				b.deliver(m.Payload)
			case *goredis.Subscription:
				if m.Channel != channel {
					continue
				}
				switch m.Kind {
				case "ssubscribe":
					b.sh.inbox.up.set(true)
					b.sh.log.Info("inbox subscribed", "channel", channel)
					// Back from an outage, the registry may have lost this
					// node: the heartbeat finds out at once.
					signal(b.sh.beat)
				case "sunsubscribe":
					b.sh.log.Warn("Redis unsubscribed this node's inbox (its slot moved?); subscribing again", "channel", channel)
					return true
				}
			}
		}
	}
}

// deliver carries out one command. Nothing here waits on a client or on
// Redis: frames and closes go to each connection's write queue, replies and
// acknowledgements to the replier.
func (b *Bus) deliver(payload string) {
	c, err := decode(payload)
	if err == nil && c.op == opBatch {
		err = decodeBatch(c.body, func(c command) { b.carryOut(c) })
	} else if err == nil {
		b.carryOut(c)
	}
	if err != nil {
		b.malformed(err, len(payload))
	}
}

// malformed counts and logs an inbox message that could not be read.
func (b *Bus) malformed(err error, n int) {
	b.sh.errs("inbox").Inc()
	b.sh.log.Warn("dropped a malformed inbox message", "err", err, "bytes", n)
}

// carryOut does what one command says.
func (b *Bus) carryOut(c command) {
	switch c.op {
	case opSend:
		m, err := c.message()
		if err != nil {
			b.acknowledge(c, wsgw.Errorf(wsgw.EInvalid, "%v", err))
			break
		}
		b.acknowledge(c, b.local.Send(c.id, m))
	case opClose:
		b.acknowledge(c, b.local.CloseSocket(c.id, c.code, c.body))
	case opInfo:
		b.answer(c, replyOf(b.local.Info(c.id)))
	case opCloseAll:
		b.answer(c, reply{Count: b.local.CloseAll()})
	case opJoin:
		b.acknowledge(c, b.local.Join(c.id, c.body))
	case opLeave:
		b.acknowledge(c, b.local.Leave(c.id, c.body))
	case opUserSend, opUserKill:
		user, rest, err := splitString(c.body)
		if err != nil {
			b.malformed(err, len(c.body))
			return
		}
		if c.op == opUserSend {
			m, err := c.messageOf(rest)
			if err != nil {
				b.malformed(err, len(c.body))
				return
			}
			b.answer(c, reply{Count: b.local.SendToUser(user, m)})
		} else {
			b.answer(c, reply{Count: b.local.CloseUser(user, c.code, rest)})
		}
	case opPublish:
		group, exclude, rest, err := decodePublish(c.body)
		var m *wsgw.Message
		if err == nil {
			m, err = c.messageOf(rest)
		}
		if err != nil {
			b.malformed(err, len(c.body))
			return
		}
		b.local.Publish(group, m, exclude)
	case opReply:
		b.complete(c.req, c.body)
	case opAcks:
		b.completeAcks(c.body)
	case opPing:
	}
}
