package gateway

import (
	"errors"
	"hash/maphash"
	"sync"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/deploy"
	"github.com/wsgw/wsgw/store"
)

// Conns is this node's connection table: the sockets it holds, by ID,
// sharded so that connects, closes and lookups on many cores do not queue
// on one lock. It is this node's store.Local: what a command from the bus,
// or the socket service, does to a socket held here. Make it with NewConns
// and give the same table to the Gateway, the Bus and the service.
type Conns struct {
	seed   maphash.Seed
	shards [64]connShard

	// ixMu guards the index of users and groups (groups.go).
	ixMu sync.RWMutex
	ix   index
}

type connShard struct {
	mu sync.RWMutex
	m  map[string]*conn
}

var _ store.Local = (*Conns)(nil)

// NewConns returns an empty connection table.
func NewConns() *Conns {
	t := &Conns{seed: maphash.MakeSeed(), ix: index{
		users:  make(map[string]map[*conn]struct{}),
		groups: make(map[string]map[*conn]struct{}),
	}}
	for i := range t.shards {
		t.shards[i].m = make(map[string]*conn)
	}
	return t
}

func (t *Conns) shard(id string) *connShard {
	return &t.shards[maphash.String(t.seed, id)%uint64(len(t.shards))]
}

func (t *Conns) add(c *conn) {
	s := t.shard(c.info.ID)
	s.mu.Lock()
	s.m[c.info.ID] = c
	s.mu.Unlock()
}

// remove deletes c and reports whether it was there, so that a connection is
// finished exactly once.
func (t *Conns) remove(c *conn) bool {
	s := t.shard(c.info.ID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[c.info.ID] != c {
		return false
	}
	delete(s.m, c.info.ID)
	return true
}

func (t *Conns) get(id string) *conn {
	s := t.shard(id)
	s.mu.RLock()
	c := s.m[id]
	s.mu.RUnlock()
	return c
}

func (t *Conns) len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// each calls fn for every connection, outside the shard locks.
func (t *Conns) each(fn func(*conn)) {
	var batch []*conn
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.RLock()
		for _, c := range s.m {
			batch = append(batch, c)
		}
		s.mu.RUnlock()
		for _, c := range batch {
			fn(c)
		}
		batch = batch[:0]
	}
}

var _ deploy.Sockets = (*Conns)(nil)

// CloseEndpoint closes, with 1001, every socket connected through ep: it
// was undeployed.
func (t *Conns) CloseEndpoint(ep *deploy.Endpoint) {
	t.each(func(c *conn) {
		if c.endpoint == ep {
			_ = c.Close(1001, "endpoint removed")
		}
	})
}

// Holds reports whether socket id is connected to this node.
func (t *Conns) Holds(id string) bool { return t.get(id) != nil }

// Send queues m to socket id.
func (t *Conns) Send(id string, m *wsgw.Message) error {
	c := t.get(id)
	if c == nil {
		return errNoSocket(id)
	}
	return sendError(id, c.Deliver(m))
}

// CloseSocket starts closing socket id with code and reason.
func (t *Conns) CloseSocket(id string, code int, reason string) error {
	if err := wsgw.ValidCloseCode(code); err != nil {
		return wsgw.Errorf(wsgw.EInvalid, "%v", err)
	}
	c := t.get(id)
	if c == nil {
		return errNoSocket(id)
	}
	if c.closing.Load() {
		return wsgw.Errorf(wsgw.ENotFound, "socket %s is closing", id)
	}
	return c.Close(code, reason)
}

// Info is the live state of socket id.
func (t *Conns) Info(id string) (*wsgw.Socket, error) {
	c := t.get(id)
	if c == nil {
		return nil, errNoSocket(id)
	}
	return c.snapshot(), nil
}

// CloseAll closes every socket of this node that is not already closing,
// with 1000, and says how many.
func (t *Conns) CloseAll() int {
	n := 0
	t.each(func(c *conn) {
		if !c.closing.Load() {
			_ = c.Close(1000, "")
			n++
		}
	})
	return n
}

func errNoSocket(id string) error { return wsgw.Errorf(wsgw.ENotFound, "no socket %s", id) }

// sendError is the service's answer to a frame refused by conn.Send.
func sendError(id string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errClosing):
		return wsgw.Errorf(wsgw.ENotFound, "socket %s is closing", id)
	case errors.Is(err, errBackpressed):
		return wsgw.Errorf(wsgw.EUnavailable, "socket %s: %v", id, err)
	}
	return err
}
