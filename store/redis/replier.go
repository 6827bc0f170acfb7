package redis

import (
	"context"
	"encoding/json"

	"github.com/wsgw/wsgw"
)

// The owner's side of requests: replies to info and closeAll, and
// acknowledgements of sends and closes, published by one replier goroutine
// so that the inbox consumer never waits on Redis.

// outgoing is a reply that waits for the replier goroutine.
type outgoing struct {
	node    string
	payload []byte
}

// answer queues a reply to a request for the replier.
func (b *Bus) answer(c command, r reply) {
	if c.from == "" {
		b.sh.errs("inbox").Inc()
		b.sh.log.Warn("dropped a request with no node to answer")
		return
	}
	body, err := json.Marshal(r)
	if err != nil {
		b.sh.errs("reply").Inc()
		b.sh.log.Error("encoding a reply", "err", err)
		return
	}
	out := command{op: opReply, req: c.req, body: string(body)}
	select {
	case b.replies <- outgoing{node: c.from, payload: out.encode(nil)}:
	default:
		b.sh.errs("reply").Inc()
		b.sh.log.Warn("dropped a reply: too many waiting", "to_node", c.from)
	}
}

// acknowledge queues the acknowledgement of a send or close for the
// replier, which sends each node the ones it is owed in one message per
// round trip. A command without a request (from an older node) wants none.
func (b *Bus) acknowledge(c command, err error) {
	if c.req == 0 || c.from == "" {
		if err != nil {
			b.sh.log.Debug("a command from another node was refused", "socket_id", c.id, "err", err)
		}
		return
	}
	a := ack{req: c.req}
	if err != nil {
		a.code, a.message = wsgw.ErrorCode(err), wsgw.ErrorMessage(err)
	}
	b.ackMu.Lock()
	b.acks[c.from] = appendAck(b.acks[c.from], a)
	b.ackMu.Unlock()
	signal(b.ackWake)
}

// takeAcks removes and returns the queued acknowledgements, by node.
func (b *Bus) takeAcks() map[string][]byte {
	b.ackMu.Lock()
	defer b.ackMu.Unlock()
	if len(b.acks) == 0 {
		return nil
	}
	acks := b.acks
	b.acks = make(map[string][]byte, len(acks))
	return acks
}

// runReplier publishes queued replies and acknowledgements, everything
// that waits in one pipeline per round trip.
func (b *Bus) runReplier() {
	defer b.wg.Done()
	for {
		var batch []outgoing
		select {
		case <-b.stop:
			return
		case o := <-b.replies:
			batch = append(batch, o)
		case <-b.ackWake:
		}
	more:
		for len(batch) < 256 {
			select {
			case o := <-b.replies:
				batch = append(batch, o)
			default:
				break more
			}
		}
		for node, body := range b.takeAcks() {
			for len(body) > 0 {
				n := ackBoundary(body, maxBatchBody)
				c := command{op: opAcks, body: string(body[:n])}
				batch = append(batch, outgoing{node: node, payload: c.encode(nil)})
				body = body[n:]
			}
		}
		if len(batch) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		pipe := b.sh.client.Pipeline()
		for _, o := range batch {
			pipe.SPublish(ctx, b.sh.keys.inbox(o.node), o.payload)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.sh.errs("reply").Add(float64(len(batch) - 1))
			b.sh.fail("reply", err)
		}
		cancel()
	}
}

// ackBoundary returns the length of the longest run of whole
// acknowledgements at the start of body that fits in limit (at least one).
func ackBoundary(body []byte, limit int) int {
	if len(body) <= limit {
		return len(body)
	}
	end := 0
	r := reader{s: string(body)}
	for r.off < len(r.s) {
		r.uvarint()
		r.str()
		r.str()
		if r.err != nil || (r.off > limit && end > 0) {
			break
		}
		end = r.off
	}
	if end == 0 { // not ours to split: send it whole
		return len(body)
	}
	return end
}

// replyOf is the answer to an info request.
func replyOf(sock *wsgw.Socket, err error) reply {
	if err != nil {
		return reply{Code: wsgw.ErrorCode(err), Error: wsgw.ErrorMessage(err)}
	}
	return reply{Socket: sock}
}
