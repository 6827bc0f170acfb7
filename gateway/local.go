package gateway

import (
	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/store"
)

// localNode serves other nodes' commands from this gateway's connections.
type localNode struct{ g *Gateway }

var _ store.Local = localNode{}

func (l localNode) Send(id string, message []byte, binary bool) error {
	c := l.g.conns.get(id)
	if c == nil {
		return errNoSocket(id)
	}
	return sendError(id, c.Send(message, binary))
}

func (l localNode) CloseSocket(id string, code int, reason string) error {
	if err := wsgw.ValidCloseCode(code); err != nil {
		return wsgw.Errorf(wsgw.EInvalid, "%v", err)
	}
	c := l.g.conns.get(id)
	if c == nil || c.closing.Load() {
		return errNoSocket(id)
	}
	return c.Close(code, reason)
}

func (l localNode) Info(id string) (*wsgw.Socket, error) {
	c := l.g.conns.get(id)
	if c == nil {
		return nil, errNoSocket(id)
	}
	return c.snapshot(), nil
}

func (l localNode) CloseAll() int { return l.g.closeAllLocal() }

func errNoSocket(id string) error { return wsgw.Errorf(wsgw.ENotFound, "no socket %s", id) }
