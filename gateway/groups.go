package gateway

import (
	"bytes"
	"context"
	"maps"
	"slices"

	"github.com/lxzan/gws"

	"github.com/wsgw/wsgw"
)

// The local index of users and groups: each node delivers a publish, a
// broadcast or a send to a user to the sockets it holds, from this index,
// so a publish costs one message per node whatever the group's size. The
// registry's index (store.Index) is the cluster's copy, for listing.

// index is the connection table's users and groups, guarded by Conns.ixMu,
// as are each conn's user, groups and unindexed.
type index struct {
	users  map[string]map[*conn]struct{}
	groups map[string]map[*conn]struct{}
}

func (x *index) add(m map[string]map[*conn]struct{}, key string, c *conn) {
	set := m[key]
	if set == nil {
		set = make(map[*conn]struct{})
		m[key] = set
	}
	set[c] = struct{}{}
}

func (x *index) remove(m map[string]map[*conn]struct{}, key string, c *conn) {
	set := m[key]
	delete(set, c)
	if len(set) == 0 {
		delete(m, key)
	}
}

// unindex takes c out of every user and group, for good: it is closing.
func (t *Conns) unindex(c *conn) {
	t.ixMu.Lock()
	defer t.ixMu.Unlock()
	c.unindexed = true
	if c.user != "" {
		t.ix.remove(t.ix.users, c.user, c)
	}
	for g := range c.groups {
		t.ix.remove(t.ix.groups, g, c)
	}
}

// join puts c in group, here and in the registry.
func (t *Conns) join(c *conn, group string) error {
	if err := wsgw.ValidGroup(group); err != nil {
		return wsgw.Errorf(wsgw.EInvalid, "%v", err)
	}
	t.ixMu.Lock()
	switch _, in := c.groups[group]; {
	case c.unindexed || c.closing.Load():
		t.ixMu.Unlock()
		return wsgw.Errorf(wsgw.ENotFound, "socket %s is closing", c.info.ID)
	case in:
		t.ixMu.Unlock()
		return nil
	case len(c.groups) >= c.g.opts.Limits.MaxGroupsPerSocket:
		t.ixMu.Unlock()
		return wsgw.Errorf(wsgw.EInvalid, "socket %s is in %d groups already (limits.max_groups_per_socket)", c.info.ID, len(c.groups))
	}
	if c.groups == nil {
		c.groups = make(map[string]struct{})
	}
	c.groups[group] = struct{}{}
	t.ix.add(t.ix.groups, group, c)
	t.ixMu.Unlock()
	c.g.indexed("join", c, c.g.opts.Registry.Join(context.Background(), c.info.ID, group))
	return nil
}

// leave takes c out of group, here and in the registry.
func (t *Conns) leave(c *conn, group string) error {
	if err := wsgw.ValidGroup(group); err != nil {
		return wsgw.Errorf(wsgw.EInvalid, "%v", err)
	}
	t.ixMu.Lock()
	if _, in := c.groups[group]; !in || c.unindexed {
		t.ixMu.Unlock()
		return nil
	}
	delete(c.groups, group)
	t.ix.remove(t.ix.groups, group, c)
	t.ixMu.Unlock()
	c.g.indexed("leave", c, c.g.opts.Registry.Leave(context.Background(), c.info.ID, group))
	return nil
}

// setUser binds c to user ("" unbinds it), here and in the registry.
func (t *Conns) setUser(c *conn, user string) error {
	t.ixMu.Lock()
	if c.unindexed || c.user == user {
		t.ixMu.Unlock()
		return nil
	}
	if c.user != "" {
		t.ix.remove(t.ix.users, c.user, c)
	}
	c.user = user
	if user != "" {
		t.ix.add(t.ix.users, user, c)
	}
	t.ixMu.Unlock()
	c.g.indexed("set_user", c, c.g.opts.Registry.SetUser(context.Background(), c.info.ID, user))
	return nil
}

// indexed logs and counts a registry write of the index that failed: the
// local index has it, and so will the registry after its next resync.
func (g *Gateway) indexed(op string, c *conn, err error) {
	if err != nil {
		g.metrics.StoreErrors.WithLabelValues(op).Inc()
		g.log.Error("store index write failed", "op", op, "socket_id", c.info.ID, "err", err)
	}
}

// members returns the sockets of m[key], or every socket when all is set.
func (t *Conns) members(m map[string]map[*conn]struct{}, key string) []*conn {
	t.ixMu.RLock()
	set := m[key]
	cs := make([]*conn, 0, len(set))
	for c := range set {
		cs = append(cs, c)
	}
	t.ixMu.RUnlock()
	return cs
}

// Join puts socket id in group.
func (t *Conns) Join(id, group string) error {
	c := t.get(id)
	if c == nil {
		return errNoSocket(id)
	}
	return t.join(c, group)
}

// Leave takes socket id out of group.
func (t *Conns) Leave(id, group string) error {
	c := t.get(id)
	if c == nil {
		return errNoSocket(id)
	}
	return t.leave(c, group)
}

// SendToUser queues m to this node's sockets of user.
func (t *Conns) SendToUser(user string, m *wsgw.Message) int {
	n := 0
	members := t.members(t.ix.users, user)
	for _, c := range members {
		if c.Deliver(m) == nil {
			n++
		}
	}
	fanout(members, n)
	return n
}

// CloseUser closes this node's sockets of user that are not closing yet.
func (t *Conns) CloseUser(user string, code int, reason string) int {
	n := 0
	for _, c := range t.members(t.ix.users, user) {
		if !c.closing.Load() {
			_ = c.Close(code, reason)
			n++
		}
	}
	return n
}

// Publish queues a frame to this node's members of group (every socket
// when group is ""), but those in exclude. The frame is built once for
// them all (gws's Broadcaster), and a member whose queue is full is
// closed with 1013 without holding up the others.
func (t *Conns) Publish(group string, m *wsgw.Message, exclude []string) {
	var members []*conn
	if group == "" {
		t.each(func(c *conn) { members = append(members, c) })
	} else {
		members = t.members(t.ix.groups, group)
	}
	if len(members) == 0 {
		return
	}
	op := gws.OpcodeText
	if m.Binary {
		op = gws.OpcodeBinary
	}
	skip := func(id string) bool { return slices.Contains(exclude, id) }
	if len(exclude) > 8 {
		set := make(map[string]struct{}, len(exclude))
		for _, id := range exclude {
			set[id] = struct{}{}
		}
		skip = func(id string) bool { _, ok := set[id]; return ok }
	}
	b := newSharedFrame(op, m.Data)
	defer b.Close()
	var pub *publication // the STOMP members' MESSAGE frames, encoded once for them all
	n := 0
	for _, c := range members {
		switch {
		case skip(c.info.ID):
		case c.stomp != nil:
			if pub == nil {
				pub = newPublication(c.g, &wsgw.Message{Data: m.Data, Binary: m.Binary, JSON: m.JSON, Headers: m.Headers, Destination: group})
				defer pub.close()
			}
			if c.stomp.publish(pub, group) {
				n++
			}
		case c.broadcast(b):
			n++
		}
	}
	fanout(members, n)
}

// sharedFrame is a frame built once for many sockets (gws's Broadcaster),
// with what it is built from, for a socket that takes it in its outbox.
type sharedFrame struct {
	*gws.Broadcaster
	op      gws.Opcode
	payload []byte
}

func newSharedFrame(op gws.Opcode, payload []byte) *sharedFrame {
	return &sharedFrame{gws.NewBroadcaster(op, payload), op, payload}
}

// broadcast queues f, counted as Send counts a frame, and says whether it
// did. A socket whose event runs takes a copy of the payload in its outbox
// (outbox.go): the caller's may not outlive the call.
func (c *conn) broadcast(f *sharedFrame) bool {
	if c.reserve() != nil {
		return false
	}
	c.mu.Lock()
	if c.inEvent {
		c.outboxLocked().frames = append(c.outbox.frames, outFrame{f.op, bytes.Clone(f.payload), c.written})
		c.mu.Unlock()
		return true
	}
	c.mu.Unlock()
	if err := f.Broadcast(c.ws); err != nil {
		c.pending.Add(-1)
		return false
	}
	c.ws.Async(c.broadcasted)
	return true
}

// onBroadcast follows a broadcast frame in the connection's write queue.
func (c *conn) onBroadcast() { c.onWritten(nil) }

// identity is the user and groups of c, for info.
func (t *Conns) identity(c *conn) (*string, []string) {
	t.ixMu.RLock()
	defer t.ixMu.RUnlock()
	var user *string
	if c.user != "" {
		u := c.user
		user = &u
	}
	groups := slices.Sorted(maps.Keys(c.groups))
	if groups == nil {
		groups = []string{}
	}
	return user, groups
}

// fanout counts n frames queued to members by a publish or a send to a
// user.
func fanout(members []*conn, n int) {
	if n > 0 {
		members[0].g.metrics.Fanout.Add(float64(n))
	}
}
