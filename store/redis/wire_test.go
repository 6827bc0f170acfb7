package redis

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/wsgw/wsgw"
)

func TestWireRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		c    command
	}{
		{"text send", command{op: opSend, id: "abc", body: "hello"}},
		{"binary send", command{op: opSend, binary: true, id: "abc", body: "\x00\xff\x01"}},
		{"empty send", command{op: opSend, id: "abc"}},
		{"close", command{op: opClose, code: 4000, id: "abc", body: "bye"}},
		{"info", command{op: opInfo, req: 1 << 40, from: "node-b", id: "abc"}},
		{"closeAll", command{op: opCloseAll, req: 7, from: "node-b"}},
		{"reply", command{op: opReply, req: 7, body: `{"count":3}`}},
		{"ping", command{op: opPing}},
		{"long id", command{op: opSend, id: strings.Repeat("x", 300), body: "y"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decode(string(tc.c.encode(nil)))
			if err != nil {
				t.Fatalf("decode(encode(%+v)): %v", tc.c, err)
			}
			if got != tc.c {
				t.Fatalf("decode(encode(%+v)) = %+v", tc.c, got)
			}
		})
	}
}

func TestWireRefusesMalformed(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"one byte", "s"},
		{"unknown op", "x\x00\x00\x00\x00\x00"},
		{"unknown flag", "s\x04\x00\x00\x00\x00"},
		{"STOMP flag on a close", "c\x02\x00\x00\x00\x00"},
		{"truncated varint", "s\x00\x80"},
		{"string past the end", "s\x00\x00\x00\x05ab"},
		{"close code too big", "c\x00\x80\x80\x04\x00\x00\x00"},
		{"varint too long", "s\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if c, err := decode(tc.in); err == nil {
				t.Fatalf("decode(%q) = %+v, want an error", tc.in, c)
			}
		})
	}
}

// TestWireSTOMPAddressing: a send's destination, headers and JSON flag
// survive the wire; a plain send carries none of them; addressing that is
// cut short is refused.
func TestWireSTOMPAddressing(t *testing.T) {
	for _, m := range []*wsgw.Message{
		{Data: []byte("plain")},
		{Data: []byte{0, 1}, Binary: true, Destination: "/topic/b"},
		{Data: []byte(`{"a":1}`), JSON: true, Destination: "/topic/j", Headers: map[string]string{"k": "v", "x-y": ""}},
		{Data: nil, Headers: map[string]string{"only": "headers"}},
	} {
		c, body := sendCommand("s1", m)
		got, err := decode(string(append(c.encode(nil), body...)))
		if err != nil {
			t.Fatal(err)
		}
		back, err := got.message()
		if err != nil {
			t.Fatal(err)
		}
		if string(back.Data) != string(m.Data) || back.Binary != m.Binary || back.JSON != m.JSON ||
			back.Destination != m.Destination || !maps.Equal(back.Headers, m.Headers) {
			t.Fatalf("sent %+v, got %+v", m, back)
		}
	}
	for _, body := range []string{"", "\x02", "\x00\x05ab", "\x00\x00\x03\x01k"} {
		c := command{op: opSend, stomp: true, body: body}
		if m, err := c.message(); err == nil {
			t.Fatalf("addressing %q decoded as %+v, want an error", body, m)
		}
	}
}

// FuzzDecode feeds the inbox parser what anyone with access to Redis could
// publish: it must never panic, and what it accepts must survive a round trip.
func FuzzDecode(f *testing.F) {
	f.Add(string((&command{op: opSend, id: "abc", body: "hello"}).encode(nil)))
	f.Add(string((&command{op: opInfo, req: 9, from: "n", id: "abc"}).encode(nil)))
	f.Add("c\x00\x80\x80\x04\x00\x00\x00")
	f.Fuzz(func(t *testing.T, in string) {
		c, err := decode(in)
		if err != nil {
			return
		}
		again, err := decode(string(c.encode(nil)))
		if err != nil || again != c {
			t.Fatalf("decode(encode(%+v)) = %+v, %v", c, again, err)
		}
	})
}

func TestAcksRoundTrip(t *testing.T) {
	want := []ack{
		{req: 1},
		{req: 1 << 50, code: "not_found", message: "no socket abc"},
		{req: 300, code: "unavailable", message: strings.Repeat("m", 200)},
	}
	var body []byte
	for _, a := range want {
		body = appendAck(body, a)
	}
	c := command{op: opAcks, body: string(body)}
	got, err := decode(string(c.encode(nil)))
	if err != nil {
		t.Fatal(err)
	}
	var acks []ack
	if err := decodeAcks(got.body, func(a ack) { acks = append(acks, a) }); err != nil {
		t.Fatal(err)
	}
	if len(acks) != len(want) {
		t.Fatalf("decoded %d acks, want %d", len(acks), len(want))
	}
	for i := range want {
		if acks[i] != want[i] {
			t.Fatalf("ack %d = %+v, want %+v", i, acks[i], want[i])
		}
	}
	for _, bad := range []string{"\x80", "\x01\x05ab", string(body[:len(body)-1])} {
		if err := decodeAcks(bad, func(ack) {}); err == nil {
			t.Fatalf("decodeAcks(%q) accepted a truncated body", bad)
		}
	}
}

func TestBatchRoundTrip(t *testing.T) {
	cmds := []command{
		{op: opSend, req: 1, from: "a", id: "s1", body: "one"},
		{op: opClose, req: 2, from: "a", id: "s2", code: 4000, body: "bye"},
		{op: opInfo, req: 3, from: "a", id: "s3"},
	}
	var queued []outbound
	for _, c := range cmds {
		queued = append(queued, outbound{payload: c.encode(nil)})
	}
	n, payload := batch(queued)
	if n != len(cmds) {
		t.Fatalf("batch took %d commands, want %d", n, len(cmds))
	}
	c, err := decode(string(payload))
	if err != nil || c.op != opBatch {
		t.Fatalf("decode(batch) = %+v, %v", c, err)
	}
	var got []command
	if err := decodeBatch(c.body, func(c command) { got = append(got, c) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(cmds) {
		t.Fatalf("decoded %d commands, want %d", len(got), len(cmds))
	}
	for i := range cmds {
		if got[i] != cmds[i] {
			t.Fatalf("command %d = %+v, want %+v", i, got[i], cmds[i])
		}
	}
	nested := (&command{op: opBatch}).encode(nil)
	nested = appendBatched(nested, payload)
	outer, err := decode(string(nested))
	if err != nil {
		t.Fatal(err)
	}
	if err := decodeBatch(outer.body, func(command) {}); err == nil {
		t.Fatal("a batch inside a batch was accepted")
	}
}

func TestBatchSize(t *testing.T) {
	small := outbound{payload: []byte(strings.Repeat("s", 1000))}
	big := outbound{payload: []byte(strings.Repeat("b", maxBatchBody))}
	tests := []struct {
		name   string
		queued []outbound
		want   int
	}{
		{"one command goes as it is", []outbound{small}, 1},
		{"a big command goes alone", []outbound{big, small}, 1},
		{"small ones fill a batch", slices.Repeat([]outbound{small}, 100), maxBatchBody / (1000 + 10)},
		{"a batch stops before a big one", []outbound{small, small, big}, 2},
	}
	for _, tc := range tests {
		n, payload := batch(tc.queued)
		if n != tc.want {
			t.Fatalf("%s: batch took %d, want %d", tc.name, n, tc.want)
		}
		if n == 1 && string(payload) != string(tc.queued[0].payload) {
			t.Fatalf("%s: a lone command was rewritten", tc.name)
		}
		if n > 1 && len(payload) > maxBatchBody+16 {
			t.Fatalf("%s: batch of %d bytes", tc.name, len(payload))
		}
	}
}
