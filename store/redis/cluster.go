package redis

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/gateway"
)

// Bus is the gateway.Cluster of a Store: commands for the sockets of other
// nodes go to the owner's inbox with SPUBLISH, and the owner answers in this
// node's inbox: send and close with an acknowledgement (batched with the
// others it owes this node), info and closeAll with a reply. It is a type of
// its own because store.Store and gateway.Cluster both have a Close.
type Bus struct{ s *Store }

var _ gateway.Cluster = (*Bus)(nil)

// Bus returns the store's end of the cluster bus, for gateway.Options.Cluster.
func (s *Store) Bus() *Bus { return &Bus{s: s} }

// reply is a node's answer to a request, the JSON body of an opReply.
type reply struct {
	Socket *wsgw.Socket `json:"socket,omitempty"`
	Count  int          `json:"count,omitempty"`
	Code   string       `json:"code,omitempty"`
	Error  string       `json:"error,omitempty"`
}

func (r *reply) err() error {
	if r.Code == "" {
		return nil
	}
	return &wsgw.Error{Code: r.Code, Message: r.Error}
}

// outgoing is a reply that waits for the replier goroutine.
type outgoing struct {
	node    string
	payload []byte
}

// Handle starts the inbox: commands addressed to this node go to local.
func (b *Bus) Handle(local gateway.Local) {
	s := b.s
	if s.closed.Load() || !s.handler.CompareAndSwap(nil, &local) {
		return
	}
	s.wg.Add(1)
	go s.runInbox(local)
}

// Send queues a frame to socket id on node, and returns once node has
// queued it on the socket's connection (or refused it).
func (b *Bus) Send(ctx context.Context, node, id string, message []byte, binary bool) error {
	return b.s.acked(ctx, "send", node, command{op: opSend, binary: binary, id: id}, message)
}

// Close starts closing socket id on node, and returns once node has.
func (b *Bus) Close(ctx context.Context, node, id string, code int, reason string) error {
	return b.s.acked(ctx, "close", node, command{op: opClose, code: code, id: id, body: reason}, nil)
}

// acked publishes c, followed by body, to node and waits for its
// acknowledgement: nil when node carried it out, else node's error.
func (s *Store) acked(ctx context.Context, op, node string, c command, body []byte) error {
	if err := s.canRequest(ctx, node); err != nil {
		return err
	}
	ch, req := s.expect()
	defer s.forget(req)
	c.req, c.from = req, s.node
	payload := c.encode(make([]byte, 0, 24+len(c.from)+len(c.id)+len(c.body)+len(body)))
	payload = append(payload, body...)
	if err := s.publish(ctx, node, c.id, payload); err != nil {
		return err
	}
	r, err := s.await(ctx, op, node, c.id, ch)
	if err != nil {
		return err
	}
	return r.err()
}

// Info asks node for the live state of socket id.
func (b *Bus) Info(ctx context.Context, node, id string) (*wsgw.Socket, error) {
	s := b.s
	if err := s.canRequest(ctx, node); err != nil {
		return nil, err
	}
	ch, req := s.expect()
	defer s.forget(req)
	c := command{op: opInfo, req: req, from: s.node, id: id}
	if err := s.publish(ctx, node, id, c.encode(nil)); err != nil {
		return nil, err
	}
	r, err := s.await(ctx, "info", node, id, ch)
	if err != nil {
		return nil, err
	}
	if err := r.err(); err != nil {
		return nil, err
	}
	if r.Socket == nil {
		return nil, wsgw.Errorf(wsgw.EInternal, "node %s answered info without a socket", node)
	}
	return r.Socket, nil
}

// await waits for node's answer to a request about socket id. A node that
// does not answer within RequestTimeout is checked at once: without an
// inbox subscriber it is dead (the socket is gone with it: 404, and the
// node is purged), else it is stalled or overloaded (503).
func (s *Store) await(ctx context.Context, op, node, id string, ch chan reply) (reply, error) {
	timer := time.NewTimer(s.opts.RequestTimeout)
	defer timer.Stop()
	select {
	case r, ok := <-ch:
		if !ok {
			return reply{}, wsgw.Errorf(wsgw.EUnavailable, "this node is leaving the cluster")
		}
		return r, nil
	case <-ctx.Done():
		return reply{}, wsgw.Errorf(wsgw.EUnavailable, "gave up waiting for node %s holding socket %s: %v", node, id, ctx.Err())
	case <-timer.C:
	}
	s.errs(op).Inc()
	check, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	if err := s.publish(check, node, id, (&command{op: opPing}).encode(nil)); err != nil {
		return reply{}, err
	}
	if ok, n := s.slowLog.Allow(); ok {
		s.log.Warn("a node did not answer in time", "op", op, "to_node", node, "socket_id", id,
			"timeout", s.opts.RequestTimeout, "times", n)
	}
	return reply{}, wsgw.Errorf(wsgw.EUnavailable, "node %s holding socket %s did not answer within %v", node, id, s.opts.RequestTimeout)
}

// CloseAll asks every other node to close all its sockets and adds up their
// answers. Nodes with no inbox subscriber are dead: they are purged and
// count for nothing. Nodes that do not answer in time make it an error that
// still carries the count of the others.
func (b *Bus) CloseAll(ctx context.Context) (int, error) {
	s := b.s
	nodes, err := s.client.SMembers(ctx, s.keys.nodes()).Result()
	if err != nil {
		return 0, s.busError(ctx, "closeall", err)
	}
	nodes = slices.DeleteFunc(nodes, func(n string) bool { return n == s.node })
	if len(nodes) == 0 {
		return 0, nil
	}
	if err := s.canRequest(ctx, nodes[0]); err != nil {
		return 0, err
	}
	type call struct {
		ch        chan reply
		delivered *goredis.IntCmd
	}
	calls := make([]call, len(nodes))
	pipe := s.client.Pipeline()
	for i, n := range nodes {
		ch, req := s.expect()
		defer s.forget(req)
		c := command{op: opCloseAll, req: req, from: s.node}
		calls[i] = call{ch: ch, delivered: pipe.SPublish(ctx, s.keys.inbox(n), c.encode(nil))}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, s.busError(ctx, "closeall", err)
	}
	wait, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	defer cancel()
	total := 0
	var silent []string
	for i, c := range calls {
		if c.delivered.Val() == 0 {
			s.schedulePurge(nodes[i], true)
			continue
		}
		select {
		case r, ok := <-c.ch:
			if ok {
				total += r.Count
			}
		case <-wait.Done():
			silent = append(silent, nodes[i])
		}
	}
	if len(silent) > 0 {
		s.errs("closeall").Inc()
		if ok, n := s.slowLog.Allow(); ok {
			s.log.Warn("nodes did not answer closeAll in time", "nodes", silent, "timeout", s.opts.RequestTimeout, "times", n)
		}
		return total, wsgw.Errorf(wsgw.EUnavailable, "nodes %v did not answer within %v; %d sockets were closed elsewhere",
			silent, s.opts.RequestTimeout, total)
	}
	return total, nil
}

// publish sends a command to node's inbox. No subscriber means the node is
// dead: the socket is gone with it (404), and the node is purged.
func (s *Store) publish(ctx context.Context, node, id string, payload []byte) error {
	n, err := s.client.SPublish(ctx, s.keys.inbox(node), payload).Result()
	if err != nil {
		return s.busError(ctx, "publish", err)
	}
	if n == 0 {
		if ok, times := s.slowLog.Allow(); ok {
			s.log.Warn("a node has no inbox subscriber: purging its sockets", "dead_node", node, "socket_id", id, "times", times)
		}
		s.schedulePurge(node, true)
		return wsgw.Errorf(wsgw.ENotFound, "no socket %s: its node %s is gone", id, node)
	}
	return nil
}

// canRequest refuses a request whose answer could not arrive: this node's
// inbox is not subscribed, and does not become so within RequestTimeout.
func (s *Store) canRequest(ctx context.Context, node string) error {
	ready := s.inboxUp.ready()
	select {
	case <-ready:
		return nil
	default:
	}
	timer := time.NewTimer(s.opts.RequestTimeout)
	defer timer.Stop()
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
	case <-timer.C:
	}
	s.errs("request").Inc()
	if ok, n := s.slowLog.Allow(); ok {
		s.log.Warn("cannot ask another node: this node's inbox is not subscribed", "to_node", node, "times", n)
	}
	return wsgw.Errorf(wsgw.EUnavailable, "this node cannot hear node %s's answer: its inbox is not subscribed", node)
}

// busError counts, logs and answers a failure to reach Redis on the request
// path. A caller that gave up says nothing of Redis.
func (s *Store) busError(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return wsgw.Errorf(wsgw.EUnavailable, "gave up reaching the cluster bus: %v", ctx.Err())
	}
	s.fail(op, err)
	return wsgw.Errorf(wsgw.EUnavailable, "the cluster bus (Redis) is unavailable")
}

// expect registers a request and returns where its reply will arrive.
func (s *Store) expect() (chan reply, uint64) {
	req := s.reqSeq.Add(1)
	ch := make(chan reply, 1)
	s.pendingMu.Lock()
	s.pending[req] = ch
	s.pendingMu.Unlock()
	return ch, req
}

func (s *Store) forget(req uint64) {
	s.pendingMu.Lock()
	delete(s.pending, req)
	s.pendingMu.Unlock()
}

// complete hands a reply to the request waiting for it, if one still is.
func (s *Store) complete(req uint64, body string) {
	var r reply
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		s.errs("inbox").Inc()
		s.log.Warn("dropped a malformed reply", "err", err)
		return
	}
	s.pendingMu.Lock()
	ch := s.pending[req]
	delete(s.pending, req)
	s.pendingMu.Unlock()
	if ch == nil {
		s.log.Debug("a reply came after its request gave up", "request", req)
		return
	}
	ch <- r
}

// completeAcks hands each acknowledgement of an opAcks body to the send or
// close waiting for it.
func (s *Store) completeAcks(body string) {
	var late int
	s.pendingMu.Lock()
	err := decodeAcks(body, func(a ack) {
		ch := s.pending[a.req]
		if ch == nil {
			late++
			return
		}
		delete(s.pending, a.req)
		ch <- reply{Code: a.code, Error: a.message} // buffered, and only this send
	})
	s.pendingMu.Unlock()
	if err != nil {
		s.errs("inbox").Inc()
		s.log.Warn("dropped a malformed acknowledgement", "err", err)
	}
	if late > 0 {
		s.log.Debug("acknowledgements came after their requests gave up", "acks", late)
	}
}

// answer queues a reply to a request for the replier: the inbox consumer
// never waits on Redis.
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

// maxAckBody bounds one opAcks message; more acknowledgements for one node
// go in several messages of the same pipeline.
const maxAckBody = 64 << 10

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
				n := len(body)
				if n > maxAckBody {
					n = ackBoundary(body, maxAckBody)
				}
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
	return end
}

// replyOf is the answer to an info request.
func replyOf(sock *wsgw.Socket, err error) reply {
	if err != nil {
		return reply{Code: wsgw.ErrorCode(err), Error: wsgw.ErrorMessage(err)}
	}
	return reply{Socket: sock}
}
