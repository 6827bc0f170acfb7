package stomp

import (
	"errors"
	"fmt"
)

// Errors of a well-formed frame that a server must refuse.
var (
	ErrMissingHeader     = errors.New("missing header")
	ErrUnexpectedCommand = errors.New("unexpected command")
)

// Validate checks that a client frame carries the headers its command needs
// in version v (the zero Version is checked as 1.2):
//
//   - SEND: destination
//   - SUBSCRIBE: destination, and id (optional in 1.0)
//   - UNSUBSCRIBE: id (in 1.0 id or destination)
//   - ACK, NACK: id in 1.2, message-id before
//   - BEGIN, COMMIT, ABORT: transaction
//
// CONNECT and STOMP need nothing: the spec asks 1.1+ clients for host and
// accept-version, but stomp.js sends no host, and a missing accept-version
// just means 1.0. Server commands are refused.
func Validate(v Version, f *Frame) error {
	switch f.Command {
	case CmdConnect, CmdStomp, CmdDisconnect:
		return nil
	case CmdSend:
		return need(f, "destination")
	case CmdSubscribe:
		if err := need(f, "destination"); err != nil || v == V10 {
			return err
		}
		return need(f, "id")
	case CmdUnsubscribe:
		if v == V10 {
			if _, ok := f.Lookup("destination"); ok {
				return nil
			}
		}
		return need(f, "id")
	case CmdAck, CmdNack:
		if v == V10 || v == V11 {
			return need(f, "message-id")
		}
		return need(f, "id")
	case CmdBegin, CmdCommit, CmdAbort:
		return need(f, "transaction")
	case CmdConnected, CmdMessage, CmdReceipt, CmdError:
		return fmt.Errorf("%w: %s frames are sent by servers, not clients", ErrUnexpectedCommand, f.Command)
	}
	return fmt.Errorf("%w %s", ErrUnknownCommand, quote(f.Command))
}

// need checks that f has the header key, and a non-empty one for destination
// (which names a group). Other values may be empty: go-stomp, for one, acks
// with an empty id a MESSAGE that had no ack header.
func need(f *Frame, key string) error {
	value, ok := f.Lookup(key)
	if !ok {
		return fmt.Errorf("%w: the %s frame has no %s header", ErrMissingHeader, f.Command, key)
	}
	if value == "" && key == "destination" {
		return fmt.Errorf("%w: the destination header of the %s frame is empty", ErrMissingHeader, f.Command)
	}
	return nil
}
