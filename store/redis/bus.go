package redis

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/internal/ratelog"
	"github.com/wsgw/wsgw/store"
)

// Bus is a node's end of the cluster bus (store.Bus): commands for the
// sockets of other nodes go to the owner's inbox with SPUBLISH, and the
// owner answers in this node's inbox: send and close with an
// acknowledgement, info and closeAll with a reply. Commands to one node
// and acknowledgements for one node travel many to a message when many
// wait (outbox.go, replier.go). A new kind of command is an op of wire.go,
// a method here that sends it with request (to one node) or requestEach
// (to every other node), and a case of carryOut (inbox.go) that hands it to
// the Local. Make it with NewBus; Close stops it.
type Bus struct {
	sh    *Shard
	local store.Local

	slowLog   ratelog.Limiter // lines about nodes that do not answer in time
	reqSeq    atomic.Uint64
	pendingMu sync.Mutex
	pending   map[uint64]chan answer
	outMu     sync.Mutex
	outbox    map[string][]outbound // commands for other nodes, by node
	outWake   chan struct{}         // the publisher has commands to send
	direct    atomic.Bool           // a caller is publishing its command itself
	replies   chan outgoing
	ackMu     sync.Mutex
	acks      map[string][]byte // acknowledgements owed, by node: appendAck entries
	ackWake   chan struct{}     // the replier has acknowledgements to send

	stop   chan struct{}
	closed atomic.Bool
	wg     sync.WaitGroup
}

var _ store.Bus = (*Bus)(nil)

// NewBus starts this node's end of the bus on sh: its inbox, whose commands
// go to local, its publisher and its replier. A shard serves one Bus.
func NewBus(sh *Shard, local store.Local) *Bus {
	b := &Bus{
		sh:      sh,
		local:   local,
		pending: make(map[uint64]chan answer),
		outbox:  make(map[string][]outbound),
		outWake: make(chan struct{}, 1),
		replies: make(chan outgoing, 1024),
		acks:    make(map[string][]byte),
		ackWake: make(chan struct{}, 1),
		stop:    make(chan struct{}),
	}
	sh.inbox.served.Store(true)
	b.wg.Add(3)
	go b.runInbox()
	go b.runReplier()
	go b.runPublisher()
	return b
}

// Close stops the bus: requests still waiting answer 503, and the inbox is
// unsubscribed.
func (b *Bus) Close() error {
	if !b.closed.CompareAndSwap(false, true) {
		return nil
	}
	b.sh.inbox.served.Store(false) // the heartbeat no longer proves it
	close(b.stop)
	b.wg.Wait()
	b.pendingMu.Lock()
	for id, ch := range b.pending {
		close(ch)
		delete(b.pending, id)
	}
	b.pendingMu.Unlock()
	return nil
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
func (b *Bus) Send(ctx context.Context, node, id string, m *wsgw.Message) error {
	c, body := sendCommand(id, m)
	r, err := b.request(ctx, "send", node, c, body)
	if err != nil {
		return err
	}
	return r.err()
}

// CloseSocket starts closing socket id on node, and returns once node has.
func (b *Bus) CloseSocket(ctx context.Context, node, id string, code int, reason string) error {
	r, err := b.request(ctx, "close", node, command{op: opClose, code: code, id: id, body: reason}, nil)
	if err != nil {
		return err
	}
	return r.err()
}

// Info asks node for the live state of socket id.
func (b *Bus) Info(ctx context.Context, node, id string) (*wsgw.Socket, error) {
	r, err := b.request(ctx, "info", node, command{op: opInfo, id: id}, nil)
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

// Join puts socket id on node in group, and returns once node has.
func (b *Bus) Join(ctx context.Context, node, id, group string) error {
	r, err := b.request(ctx, "join", node, command{op: opJoin, id: id, body: group}, nil)
	if err != nil {
		return err
	}
	return r.err()
}

// Leave takes socket id on node out of group, and returns once node has.
func (b *Bus) Leave(ctx context.Context, node, id, group string) error {
	r, err := b.request(ctx, "leave", node, command{op: opLeave, id: id, body: group}, nil)
	if err != nil {
		return err
	}
	return r.err()
}

// SendToUser asks every other node to queue the frame to its sockets of
// user, in one pipeline, and adds up their counts.
func (b *Bus) SendToUser(ctx context.Context, user string, m *wsgw.Message) (int, error) {
	body := appendString(nil, user)
	if addressed(m) {
		body = appendAddressing(body, m)
	}
	body = append(body, m.Data...)
	return b.countEach(ctx, "sendtouser", command{op: opUserSend, binary: m.Binary, stomp: addressed(m), body: string(body)})
}

// CloseUser asks every other node to close its sockets of user.
func (b *Bus) CloseUser(ctx context.Context, user string, code int, reason string) (int, error) {
	body := string(append(appendString(nil, user), reason...))
	return b.countEach(ctx, "closeuser", command{op: opUserKill, code: code, body: body})
}

// countEach sends c to every other node and adds up the counts they answer.
func (b *Bus) countEach(ctx context.Context, op string, c command) (int, error) {
	replies, silent, err := b.requestEach(ctx, op, c)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, r := range replies {
		total += r.Count
	}
	if len(silent) > 0 {
		return total, wsgw.Errorf(wsgw.EUnavailable, "nodes %v did not answer within %v; %d sockets were reached elsewhere",
			silent, b.sh.opts.RequestTimeout, total)
	}
	return total, nil
}

// Publish hands the message to every other node's inbox in one pipeline:
// one SPUBLISH per node, whatever the group's size; each node delivers to
// its own members. Nothing waits for the nodes (at most once). One
// caller's publishes reach each node in the order they were made, since
// each returns once Redis has taken it.
func (b *Bus) Publish(ctx context.Context, group string, m *wsgw.Message, exclude []string) error {
	if b.closed.Load() {
		return errLeaving
	}
	nodes, err := b.sh.client.SMembers(ctx, b.sh.keys.nodes()).Result()
	if err != nil {
		return b.busError(ctx, "publish", err)
	}
	nodes = slices.DeleteFunc(nodes, func(n string) bool { return n == b.sh.node })
	if len(nodes) == 0 {
		return nil
	}
	c := command{op: opPublish, binary: m.Binary, stomp: addressed(m)}
	payload := c.encode(make([]byte, 0, 16+len(group)+23*len(exclude)+len(m.Data)))
	payload = appendPublish(payload, group, exclude, m)
	pipe := b.sh.client.Pipeline()
	for _, n := range nodes {
		pipe.SPublish(ctx, b.sh.keys.inbox(n), payload)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return b.busError(ctx, "publish", err)
	}
	return nil
}

// request sends c, followed by body, to node through the outbox and waits
// for node's answer. A command that reaches no subscriber finds the node
// dead: the socket is gone with it (404), and the node is purged. A node
// that does not answer within RequestTimeout is checked at once: without
// an inbox subscriber now, it died after delivery (404, purged); else it
// is stalled or overloaded (503).
func (b *Bus) request(ctx context.Context, op, node string, c command, body []byte) (reply, error) {
	if b.closed.Load() {
		return reply{}, errLeaving
	}
	if err := b.canRequest(ctx, node); err != nil {
		return reply{}, err
	}
	ch, req := b.expect()
	defer b.forget(req)
	c.req, c.from = req, b.sh.node
	payload := c.encode(make([]byte, 0, 24+len(c.from)+len(c.id)+len(c.body)+len(body)))
	b.post(node, outbound{payload: append(payload, body...), ch: ch})
	timer := time.NewTimer(b.sh.opts.RequestTimeout)
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
				return reply{}, b.busError(ctx, "publish", a.err)
			case !a.delivered:
				return reply{}, b.nodeGone(ctx, node, c.id)
			}
		case <-ctx.Done():
			return reply{}, wsgw.Errorf(wsgw.EUnavailable, "gave up waiting for node %s holding socket %s: %v", node, c.id, ctx.Err())
		case <-timer.C:
			return reply{}, b.silent(op, node, c.id)
		}
	}
}

var errLeaving = wsgw.Errorf(wsgw.EUnavailable, "this node is leaving the cluster")

// silent answers for a node that did not answer in time, after checking
// whether it still listens to its inbox.
func (b *Bus) silent(op, node, id string) error {
	b.sh.errs(op).Inc()
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	if err := b.publish(ctx, node, id, (&command{op: opPing}).encode(nil)); err != nil {
		return err
	}
	if ok, n := b.slowLog.Allow(); ok {
		b.sh.log.Warn("a node did not answer in time", "op", op, "to_node", node, "socket_id", id,
			"timeout", b.sh.opts.RequestTimeout, "times", n)
	}
	return wsgw.Errorf(wsgw.EUnavailable, "node %s holding socket %s did not answer within %v", node, id, b.sh.opts.RequestTimeout)
}

// publish sends a command to node's inbox at once, for checks.
func (b *Bus) publish(ctx context.Context, node, id string, payload []byte) error {
	n, err := b.sh.client.SPublish(ctx, b.sh.keys.inbox(node), payload).Result()
	if err != nil {
		return b.busError(ctx, "publish", err)
	}
	if n == 0 {
		return b.nodeGone(ctx, node, id)
	}
	return nil
}

// nodeGone answers for a node whose inbox has no subscriber. A node that is
// rejoining the cluster (its inbox is being subscribed again) answers 503;
// any other is dead (a live node always listens), and is purged now rather
// than when its heartbeat expires.
func (b *Bus) nodeGone(ctx context.Context, node, id string) error {
	if rejoining, err := b.sh.rejoining(ctx, node); err != nil {
		return b.busError(ctx, "publish", err)
	} else if rejoining {
		return wsgw.Errorf(wsgw.EUnavailable, "registry resyncing: node %s holding socket %s is rejoining the cluster; try again in a moment", node, id)
	}
	if ok, times := b.slowLog.Allow(); ok {
		b.sh.log.Warn("a node has no inbox subscriber: purging its sockets", "dead_node", node, "socket_id", id, "times", times)
	}
	b.sh.schedulePurge(node, true)
	return wsgw.Errorf(wsgw.ENotFound, "no socket %s: its node %s is gone", id, node)
}

// CloseAll asks every other node to close all its sockets and adds up their
// answers. Nodes that do not answer in time make it an error that still
// carries the count of the others.
func (b *Bus) CloseAll(ctx context.Context) (int, error) {
	return b.countEach(ctx, "closeall", command{op: opCloseAll})
}

// requestEach sends c to every other node of the cluster, all in one
// pipeline, and waits up to RequestTimeout for their replies: one Redis
// round trip for the lot, whatever the cluster's size. Nodes with no inbox
// subscriber are dead: they are purged and answer nothing; those that are
// rejoining the cluster, or do not answer in time, are returned as silent.
func (b *Bus) requestEach(ctx context.Context, op string, c command) (replies []reply, silent []string, err error) {
	if b.closed.Load() {
		return nil, nil, errLeaving
	}
	nodes, err := b.sh.client.SMembers(ctx, b.sh.keys.nodes()).Result()
	if err != nil {
		return nil, nil, b.busError(ctx, op, err)
	}
	nodes = slices.DeleteFunc(nodes, func(n string) bool { return n == b.sh.node })
	if len(nodes) == 0 {
		return nil, nil, nil
	}
	if err := b.canRequest(ctx, nodes[0]); err != nil {
		return nil, nil, err
	}
	type call struct {
		ch        chan answer
		delivered *goredis.IntCmd
	}
	calls := make([]call, len(nodes))
	pipe := b.sh.client.Pipeline()
	for i, n := range nodes {
		ch, req := b.expect()
		defer b.forget(req)
		c.req, c.from = req, b.sh.node
		calls[i] = call{ch: ch, delivered: pipe.SPublish(ctx, b.sh.keys.inbox(n), c.encode(nil))}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, nil, b.busError(ctx, op, err)
	}
	wait, cancel := context.WithTimeout(ctx, b.sh.opts.RequestTimeout)
	defer cancel()
	for i, c := range calls {
		if c.delivered.Val() == 0 {
			if rejoining, err := b.sh.rejoining(ctx, nodes[i]); err != nil || rejoining {
				silent = append(silent, nodes[i])
			} else {
				b.sh.schedulePurge(nodes[i], true)
			}
			continue
		}
		select {
		case a, ok := <-c.ch:
			if ok {
				replies = append(replies, a.reply)
			}
		case <-wait.Done():
			silent = append(silent, nodes[i])
		}
	}
	if len(silent) > 0 {
		b.sh.errs(op).Inc()
		if ok, n := b.slowLog.Allow(); ok {
			b.sh.log.Warn("nodes did not answer in time", "op", op, "nodes", silent, "timeout", b.sh.opts.RequestTimeout, "times", n)
		}
	}
	return replies, silent, nil
}

// canRequest refuses a request whose answer could not arrive: this node's
// inbox is not subscribed, and does not become so within RequestTimeout.
func (b *Bus) canRequest(ctx context.Context, node string) error {
	ready := b.sh.inbox.up.ready()
	select {
	case <-ready:
		return nil
	default:
	}
	timer := time.NewTimer(b.sh.opts.RequestTimeout)
	defer timer.Stop()
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
	case <-timer.C:
	}
	b.sh.errs("request").Inc()
	if ok, n := b.slowLog.Allow(); ok {
		b.sh.log.Warn("cannot ask another node: this node's inbox is not subscribed", "to_node", node, "times", n)
	}
	return wsgw.Errorf(wsgw.EUnavailable, "this node cannot hear node %s's answer: its inbox is not subscribed", node)
}

// busError counts, logs and answers a failure to reach Redis on the request
// path. A caller that gave up says nothing of Redis.
func (b *Bus) busError(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return wsgw.Errorf(wsgw.EUnavailable, "gave up reaching the cluster bus: %v", ctx.Err())
	}
	b.sh.fail(op, err)
	return wsgw.Errorf(wsgw.EUnavailable, "the cluster bus (Redis) is unavailable")
}

// expect registers a request and returns where its answers will arrive: at
// most one from the publisher and one reply, so they never wait for room.
func (b *Bus) expect() (chan answer, uint64) {
	req := b.reqSeq.Add(1)
	ch := make(chan answer, 2)
	b.pendingMu.Lock()
	b.pending[req] = ch
	b.pendingMu.Unlock()
	return ch, req
}

func (b *Bus) forget(req uint64) {
	b.pendingMu.Lock()
	delete(b.pending, req)
	b.pendingMu.Unlock()
}

// complete hands a reply to the request waiting for it, if one still is.
func (b *Bus) complete(req uint64, body string) {
	var r reply
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		b.sh.errs("inbox").Inc()
		b.sh.log.Warn("dropped a malformed reply", "err", err)
		return
	}
	b.pendingMu.Lock()
	ch := b.pending[req]
	delete(b.pending, req)
	b.pendingMu.Unlock()
	if ch == nil {
		b.sh.log.Debug("a reply came after its request gave up", "request", req)
		return
	}
	ch <- answer{reply: r}
}

// completeAcks hands each acknowledgement of an opAcks body to the send or
// close waiting for it.
func (b *Bus) completeAcks(body string) {
	var late int
	b.pendingMu.Lock()
	err := decodeAcks(body, func(a ack) {
		ch := b.pending[a.req]
		if ch == nil {
			late++
			return
		}
		delete(b.pending, a.req)
		ch <- answer{reply: reply{Code: a.code, Error: a.message}}
	})
	b.pendingMu.Unlock()
	if err != nil {
		b.sh.errs("inbox").Inc()
		b.sh.log.Warn("dropped a malformed acknowledgement", "err", err)
	}
	if late > 0 {
		b.sh.log.Debug("acknowledgements came after their requests gave up", "acks", late)
	}
}
