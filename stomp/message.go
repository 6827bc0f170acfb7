package stomp

import (
	"bytes"
	"slices"
	"strconv"
)

// Message is what one publish delivers to every subscription of a
// destination.
type Message struct {
	Destination string
	// ContentType is the content-type header; empty leaves it out.
	ContentType string
	// Headers are extra headers. Those named subscription, message-id, ack,
	// destination, content-type or content-length are left out: the
	// template writes them.
	Headers []Header
	Body    []byte
}

// MessageTemplate is a Message encoded once, so that the MESSAGE frame of
// each subscriber costs one allocation and two copies (Append). It is
// immutable and safe for concurrent use.
type MessageTemplate struct {
	// tail is, per version (1.0, 1.1, 1.2), the encoded frame after the
	// message-id header: the common headers, the blank line, the body, the
	// NUL. The versions share one slice when their escaping agrees.
	tail [3][]byte
}

// NewMessageTemplate encodes m for every version. It copies m.Body once per
// distinct escaping (once unless a header needs escaping).
func NewMessageTemplate(m Message) *MessageTemplate {
	headers := make([]Header, 0, 3+len(m.Headers))
	headers = append(headers, Header{"destination", m.Destination})
	if m.ContentType != "" {
		headers = append(headers, Header{"content-type", m.ContentType})
	}
	headers = append(headers, Header{"content-length", strconv.Itoa(len(m.Body))})
	for _, h := range m.Headers {
		switch h.Key {
		case "", "subscription", "message-id", "ack", "destination", "content-type", "content-length":
		default:
			headers = append(headers, h)
		}
	}
	t := &MessageTemplate{}
	var heads [3][]byte
	for i, v := range [3]Version{V10, V11, V12} {
		for _, h := range headers {
			heads[i] = appendKey(heads[i], v, v != V10, h.Key)
			heads[i] = append(heads[i], ':')
			heads[i] = appendValue(heads[i], v, v != V10, h.Value)
			heads[i] = append(heads[i], '\n')
		}
		for j := range i {
			if bytes.Equal(heads[j], heads[i]) {
				t.tail[i] = t.tail[j]
				break
			}
		}
		if t.tail[i] == nil {
			t.tail[i] = slices.Concat(heads[i], []byte{'\n'}, m.Body, []byte{0})
		}
	}
	return t
}

const (
	messagePrefix = CmdMessage + "\nsubscription:"
	messageIDKey  = "\nmessage-id:"
)

// Append appends the MESSAGE frame for one subscriber, encoded for version
// v, to dst: subscription and message-id first, then the template.
func (t *MessageTemplate) Append(dst []byte, v Version, subscription, messageID string) []byte {
	return t.appendFrame(dst, v, subscription, messageID, "")
}

// AppendAck is Append with an ack header after message-id, as STOMP 1.2
// asks of the MESSAGE frames of a subscription whose client acknowledges
// them (ack mode client or client-individual): its ACK names that value.
func (t *MessageTemplate) AppendAck(dst []byte, v Version, subscription, messageID, ack string) []byte {
	return t.appendFrame(dst, v, subscription, messageID, ack)
}

const ackKey = "ack:"

func (t *MessageTemplate) appendFrame(dst []byte, v Version, subscription, messageID, ack string) []byte {
	var tail []byte
	switch v {
	case V10:
		tail = t.tail[0]
	case V11:
		tail = t.tail[1]
	default:
		tail = t.tail[2]
	}
	dst = slices.Grow(dst, len(messagePrefix)+len(subscription)+len(messageIDKey)+len(messageID)+1+len(tail))
	esc := v != V10
	dst = append(dst, messagePrefix...)
	dst = appendValue(dst, v, esc, subscription)
	dst = append(dst, messageIDKey...)
	dst = appendValue(dst, v, esc, messageID)
	dst = append(dst, '\n')
	if ack != "" {
		dst = append(dst, ackKey...)
		dst = appendValue(dst, v, esc, ack)
		dst = append(dst, '\n')
	}
	return append(dst, tail...)
}
