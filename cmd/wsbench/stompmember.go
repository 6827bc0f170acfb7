package main

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/lxzan/gws"
	"github.com/wsgw/wsgw/stomp"
)

// STOMP members (fanout --stomp) speak STOMP 1.2 over WebSocket as stock
// clients do: they ask for the v12.stomp subprotocol (a server that names
// none fails the handshake, "no_subprotocol"), send CONNECT once the upgrade
// is done, SUBSCRIBE to the group once CONNECTED arrives, and are in the
// group when the RECEIPT of that SUBSCRIBE comes back. Each publish then
// arrives as a MESSAGE frame of the subscription whose body is the publish.
// They neither send nor expect heart-beats (heart-beat:0,0).
const (
	stompSubprotocol = "v12.stomp"
	stompSubID       = "0"
	stompReceipt     = "subscribed"
)

// stompHeader is the upgrade header of a STOMP member.
func stompHeader() http.Header {
	h := http.Header{}
	h.Set("Sec-WebSocket-Protocol", stompSubprotocol) // canonical key: gws checks the answer against h.Get
	return h
}

// stompConnect sends CONNECT on a member's new connection.
func (ms *memberSet) stompConnect(c *client) {
	host := "localhost"
	if u, err := url.Parse(ms.r.targets[c.id%int64(len(ms.r.targets))].URL); err == nil {
		host = u.Hostname()
	}
	ms.stompSend(c, &stomp.Frame{Command: stomp.CmdConnect, Headers: []stomp.Header{
		{Key: "accept-version", Value: "1.2"}, {Key: "host", Value: host}, {Key: "heart-beat", Value: "0,0"},
	}})
}

// stompSend writes one frame as one text message.
func (ms *memberSet) stompSend(c *client, f *stomp.Frame) {
	if err := c.conn.WriteMessage(gws.OpcodeText, stomp.Append(nil, stomp.V12, f)); err != nil && !ms.f.closing.Load() {
		ms.r.ctr.errors.Add(1)
		ms.f.errs.add("write_"+classify(err, nil), fmt.Errorf("send %s on connection %d: %w", f.Command, c.id, err))
	}
}

// onSTOMP handles the frames of one message to a STOMP member.
func (ms *memberSet) onSTOMP(c *client, data []byte, at time.Time) {
	m := ms.member(c)
	for f, err := range m.stomp.Frames(data) {
		if err != nil {
			ms.r.ctr.errors.Add(1)
			ms.f.errs.add("stomp_bad_frame", fmt.Errorf("connection %d: %w", c.id, err))
			return
		}
		switch f.Command {
		case stomp.CmdMessage:
			if f.Get("subscription") == stompSubID {
				if seq, ts, ok := parsePub(f.Body); ok {
					ms.deliver(m, seq, ts, at)
					continue
				}
			}
			ms.unrelated.Add(1)
		case stomp.CmdConnected:
			v, err := stomp.NegotiateVersion(f.Get("version"))
			if err != nil {
				ms.r.ctr.errors.Add(1)
				ms.f.errs.add("stomp_bad_frame", fmt.Errorf("connection %d: CONNECTED: %w", c.id, err))
				return
			}
			m.stomp.Version = v
			ms.stompSend(c, &stomp.Frame{Command: stomp.CmdSubscribe, Headers: []stomp.Header{
				{Key: "id", Value: stompSubID}, {Key: "destination", Value: ms.r.cfg.Group},
				{Key: "ack", Value: "auto"}, {Key: "receipt", Value: stompReceipt},
			}})
		case stomp.CmdReceipt:
			if f.Get("receipt-id") == stompReceipt {
				ms.setReady(m)
				continue
			}
			ms.unrelated.Add(1)
		case stomp.CmdError:
			ms.r.ctr.errors.Add(1)
			ms.f.errs.add("stomp_error", fmt.Errorf("connection %d: ERROR frame: %s", c.id, f.Get("message")))
		default:
			ms.unrelated.Add(1)
		}
	}
}
