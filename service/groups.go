package service

import (
	"context"

	"github.com/wsgw/wsgw"
)

// Users and groups. Every node indexes the users and groups of the sockets
// it holds (gateway.Conns): a send to a user, or a publish, goes to every
// node once, over the bus, and each node delivers to its own sockets. The
// registry's index answers the lists.

// ListUser returns the IDs of the sockets of user.
func (s *Service) ListUser(ctx context.Context, user string) ([]string, error) {
	if err := s.validUser("list", user); err != nil {
		return nil, err
	}
	ids, err := s.opts.Registry.UserSockets(ctx, user)
	if err != nil {
		return nil, s.refused("list", s.storeError("list_user", err))
	}
	return ids, nil
}

// SendToUser queues a frame to every socket of user.
func (s *Service) SendToUser(ctx context.Context, user string, m *wsgw.Message) (int, error) {
	if err := s.validUser("send_to_user", user); err != nil {
		return 0, err
	}
	if err := s.checkSize("send_to_user", m.Data); err != nil {
		return 0, err
	}
	n := s.opts.Local.SendToUser(user, m)
	remote, err := s.opts.Bus.SendToUser(ctx, user, m)
	return n + remote, s.refused("send_to_user", err)
}

// CloseUser closes every socket of user.
func (s *Service) CloseUser(ctx context.Context, user string, code int, reason string) (int, error) {
	if err := s.validUser("close_user", user); err != nil {
		return 0, err
	}
	if err := wsgw.ValidCloseCode(code); err != nil {
		return 0, s.refused("close_user", wsgw.Errorf(wsgw.EInvalid, "%v", err))
	}
	n := s.opts.Local.CloseUser(user, code, reason)
	remote, err := s.opts.Bus.CloseUser(ctx, user, code, reason)
	return n + remote, s.refused("close_user", err)
}

// Join puts socket id in group, on whichever node holds it.
func (s *Service) Join(ctx context.Context, id, group string) error {
	if err := s.validGroup("join", group); err != nil {
		return err
	}
	if s.opts.Local.Holds(id) {
		return s.refused("join", s.opts.Local.Join(id, group))
	}
	node, err := s.owner(ctx, id)
	if err != nil {
		return s.refused("join", err)
	}
	return s.refused("join", s.opts.Bus.Join(ctx, node, id, group))
}

// Leave takes socket id out of group.
func (s *Service) Leave(ctx context.Context, id, group string) error {
	if err := s.validGroup("leave", group); err != nil {
		return err
	}
	if s.opts.Local.Holds(id) {
		return s.refused("leave", s.opts.Local.Leave(id, group))
	}
	node, err := s.owner(ctx, id)
	if err != nil {
		return s.refused("leave", err)
	}
	return s.refused("leave", s.opts.Bus.Leave(ctx, node, id, group))
}

// ListGroup pages through group's members.
func (s *Service) ListGroup(ctx context.Context, group, cursor string, limit int) ([]string, string, error) {
	if err := s.validGroup("list", group); err != nil {
		return nil, "", err
	}
	if limit < 0 {
		return nil, "", s.refused("list", wsgw.Errorf(wsgw.EInvalid, "limit must be a positive integer"))
	}
	ids, next, err := s.opts.Registry.GroupSockets(ctx, group, cursor, limit)
	if err != nil {
		return nil, "", s.refused("list", s.storeError("list_group", err))
	}
	return ids, next, nil
}

// Publish queues a frame to every member of group but those in exclude.
// This node's members get it even when the other nodes cannot be
// reached; the error then says so.
func (s *Service) Publish(ctx context.Context, group string, m *wsgw.Message, exclude []string) error {
	if err := s.validGroup("publish", group); err != nil {
		return err
	}
	return s.publish(ctx, "publish", group, m, exclude)
}

// Broadcast queues a frame to every socket of the cluster but those in
// exclude.
func (s *Service) Broadcast(ctx context.Context, m *wsgw.Message, exclude []string) error {
	return s.publish(ctx, "broadcast", "", m, exclude)
}

func (s *Service) publish(ctx context.Context, op, group string, m *wsgw.Message, exclude []string) error {
	if err := s.checkSize(op, m.Data); err != nil {
		return err
	}
	s.opts.Local.Publish(group, m, exclude)
	return s.refused(op, s.opts.Bus.Publish(ctx, group, m, exclude))
}

func (s *Service) validUser(op, user string) error {
	if err := wsgw.ValidUser(user); err != nil {
		return s.refused(op, wsgw.Errorf(wsgw.EInvalid, "%v", err))
	}
	return nil
}

func (s *Service) validGroup(op, group string) error {
	if err := wsgw.ValidGroup(group); err != nil {
		return s.refused(op, wsgw.Errorf(wsgw.EInvalid, "%v", err))
	}
	return nil
}

// checkSize refuses a message over max_message_bytes with 413.
func (s *Service) checkSize(op string, message []byte) error {
	if limit := s.opts.MaxMessageBytes; limit > 0 && len(message) > limit {
		return s.refused(op, wsgw.Errorf(wsgw.ETooLarge, "the message is %d bytes; max_message_bytes is %d", len(message), limit))
	}
	return nil
}

// refused counts and logs a refused call of op, and returns err: bad
// input at info level, a node or store that cannot be reached at warning
// level, each at most once per ratelog.Interval (with how many since).
func (s *Service) refused(op string, err error) error {
	if err == nil {
		return nil
	}
	code := wsgw.ErrorCode(err)
	s.metrics.OpsRefused.WithLabelValues(op, code).Inc()
	if code == wsgw.EUnavailable {
		if ok, n := s.refusedLog.Allow(); ok {
			s.log.Warn("socket service call failed", "op", op, "err", err, "failures", n)
		}
		return err
	}
	if ok, n := s.badInputLog.Allow(); ok {
		s.log.Info("socket service call refused", "op", op, "err", err, "refusals", n)
	}
	return err
}
