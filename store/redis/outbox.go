package redis

import (
	"context"
	"encoding/binary"

	goredis "github.com/redis/go-redis/v9"
)

// The requester's side of the bus: a caller publishes its command itself
// when no other caller is doing so; otherwise the command waits in the
// outbox for one publisher goroutine, which sends everything waiting in one
// pipeline per round trip, the commands for one node in one message (an
// opBatch). A quiet node pays no hand-off; a busy one pays about one
// SPUBLISH per node per round trip instead of one per command.

// maxBatchBody bounds the body of one opBatch or opAcks message; a command
// bigger than that goes alone.
const maxBatchBody = 64 << 10

// outbound is a command waiting in the outbox, and where its request waits.
type outbound struct {
	payload []byte
	ch      chan answer
}

// post sends a command to node: at once from the caller's goroutine when
// no other caller is doing so, else through the outbox.
func (b *Bus) post(node string, o outbound) {
	if b.direct.CompareAndSwap(false, true) {
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		n, err := b.sh.client.SPublish(ctx, b.sh.keys.inbox(node), o.payload).Result()
		cancel()
		b.direct.Store(false)
		o.ch <- answer{sent: true, delivered: n > 0, err: err}
		return
	}
	b.outMu.Lock()
	b.outbox[node] = append(b.outbox[node], o)
	b.outMu.Unlock()
	signal(b.outWake)
}

// runPublisher is the publisher goroutine.
func (b *Bus) runPublisher() {
	defer b.wg.Done()
	for {
		select {
		case <-b.stop:
			return
		case <-b.outWake:
			b.publishOutbox()
		}
	}
}

// publishOutbox sends what waits in the outbox and tells each request
// whether its command reached a subscriber.
func (b *Bus) publishOutbox() {
	b.outMu.Lock()
	box := b.outbox
	if len(box) == 0 {
		b.outMu.Unlock()
		return
	}
	b.outbox = make(map[string][]outbound, len(box))
	b.outMu.Unlock()
	type message struct {
		published *goredis.IntCmd
		waiting   []outbound
	}
	var msgs []message
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	pipe := b.sh.client.Pipeline()
	for node, queued := range box {
		for len(queued) > 0 {
			n, payload := batch(queued)
			msgs = append(msgs, message{pipe.SPublish(ctx, b.sh.keys.inbox(node), payload), queued[:n]})
			queued = queued[n:]
		}
	}
	_, _ = pipe.Exec(ctx) // each command has its own result
	for _, m := range msgs {
		n, err := m.published.Result()
		for _, o := range m.waiting {
			o.ch <- answer{sent: true, delivered: n > 0, err: err}
		}
	}
}

// batch returns how many of the queued commands go in the next message,
// and the message: the first command alone, or an opBatch of as many as
// fit in maxBatchBody.
func batch(queued []outbound) (int, []byte) {
	if len(queued) == 1 || len(queued[0].payload) >= maxBatchBody {
		return 1, queued[0].payload
	}
	size, n := 0, 0
	for _, o := range queued {
		if n > 0 && size+len(o.payload)+binary.MaxVarintLen64 > maxBatchBody {
			break
		}
		size += len(o.payload) + binary.MaxVarintLen64
		n++
	}
	if n == 1 {
		return 1, queued[0].payload
	}
	b := (&command{op: opBatch}).encode(make([]byte, 0, 16+size))
	for _, o := range queued[:n] {
		b = appendBatched(b, o.payload)
	}
	return n, b
}
