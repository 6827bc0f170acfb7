package redis

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/wsgw/wsgw"
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

const (
	flagBinary = 1
	// flagSTOMP: the body of a send starts with the message's STOMP
	// addressing (appendAddressing).
	flagSTOMP = 2
)

// command is one decoded inbox message.
type command struct {
	op     byte
	binary bool
	stomp  bool
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
	if c.stomp {
		flags |= flagSTOMP
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
	c.op, c.binary, c.stomp = s[0], s[1]&flagBinary != 0, s[1]&flagSTOMP != 0
	switch c.op {
	case opSend, opClose, opInfo, opCloseAll, opReply, opPing, opAcks, opBatch,
		opJoin, opLeave, opUserSend, opUserKill, opPublish:
	default:
		return c, fmt.Errorf("%w: unknown op %q", errMalformed, c.op)
	}
	if s[1]&^(flagBinary|flagSTOMP) != 0 || (c.stomp && c.op != opSend && c.op != opPublish && c.op != opUserSend) {
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

// sendCommand is the send of m to socket id, and its body: the frame, after
// the STOMP addressing when m has one. A plain send costs nothing more.
func sendCommand(id string, m *wsgw.Message) (command, []byte) {
	c := command{op: opSend, binary: m.Binary, id: id}
	if !addressed(m) {
		return c, m.Data
	}
	c.stomp = true
	return c, append(appendAddressing(nil, m), m.Data...)
}

// addressed reports whether m carries more than its frame: what flagSTOMP
// says comes before the data.
func addressed(m *wsgw.Message) bool {
	return m.Destination != "" || len(m.Headers) > 0 || m.JSON
}

// appendAddressing appends what a STOMP socket needs of m besides its data:
//
//	json (1 byte) | uvarint len + destination | uvarint headers |
//	(uvarint len + key | uvarint len + value) per header
func appendAddressing(b []byte, m *wsgw.Message) []byte {
	var json byte
	if m.JSON {
		json = 1
	}
	b = append(b, json)
	b = binary.AppendUvarint(b, uint64(len(m.Destination)))
	b = append(b, m.Destination...)
	b = binary.AppendUvarint(b, uint64(len(m.Headers)))
	for k, v := range m.Headers {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return b
}

// message is the message a send command carries.
func (c *command) message() (*wsgw.Message, error) {
	return c.messageOf(c.body)
}

// messageOf is the message of a command whose body ends with body: the
// frame, after the STOMP addressing when the command says it has one.
func (c *command) messageOf(body string) (*wsgw.Message, error) {
	if !c.stomp {
		return &wsgw.Message{Data: []byte(body), Binary: c.binary}, nil
	}
	r := reader{s: body}
	if len(body) == 0 || body[0] > 1 {
		return nil, fmt.Errorf("%w: STOMP addressing", errMalformed)
	}
	m := &wsgw.Message{Binary: c.binary, JSON: body[0] == 1}
	r.off = 1
	m.Destination = r.str()
	n := r.uvarint()
	if r.err == nil && n > uint64(len(body)) {
		r.err = errMalformed
	}
	if r.err == nil && n > 0 {
		m.Headers = make(map[string]string, n)
		for range n {
			k := r.str()
			m.Headers[k] = r.str()
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: STOMP addressing", r.err)
	}
	m.Data = []byte(body[r.off:])
	return m, nil
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
func appendPublish(b []byte, group string, exclude []string, m *wsgw.Message) []byte {
	b = appendString(b, group)
	b = binary.AppendUvarint(b, uint64(len(exclude)))
	for _, id := range exclude {
		b = appendString(b, id)
	}
	if addressed(m) {
		b = appendAddressing(b, m)
	}
	return append(b, m.Data...)
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
