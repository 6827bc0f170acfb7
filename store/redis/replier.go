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
func (s *Store) answer(c command, r reply) {
	if c.from == "" {
		s.errs("inbox").Inc()
		s.log.Warn("dropped a request with no node to answer")
		return
	}
	body, err := json.Marshal(r)
	if err != nil {
		s.errs("reply").Inc()
		s.log.Error("encoding a reply", "err", err)
		return
	}
	out := command{op: opReply, req: c.req, body: string(body)}
	select {
	case s.replies <- outgoing{node: c.from, payload: out.encode(nil)}:
	default:
		s.errs("reply").Inc()
		s.log.Warn("dropped a reply: too many waiting", "to_node", c.from)
	}
}

// acknowledge queues the acknowledgement of a send or close for the
// replier, which sends each node the ones it is owed in one message per
// round trip. A command without a request (from an older node) wants none.
func (s *Store) acknowledge(c command, err error) {
	if c.req == 0 || c.from == "" {
		if err != nil {
			s.log.Debug("a command from another node was refused", "socket_id", c.id, "err", err)
		}
		return
	}
	a := ack{req: c.req}
	if err != nil {
		a.code, a.message = wsgw.ErrorCode(err), wsgw.ErrorMessage(err)
	}
	s.ackMu.Lock()
	s.acks[c.from] = appendAck(s.acks[c.from], a)
	s.ackMu.Unlock()
	s.signal(s.ackWake)
}

// takeAcks removes and returns the queued acknowledgements, by node.
func (s *Store) takeAcks() map[string][]byte {
	s.ackMu.Lock()
	defer s.ackMu.Unlock()
	if len(s.acks) == 0 {
		return nil
	}
	acks := s.acks
	s.acks = make(map[string][]byte, len(acks))
	return acks
}

// runReplier publishes queued replies and acknowledgements, everything
// that waits in one pipeline per round trip.
func (s *Store) runReplier() {
	defer s.wg.Done()
	for {
		var batch []outgoing
		select {
		case <-s.stop:
			return
		case o := <-s.replies:
			batch = append(batch, o)
		case <-s.ackWake:
		}
	more:
		for len(batch) < 256 {
			select {
			case o := <-s.replies:
				batch = append(batch, o)
			default:
				break more
			}
		}
		for node, body := range s.takeAcks() {
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
		pipe := s.client.Pipeline()
		for _, o := range batch {
			pipe.SPublish(ctx, s.keys.inbox(o.node), o.payload)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			s.errs("reply").Add(float64(len(batch) - 1))
			s.fail("reply", err)
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
