package memory

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/store"
)

// Hub joins the Buses of the nodes of one process. A single node's Bus is
// the only one on its hub (NewBus); tests join several.
type Hub struct {
	mu    sync.RWMutex
	nodes map[string]store.Local
}

// NewHub returns a hub with no nodes.
func NewHub() *Hub { return &Hub{nodes: map[string]store.Local{}} }

// Join makes node's Bus on h: commands addressed to node go to local.
func (h *Hub) Join(node string, local store.Local) *Bus {
	h.mu.Lock()
	h.nodes[node] = local
	h.mu.Unlock()
	return &Bus{hub: h, node: node}
}

// Bus is the store.Bus of a node on a Hub: a command is a call of the
// owner's Local, answered when the call returns.
type Bus struct {
	hub    *Hub
	node   string
	closed atomic.Bool
}

var _ store.Bus = (*Bus)(nil)

// NewBus returns the Bus of a single node: a hub of its own.
func NewBus(node string, local store.Local) *Bus { return NewHub().Join(node, local) }

// owner returns the Local of node, which should hold socket id.
func (b *Bus) owner(node, id string) (store.Local, error) {
	if b.closed.Load() {
		return nil, wsgw.Errorf(wsgw.EUnavailable, "this node is leaving the cluster")
	}
	b.hub.mu.RLock()
	local := b.hub.nodes[node]
	b.hub.mu.RUnlock()
	if local == nil {
		return nil, wsgw.Errorf(wsgw.ENotFound, "no socket %s: its node %s is gone", id, node)
	}
	return local, nil
}

// Send queues a frame to socket id on node.
func (b *Bus) Send(_ context.Context, node, id string, m *wsgw.Message) error {
	local, err := b.owner(node, id)
	if err != nil {
		return err
	}
	return local.Send(id, m)
}

// CloseSocket starts closing socket id on node.
func (b *Bus) CloseSocket(_ context.Context, node, id string, code int, reason string) error {
	local, err := b.owner(node, id)
	if err != nil {
		return err
	}
	return local.CloseSocket(id, code, reason)
}

// Info asks node for the live state of socket id.
func (b *Bus) Info(_ context.Context, node, id string) (*wsgw.Socket, error) {
	local, err := b.owner(node, id)
	if err != nil {
		return nil, err
	}
	return local.Info(id)
}

// CloseAll closes the sockets of every other node of the hub.
func (b *Bus) CloseAll(context.Context) (int, error) {
	others, err := b.others()
	n := 0
	for _, local := range others {
		n += local.CloseAll()
	}
	return n, err
}

// others returns the Locals of the other nodes of the hub.
func (b *Bus) others() ([]store.Local, error) {
	if b.closed.Load() {
		return nil, wsgw.Errorf(wsgw.EUnavailable, "this node is leaving the cluster")
	}
	b.hub.mu.RLock()
	defer b.hub.mu.RUnlock()
	var others []store.Local
	for node, local := range b.hub.nodes {
		if node != b.node {
			others = append(others, local)
		}
	}
	return others, nil
}

// Join puts socket id on node in group.
func (b *Bus) Join(_ context.Context, node, id, group string) error {
	local, err := b.owner(node, id)
	if err != nil {
		return err
	}
	return local.Join(id, group)
}

// Leave takes socket id on node out of group.
func (b *Bus) Leave(_ context.Context, node, id, group string) error {
	local, err := b.owner(node, id)
	if err != nil {
		return err
	}
	return local.Leave(id, group)
}

// SendToUser queues a frame to the sockets of user on every other node.
func (b *Bus) SendToUser(_ context.Context, user string, m *wsgw.Message) (int, error) {
	others, err := b.others()
	n := 0
	for _, local := range others {
		n += local.SendToUser(user, m)
	}
	return n, err
}

// CloseUser closes the sockets of user on every other node.
func (b *Bus) CloseUser(_ context.Context, user string, code int, reason string) (int, error) {
	others, err := b.others()
	n := 0
	for _, local := range others {
		n += local.CloseUser(user, code, reason)
	}
	return n, err
}

// Publish hands the message to every other node of the hub.
func (b *Bus) Publish(_ context.Context, group string, m *wsgw.Message, exclude []string) error {
	others, err := b.others()
	for _, local := range others {
		local.Publish(group, m, exclude)
	}
	return err
}

// Close leaves the hub: commands for this node find it gone.
func (b *Bus) Close() error {
	if b.closed.CompareAndSwap(false, true) {
		b.hub.mu.Lock()
		delete(b.hub.nodes, b.node)
		b.hub.mu.Unlock()
	}
	return nil
}
