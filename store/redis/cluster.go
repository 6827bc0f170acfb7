package redis

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/store"
)

// Bus is the store.Bus of a Store: commands for the sockets of other
// nodes go to the owner's inbox with SPUBLISH, and the owner answers in this
// node's inbox: send and close with an acknowledgement, info and closeAll
// with a reply. Commands to one node and acknowledgements for one node
// travel many to a message when many wait (outbox.go, replier.go). It is a
// type of its own because store.Registry and store.Bus both have a Close.
type Bus struct{ s *Store }

var _ store.Bus = (*Bus)(nil)

// Bus returns the store's end of the cluster bus, and starts its inbox:
// commands that other nodes address to this one go to local.
func (s *Store) Bus(local store.Local) *Bus {
	if !s.closed.Load() && s.handler.CompareAndSwap(nil, &local) {
		s.wg.Add(1)
		go s.runInbox(local)
	}
	return &Bus{s: s}
}

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

// answer is what a request waits for: first, from the publisher, whether
// its command reached the node's inbox (sent); then the node's reply.
type answer struct {
	sent      bool
	delivered bool  // sent: the node's inbox had a subscriber
	err       error // sent: the publish failed
	reply     reply
}

// Send queues a frame to socket id on node, and returns once node has
// queued it on the socket's connection (or refused it).
func (b *Bus) Send(ctx context.Context, node, id string, message []byte, binary bool) error {
	r, err := b.s.request(ctx, "send", node, command{op: opSend, binary: binary, id: id}, message)
	if err != nil {
		return err
	}
	return r.err()
}

// CloseSocket starts closing socket id on node, and returns once node has.
func (b *Bus) CloseSocket(ctx context.Context, node, id string, code int, reason string) error {
	r, err := b.s.request(ctx, "close", node, command{op: opClose, code: code, id: id, body: reason}, nil)
	if err != nil {
		return err
	}
	return r.err()
}

// Info asks node for the live state of socket id.
func (b *Bus) Info(ctx context.Context, node, id string) (*wsgw.Socket, error) {
	r, err := b.s.request(ctx, "info", node, command{op: opInfo, id: id}, nil)
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

// request sends c, followed by body, to node through the outbox and waits
// for node's answer. A command that reaches no subscriber finds the node
// dead: the socket is gone with it (404), and the node is purged. A node
// that does not answer within RequestTimeout is checked at once: without
// an inbox subscriber now, it died after delivery (404, purged); else it
// is stalled or overloaded (503).
func (s *Store) request(ctx context.Context, op, node string, c command, body []byte) (reply, error) {
	if s.closed.Load() {
		return reply{}, errLeaving
	}
	if err := s.canRequest(ctx, node); err != nil {
		return reply{}, err
	}
	ch, req := s.expect()
	defer s.forget(req)
	c.req, c.from = req, s.node
	payload := c.encode(make([]byte, 0, 24+len(c.from)+len(c.id)+len(c.body)+len(body)))
	s.post(node, outbound{payload: append(payload, body...), ch: ch})
	timer := time.NewTimer(s.opts.RequestTimeout)
	defer timer.Stop()
	for {
		select {
		case a, ok := <-ch:
			switch {
			case !ok:
				return reply{}, errLeaving
			case !a.sent:
				return a.reply, nil
			case a.err != nil:
				return reply{}, s.busError(ctx, "publish", a.err)
			case !a.delivered:
				return reply{}, s.nodeGone(ctx, node, c.id)
			}
		case <-ctx.Done():
			return reply{}, wsgw.Errorf(wsgw.EUnavailable, "gave up waiting for node %s holding socket %s: %v", node, c.id, ctx.Err())
		case <-timer.C:
			return reply{}, s.silent(op, node, c.id)
		}
	}
}

var errLeaving = wsgw.Errorf(wsgw.EUnavailable, "this node is leaving the cluster")

// silent answers for a node that did not answer in time, after checking
// whether it still listens to its inbox.
func (s *Store) silent(op, node, id string) error {
	s.errs(op).Inc()
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	if err := s.publish(ctx, node, id, (&command{op: opPing}).encode(nil)); err != nil {
		return err
	}
	if ok, n := s.slowLog.Allow(); ok {
		s.log.Warn("a node did not answer in time", "op", op, "to_node", node, "socket_id", id,
			"timeout", s.opts.RequestTimeout, "times", n)
	}
	return wsgw.Errorf(wsgw.EUnavailable, "node %s holding socket %s did not answer within %v", node, id, s.opts.RequestTimeout)
}

// publish sends a command to node's inbox at once, for checks.
func (s *Store) publish(ctx context.Context, node, id string, payload []byte) error {
	n, err := s.client.SPublish(ctx, s.keys.inbox(node), payload).Result()
	if err != nil {
		return s.busError(ctx, "publish", err)
	}
	if n == 0 {
		return s.nodeGone(ctx, node, id)
	}
	return nil
}

// nodeGone answers for a node whose inbox has no subscriber. A node that is
// rejoining the cluster (its inbox is being subscribed again) answers 503;
// any other is dead (a live node always listens), and is purged now rather
// than when its heartbeat expires.
func (s *Store) nodeGone(ctx context.Context, node, id string) error {
	if rejoining, err := s.rejoining(ctx, node); err != nil {
		return s.busError(ctx, "publish", err)
	} else if rejoining {
		return wsgw.Errorf(wsgw.EUnavailable, "registry resyncing: node %s holding socket %s is rejoining the cluster; try again in a moment", node, id)
	}
	if ok, times := s.slowLog.Allow(); ok {
		s.log.Warn("a node has no inbox subscriber: purging its sockets", "dead_node", node, "socket_id", id, "times", times)
	}
	s.schedulePurge(node, true)
	return wsgw.Errorf(wsgw.ENotFound, "no socket %s: its node %s is gone", id, node)
}

// rejoining reports whether node's heartbeat says that it is rejoining
// the cluster.
func (s *Store) rejoining(ctx context.Context, node string) (bool, error) {
	v, err := s.client.Get(ctx, s.keys.alive(node)).Result()
	if errors.Is(err, goredis.Nil) {
		return false, nil
	}
	return v == rejoiningMark, err
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
		ch        chan answer
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
			if rejoining, err := s.rejoining(ctx, nodes[i]); err != nil || rejoining {
				silent = append(silent, nodes[i])
			} else {
				s.schedulePurge(nodes[i], true)
			}
			continue
		}
		select {
		case a, ok := <-c.ch:
			if ok {
				total += a.reply.Count
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

// expect registers a request and returns where its answers will arrive: at
// most one from the publisher and one reply, so they never wait for room.
func (s *Store) expect() (chan answer, uint64) {
	req := s.reqSeq.Add(1)
	ch := make(chan answer, 2)
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
	ch <- answer{reply: r}
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
		ch <- answer{reply: reply{Code: a.code, Error: a.message}}
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
