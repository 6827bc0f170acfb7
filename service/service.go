// Package service is a node's socket service (wsgw.SocketService): list,
// info, send, closeSocket and closeAll for any socket of the cluster. A
// socket this node holds is reached through its connection table, the
// Local; any other is looked up in the registry, which names its node, and
// reached through the bus. Scripts (runtime) and the admin REST API
// (handlers) call it; cmd/gateway builds it before both.
package service

import (
	"context"
	"errors"
	"log/slog"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/internal/ratelog"
	"github.com/wsgw/wsgw/metrics"
	"github.com/wsgw/wsgw/store"
)

// Local is this node's connection table (gateway.Conns): the Bus's Local,
// and what says whether the node holds a socket.
type Local interface {
	store.Local
	// Holds reports whether socket id is connected to this node.
	Holds(id string) bool
}

// Options configure a Service. Node, Local, Registry and Bus are required.
type Options struct {
	// Node is this node's name, as the registry records it.
	Node     string
	Local    Local
	Registry store.Registry
	Bus      store.Bus
	// MaxMessageBytes refuses a larger message with 413 before it goes
	// anywhere: the gateway's limits.max_message_bytes. 0 checks nothing.
	MaxMessageBytes int
	Logger          *slog.Logger
	Metrics         *metrics.Metrics
}

// Service is the socket service of one node.
type Service struct {
	opts        Options
	log         *slog.Logger
	metrics     *metrics.Metrics
	storeErrLog ratelog.Limiter // lines about registry operations that failed
	refusedLog  ratelog.Limiter // lines about calls that failed for an unreachable node or store
	badInputLog ratelog.Limiter // lines about calls refused for what they asked
}

var _ wsgw.SocketService = (*Service)(nil)

// New returns the service of opts.Node.
func New(opts Options) (*Service, error) {
	for name, missing := range map[string]bool{
		"Node": opts.Node == "", "Local": opts.Local == nil, "Registry": opts.Registry == nil, "Bus": opts.Bus == nil,
	} {
		if missing {
			return nil, errors.New("service: Options." + name + " is required")
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.New(nil)
	}
	return &Service{opts: opts, log: opts.Logger, metrics: opts.Metrics}, nil
}

// List pages through the IDs of every registered socket.
func (s *Service) List(ctx context.Context, cursor string, limit int) ([]string, string, error) {
	if limit < 0 {
		return nil, "", wsgw.Errorf(wsgw.EInvalid, "limit must be a positive integer")
	}
	ids, next, err := s.opts.Registry.List(ctx, cursor, limit)
	if err != nil {
		return nil, "", s.storeError("list", err)
	}
	if ids == nil {
		ids = []string{}
	}
	return ids, next, nil
}

// Info describes socket id: the live state of a socket on another node
// comes from that node.
func (s *Service) Info(ctx context.Context, id string) (*wsgw.Socket, error) {
	if s.opts.Local.Holds(id) {
		return s.opts.Local.Info(id)
	}
	node, err := s.owner(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.opts.Bus.Info(ctx, node, id)
}

// Send queues a frame to socket id. A local socket never costs a trip to
// the registry.
func (s *Service) Send(ctx context.Context, id string, m *wsgw.Message) error {
	if err := s.checkSize("send", m.Data); err != nil {
		return err
	}
	if s.opts.Local.Holds(id) {
		return s.opts.Local.Send(id, m)
	}
	node, err := s.owner(ctx, id)
	if err != nil {
		return err
	}
	return s.opts.Bus.Send(ctx, node, id, m)
}

// CloseSocket closes socket id with code and reason.
func (s *Service) CloseSocket(ctx context.Context, id string, code int, reason string) error {
	if err := wsgw.ValidCloseCode(code); err != nil {
		return wsgw.Errorf(wsgw.EInvalid, "%v", err)
	}
	if s.opts.Local.Holds(id) {
		return s.opts.Local.CloseSocket(id, code, reason)
	}
	node, err := s.owner(ctx, id)
	if err != nil {
		return err
	}
	return s.opts.Bus.CloseSocket(ctx, node, id, code, reason)
}

// CloseAll closes every socket of the cluster and returns how many it
// closed. The local sockets are closed even when other nodes cannot be
// reached; the error then says so.
func (s *Service) CloseAll(ctx context.Context) (int, error) {
	n := s.opts.Local.CloseAll()
	remote, err := s.opts.Bus.CloseAll(ctx)
	return n + remote, err
}

// owner finds the node of a socket that this node does not hold. A record
// that names this node outlived its connection: the socket is gone.
func (s *Service) owner(ctx context.Context, id string) (string, error) {
	info, err := s.opts.Registry.Get(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", wsgw.Errorf(wsgw.ENotFound, "no socket %s", id)
	case errors.Is(err, store.ErrResyncing):
		return "", wsgw.Errorf(wsgw.EUnavailable, "registry resyncing: socket %s may exist; try again in a moment", id)
	case err != nil:
		return "", s.storeError("get", err)
	case info.Node == s.opts.Node:
		return "", wsgw.Errorf(wsgw.ENotFound, "no socket %s", id)
	}
	return info.Node, nil
}

// storeError counts a failed registry operation and answers 503. While the
// registry stays away every call fails: one line per ratelog.Interval says
// how many did.
func (s *Service) storeError(op string, err error) error {
	s.metrics.StoreErrors.WithLabelValues(op).Inc()
	if ok, n := s.storeErrLog.Allow(); ok {
		s.log.Error("store operation failed", "op", op, "err", err, "failures", n)
	}
	return wsgw.Errorf(wsgw.EUnavailable, "the socket registry is unavailable")
}
