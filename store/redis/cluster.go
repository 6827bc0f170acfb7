package redis

import (
	"context"
	"encoding/json"
	"slices"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/gateway"
)

// Bus is the gateway.Cluster of a Store: commands for the sockets of other
// nodes go to the owner's inbox with SPUBLISH. Send and close are fire and
// forget; info and closeAll wait for the owner's reply in this node's inbox.
// It is a type of its own because store.Store and gateway.Cluster both have
// a Close.
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

// Send queues a frame to socket id on node.
func (b *Bus) Send(ctx context.Context, node, id string, message []byte, binary bool) error {
	s := b.s
	c := command{op: opSend, binary: binary, id: id}
	payload := append(c.encode(make([]byte, 0, 32+len(id)+len(message))), message...)
	return s.publish(ctx, node, id, payload)
}

// Close closes socket id on node.
func (b *Bus) Close(ctx context.Context, node, id string, code int, reason string) error {
	s := b.s
	c := command{op: opClose, code: code, id: id, body: reason}
	return s.publish(ctx, node, id, c.encode(nil))
}

// Info asks node for the live state of socket id.
func (b *Bus) Info(ctx context.Context, node, id string) (*wsgw.Socket, error) {
	s := b.s
	if err := s.canRequest(node); err != nil {
		return nil, err
	}
	ch, req := s.expect()
	defer s.forget(req)
	c := command{op: opInfo, req: req, from: s.node, id: id}
	if err := s.publish(ctx, node, id, c.encode(nil)); err != nil {
		return nil, err
	}
	wait, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	defer cancel()
	select {
	case r, ok := <-ch:
		if !ok {
			return nil, wsgw.Errorf(wsgw.EUnavailable, "this node is leaving the cluster")
		}
		if err := r.err(); err != nil {
			return nil, err
		}
		if r.Socket == nil {
			return nil, wsgw.Errorf(wsgw.EInternal, "node %s answered info without a socket", node)
		}
		return r.Socket, nil
	case <-wait.Done():
		s.errs("info").Inc()
		s.log.Warn("a node did not answer an info request in time", "to_node", node, "socket_id", id, "timeout", s.opts.RequestTimeout)
		return nil, wsgw.Errorf(wsgw.EUnavailable, "node %s holding socket %s did not answer within %v", node, id, s.opts.RequestTimeout)
	}
}

// CloseAll asks every other node to close all its sockets and adds up their
// answers. Nodes with no inbox subscriber are dead: they are purged and
// count for nothing. Nodes that do not answer in time make it an error that
// still carries the count of the others.
func (b *Bus) CloseAll(ctx context.Context) (int, error) {
	s := b.s
	nodes, err := s.client.SMembers(ctx, s.keys.nodes()).Result()
	if err != nil {
		return 0, s.busError("closeall", err)
	}
	nodes = slices.DeleteFunc(nodes, func(n string) bool { return n == s.node })
	if len(nodes) == 0 {
		return 0, nil
	}
	if err := s.canRequest(nodes[0]); err != nil {
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
		return 0, s.busError("closeall", err)
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
		s.log.Warn("nodes did not answer closeAll in time", "nodes", silent, "timeout", s.opts.RequestTimeout)
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
		return s.busError("publish", err)
	}
	if n == 0 {
		s.log.Warn("a node has no inbox subscriber: purging its sockets", "dead_node", node, "socket_id", id)
		s.schedulePurge(node, true)
		return wsgw.Errorf(wsgw.ENotFound, "no socket %s: its node %s is gone", id, node)
	}
	return nil
}

// canRequest refuses a request whose answer could not arrive.
func (s *Store) canRequest(node string) error {
	if !s.subscribed.Load() {
		s.errs("request").Inc()
		s.log.Warn("cannot ask another node: this node's inbox is not subscribed", "to_node", node)
		return wsgw.Errorf(wsgw.EUnavailable, "this node cannot hear node %s's answer: its inbox is not subscribed", node)
	}
	return nil
}

// busError counts, logs and answers a failure to reach Redis on the request
// path.
func (s *Store) busError(op string, err error) error {
	s.unreachable(err)
	s.errs(op).Inc()
	s.log.Error("cluster bus unavailable", "op", op, "err", err)
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

// runReplier publishes queued replies, as many per round trip as are waiting.
func (s *Store) runReplier() {
	defer s.wg.Done()
	for {
		var first outgoing
		select {
		case <-s.stop:
			return
		case first = <-s.replies:
		}
		batch := []outgoing{first}
	more:
		for len(batch) < 256 {
			select {
			case o := <-s.replies:
				batch = append(batch, o)
			default:
				break more
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		pipe := s.client.Pipeline()
		for _, o := range batch {
			pipe.SPublish(ctx, s.keys.inbox(o.node), o.payload)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			s.errs("reply").Add(float64(len(batch)))
			s.log.Error("publishing replies", "replies", len(batch), "err", err)
		}
		cancel()
	}
}

// replyOf is the answer to an info request.
func replyOf(sock *wsgw.Socket, err error) reply {
	if err != nil {
		return reply{Code: wsgw.ErrorCode(err), Error: wsgw.ErrorMessage(err)}
	}
	return reply{Socket: sock}
}
