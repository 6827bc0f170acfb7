package redis

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Commands that travel through a node's inbox. The encoding is compact
// rather than JSON because a cross-node send pays for it on every message:
//
//	op (1 byte) | flags (1 byte) | uvarint code | uvarint request |
//	uvarint len + from | uvarint len + socket id | body (the rest)
//
// Every field is present in every command; unused ones are zero or empty.
// A send or close with a request and a from is acknowledged; one without
// (from a node of an older version) is not.
const (
	opSend     = 's' // body: the frame; flags: flagBinary; request, from: the node to acknowledge
	opClose    = 'c' // code, body: the reason; request, from
	opInfo     = 'i' // request, from: the node to answer
	opCloseAll = 'a' // request, from
	opReply    = 'r' // request, body: a JSON reply
	opPing     = 'p' // a node's check that its own inbox is subscribed
	opAcks     = 'k' // body: acknowledgements of sends and closes (appendAck)
	opBatch    = 'b' // body: several commands for one node (appendBatched)
	opJoin     = 'j' // body: the group; request, from
	opLeave    = 'l' // body: the group; request, from
	opUserSend = 'u' // body: appendString(user) + the frame; flags: flagBinary; request, from
	opUserKill = 'U' // code, body: appendString(user) + the reason; request, from
	opPublish  = 'P' // body: appendPublish; flags: flagBinary; no answer
)

const flagBinary = 1

// command is one decoded inbox message.
type command struct {
	op     byte
	binary bool
	code   int
	req    uint64
	from   string
	id     string
	body   string
}

var errMalformed = errors.New("malformed inbox command")

// encode appends the wire form of c to b.
func (c *command) encode(b []byte) []byte {
	var flags byte
	if c.binary {
		flags |= flagBinary
	}
	b = append(b, c.op, flags)
	b = binary.AppendUvarint(b, uint64(c.code))
	b = binary.AppendUvarint(b, c.req)
	b = binary.AppendUvarint(b, uint64(len(c.from)))
	b = append(b, c.from...)
	b = binary.AppendUvarint(b, uint64(len(c.id)))
	b = append(b, c.id...)
	return append(b, c.body...)
}

// decode parses an inbox message; anything but a well-formed command of a
// known op is refused, since anyone who can publish to Redis can write one.
func decode(s string) (command, error) {
	var c command
	if len(s) < 2 {
		return c, errMalformed
	}
	c.op, c.binary = s[0], s[1]&flagBinary != 0
	switch c.op {
	case opSend, opClose, opInfo, opCloseAll, opReply, opPing, opAcks, opBatch,
		opJoin, opLeave, opUserSend, opUserKill, opPublish:
	default:
		return c, fmt.Errorf("%w: unknown op %q", errMalformed, c.op)
	}
	if s[1]&^flagBinary != 0 {
		return c, fmt.Errorf("%w: unknown flags %#x", errMalformed, s[1])
	}
	r := reader{s: s, off: 2}
	code := r.uvarint()
	c.req = r.uvarint()
	c.from = r.str()
	c.id = r.str()
	if r.err != nil {
		return c, r.err
	}
	if code > 0xffff {
		return c, fmt.Errorf("%w: close code %d", errMalformed, code)
	}
	c.code = int(code)
	c.body = s[r.off:]
	return c, nil
}

// reader takes varints and length-prefixed strings off a string without
// copying it; the first error sticks.
type reader struct {
	s   string
	off int
	err error
}

func (r *reader) uvarint() uint64 {
	var v uint64
	for shift := 0; r.err == nil; shift += 7 {
		if r.off >= len(r.s) || shift > 63 {
			r.err = errMalformed
			break
		}
		b := r.s[r.off]
		r.off++
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v
		}
	}
	return 0
}

func (r *reader) str() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.s)-r.off) {
		r.err = errMalformed
		return ""
	}
	s := r.s[r.off : r.off+int(n)]
	r.off += int(n)
	return s
}

// ack is the owner's answer to a send or close: the request it answers and,
// when the command failed, the code and message of its *wsgw.Error.
type ack struct {
	req           uint64
	code, message string
}

// appendAck appends the wire form of a to the body of an opAcks command:
//
//	uvarint request | uvarint len + code | uvarint len + message
//
// One command carries the acknowledgements of many requests.
func appendAck(b []byte, a ack) []byte {
	b = binary.AppendUvarint(b, a.req)
	b = binary.AppendUvarint(b, uint64(len(a.code)))
	b = append(b, a.code...)
	b = binary.AppendUvarint(b, uint64(len(a.message)))
	return append(b, a.message...)
}

// decodeAcks parses the body of an opAcks command.
func decodeAcks(body string, each func(ack)) error {
	r := reader{s: body}
	for r.off < len(r.s) {
		a := ack{req: r.uvarint(), code: r.str(), message: r.str()}
		if r.err != nil {
			return r.err
		}
		each(a)
	}
	return nil
}

// appendBatched appends one encoded command to the body of an opBatch:
// uvarint len + command.
func appendBatched(b, cmd []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(cmd)))
	return append(b, cmd...)
}

// decodeBatch parses the body of an opBatch; a batch inside a batch is
// malformed.
func decodeBatch(body string, each func(command)) error {
	r := reader{s: body}
	for r.off < len(r.s) {
		raw := r.str()
		if r.err != nil {
			return r.err
		}
		c, err := decode(raw)
		if err != nil {
			return err
		}
		if c.op == opBatch {
			return fmt.Errorf("%w: a batch inside a batch", errMalformed)
		}
		each(c)
	}
	return nil
}

// appendString appends uvarint len + s.
func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// splitString takes a string of appendString off the front of body and
// returns it with the rest.
func splitString(body string) (string, string, error) {
	r := reader{s: body}
	s := r.str()
	return s, body[r.off:], r.err
}

// appendPublish appends the body of an opPublish:
//
//	uvarint len + group | uvarint count | count × (uvarint len + socket id) | message
//
// An empty group is every socket of the node (broadcast).
func appendPublish(b []byte, group string, exclude []string, message []byte) []byte {
	b = appendString(b, group)
	b = binary.AppendUvarint(b, uint64(len(exclude)))
	for _, id := range exclude {
		b = appendString(b, id)
	}
	return append(b, message...)
}

// decodePublish parses the body of an opPublish.
func decodePublish(body string) (group string, exclude []string, message string, err error) {
	r := reader{s: body}
	group = r.str()
	n := r.uvarint()
	if r.err == nil && n > uint64(len(body)) {
		return "", nil, "", errMalformed
	}
	for i := uint64(0); i < n && r.err == nil; i++ {
		exclude = append(exclude, r.str())
	}
	if r.err != nil {
		return "", nil, "", r.err
	}
	return group, exclude, body[r.off:], nil
}
