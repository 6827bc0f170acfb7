package gateway_test

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/internal/gwtest"
)

// bystander opens a well-behaved connection on an idScript endpoint and
// returns a check that it still echoes: abuse of one connection must never
// reach another.
func bystander(t testing.TB, h *gwtest.Harness, path string) func() {
	t.Helper()
	c := h.Dial(path, nil)
	c.ReadText() // its socket_id
	n := 0
	return func() {
		t.Helper()
		n++
		msg := fmt.Sprint("still here ", n)
		c.Send(msg)
		if got := c.ReadText(); got != msg {
			t.Fatalf("the well-behaved connection answered %q, want %q", got, msg)
		}
	}
}

// TestProtocolAbuse writes what RFC 6455 forbids on a raw socket and checks
// the exact close code, the close event, and a bystander connection.
func TestProtocolAbuse(t *testing.T) {
	masked := true
	payload := bytes.Repeat([]byte("x"), 600)
	// A text message continued in 100-byte fragments until it passes 1024 bytes.
	many := frame(opText, masked, payload[:100])
	for range 10 {
		many = append(many, frame(opContinuation, masked, payload[:100])...)
	}
	tests := []struct {
		name  string
		bytes []byte
		code  int
	}{
		{"invalid UTF-8 in a text frame", frame(finBit|opText, masked, []byte("ok \xff\xfe")), 1007},
		{"invalid UTF-8 across fragments", append(frame(opText, masked, []byte("a\xe2\x82")), frame(finBit|opContinuation, masked, []byte("\xff"))...), 1007},
		{"unmasked client frame", frame(finBit|opText, !masked, []byte("hi")), 1002},
		{"reserved data opcode 3", frame(finBit|0x3, masked, []byte("hi")), 1002},
		{"reserved data opcode 7", frame(finBit|0x7, masked, nil), 1002},
		{"reserved control opcode 0xB", frame(finBit|0xB, masked, nil), 1002},
		{"reserved control opcode 0xF", frame(finBit|0xF, masked, []byte("hi")), 1002},
		{"RSV1 without an extension", frame(finBit|rsv1|opText, masked, []byte("hi")), 1002},
		{"RSV2", frame(finBit|rsv2|opBinary, masked, []byte("hi")), 1002},
		{"RSV3", frame(finBit|rsv3|opText, masked, []byte("hi")), 1002},
		{"fragmented control frame", frame(opPing, masked, nil), 1002},
		{"control frame over 125 bytes", frame(finBit|opPing, masked, payload[:126]), 1002},
		{"continuation without a start", frame(finBit|opContinuation, masked, []byte("hi")), 1002},
		{"new message inside a fragmented one", append(frame(opText, masked, []byte("a")), frame(finBit|opText, masked, []byte("b"))...), 1002},
		{"frame over max_message_bytes", frame(finBit|opBinary, masked, make([]byte, 1025)), 1009},
		{"fragments over max_message_bytes in total", append(frame(opText, masked, payload), frame(finBit|opContinuation, masked, payload)...), 1009},
		{"many small fragments over the limit", many, 1009},
		{"close frame with a 1-byte payload", frame(finBit|opClose, masked, []byte{0x03}), 1002},
		{"close code 1005, which is never sent", frame(finBit|opClose, masked, []byte{0x03, 0xed}), 1002},
		{"close code 999", frame(finBit|opClose, masked, []byte{0x03, 0xe7}), 1002},
		{"close code 5000", frame(finBit|opClose, masked, []byte{0x13, 0x88}), 1002},
		{"close reason not UTF-8", frame(finBit|opClose, masked, []byte{0x03, 0xe8, 0xff}), 1007},
	}

	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/x": idScript},
		Limits:  gateway.Limits{MaxMessageBytes: 1024},
	})
	check := bystander(t, h, "/x")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rawDial(t, h, "/x")
			id := readRawText(t, r)
			r.write(tc.bytes)
			code, reason := r.expectClose()
			if code != tc.code {
				t.Fatalf("closed with %d %q, want %d", code, reason, tc.code)
			}
			if line := h.ClosedLine(id); line["code"] != int64(tc.code) {
				t.Fatalf("logged close code %v, want %d", line["code"], tc.code)
			}
			closeEvent := gwtest.ScriptLine(id, "close", "")
			ev := h.Logs.Wait(t, "close event", closeEvent)
			if msg, want := fmt.Sprint(ev["msg"]), fmt.Sprintf("closed %d %s", tc.code, reason); msg != want {
				t.Fatalf("the close event saw %q, the client %q: want the same code and reason", msg, want)
			}
			if reason == "" || strings.Contains(reason, "gws") {
				t.Fatalf("close reason %q: want the gateway's own words", reason)
			}
			check()
		})
	}
}

// TestHugeFrameLengthAnswered1009 claims payloads no one could allocate,
// including lengths with the most significant bit set, which the frame
// library would read as a negative int.
func TestHugeFrameLengthAnswered1009(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{"/x": idScript}})
	check := bystander(t, h, "/x")
	for _, length := range []uint64{1 << 63, 1<<64 - 1, 1<<63 + 1<<62, 1 << 62, 1 << 40, 64<<10 + 1} {
		for _, op := range []byte{opBinary, opText, opContinuation, opPing} {
			t.Run(fmt.Sprintf("%#x/op%d", length, op), func(t *testing.T) {
				r := rawDial(t, h, "/x")
				id := readRawText(t, r)
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				r.write(frameHeader(finBit|op, true, length))
				code, _ := r.expectClose()
				h.ClosedLine(id)
				runtime.ReadMemStats(&after)
				if code != 1009 {
					t.Fatalf("closed with %d, want 1009", code)
				}
				if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
					t.Fatalf("the gateway allocated %d bytes answering a %d-byte claim", grew, length)
				}
				if n := h.Logs.Count(func(r map[string]any) bool { return r["level"] == "ERROR" && r["socket_id"] == id }); n > 0 {
					t.Fatalf("%d error lines logged: the frame was not refused cleanly", n)
				}
				check()
			})
		}
	}
}

// readRawText reads a text frame from the server.
func readRawText(t testing.TB, r *rawConn) string {
	t.Helper()
	op, p, err := r.readFrame()
	if err != nil || op != opText {
		t.Fatalf("read: op %d, err %v", op, err)
	}
	return string(p)
}

// TestFrameSentWithTheHandshake sends the first frame in the same write as
// the upgrade request, before the 101: net/http has read it ahead, and it
// must still reach the script.
func TestFrameSentWithTheHandshake(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{"/x": idScript}})
	r, err := dialRaw(h.Srv.Listener.Addr().String(), "/x", frame(finBit|opText, true, []byte("early")))
	if err != nil {
		t.Fatal(err)
	}
	r.t = t
	defer r.c.Close()
	readRawText(t, r) // socket_id
	if got := readRawText(t, r); got != "early" {
		t.Fatalf("echo = %q, want the frame sent with the handshake", got)
	}
}

// TestRepliesBeforeFailClose sends a valid message and, in the same write,
// a frame that ends the connection: the reply to the message must reach the
// client before the close frame.
func TestRepliesBeforeFailClose(t *testing.T) {
	masked := true
	tests := []struct {
		name string
		bad  []byte
		code int
	}{
		{"RSV1", frame(finBit|rsv1|opText, masked, []byte("x")), 1002},
		{"reserved opcode", frame(finBit|0x3, masked, nil), 1002},
		{"reserved control opcode", frame(finBit|0xB, masked, nil), 1002},
		{"stray continuation", frame(finBit|opContinuation, masked, []byte("x")), 1002},
		{"unmasked frame", frame(finBit|opText, !masked, []byte("x")), 1002},
		{"invalid close code", frame(finBit|opClose, masked, []byte{0x03, 0xe7}), 1002},
		{"invalid UTF-8", frame(finBit|opText, masked, []byte{0xff}), 1007},
		{"too large", frameHeader(finBit|opBinary, masked, 1<<20), 1009},
		{"client close", frame(finBit|opClose, masked, []byte{0x0f, 0xa0}), 4000},
	}
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/x": idScript},
		Limits:  gateway.Limits{MaxMessageBytes: 1024},
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i := range 20 { // the race it guards against is lost one time in a few
				r := rawDial(t, h, "/x")
				readRawText(t, r)
				msg := fmt.Sprint("reply ", i)
				r.write(append(frame(finBit|opText, masked, []byte(msg)), tc.bad...))
				_ = r.c.SetReadDeadline(time.Now().Add(gwtest.WaitFor))
				op, p, err := r.readFrame()
				if err != nil || op != opText || string(p) != msg {
					t.Fatalf("round %d: first frame op %d %q (%v), want the reply %q before the close", i, op, p, err, msg)
				}
				if code, reason := r.expectClose(); code != tc.code {
					t.Fatalf("closed with %d %q, want %d", code, reason, tc.code)
				}
			}
		})
	}
}

// TestFragmentedTextFailsAtTheBadFragment: a text message in fragments is
// failed with 1007 at the fragment that makes it invalid, before the last
// fragment comes; a sequence split between fragments is valid.
func TestFragmentedTextFailsAtTheBadFragment(t *testing.T) {
	masked := true
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{"/x": idScript}})
	check := bystander(t, h, "/x")
	bad := []struct {
		name      string
		fragments [][]byte // none of them final
	}{
		{"invalid byte in a middle fragment", [][]byte{[]byte("ab"), []byte("c\xff"), []byte("d")}},
		{"truncated sequence then ASCII", [][]byte{[]byte("a\xe2\x82"), []byte("b")}},
		{"code point above U+10FFFF at the end of a fragment", [][]byte{[]byte("a\xf4\x90")}},
		{"surrogate at the end of a fragment", [][]byte{[]byte("a\xed\xa0")}},
		{"overlong encoding split between fragments", [][]byte{[]byte("a\xe0"), []byte("\x80")}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r := rawDial(t, h, "/x")
			id := readRawText(t, r)
			op := byte(opText)
			for _, f := range tc.fragments {
				r.write(frame(op, masked, f))
				op = opContinuation
			}
			// No final fragment: the close must come from what was sent.
			if code, reason := r.expectClose(); code != 1007 {
				t.Fatalf("closed with %d %q, want 1007", code, reason)
			}
			h.ClosedLine(id)
			check()
		})
	}
	good := []struct {
		fragments []string
		want      string
	}{
		{[]string{"a\xe2\x82", "\xacb"}, "a€b"},
		{[]string{"\xf0", "\x9f\x98", "\x80"}, "😀"},
		{[]string{"", "x", ""}, "x"},
	}
	for _, tc := range good {
		t.Run(fmt.Sprintf("valid %q", tc.want), func(t *testing.T) {
			r := rawDial(t, h, "/x")
			readRawText(t, r)
			var b []byte
			for i, f := range tc.fragments {
				first := byte(opContinuation)
				if i == 0 {
					first = opText
				}
				if i == len(tc.fragments)-1 {
					first |= finBit
				}
				b = append(b, frame(first, masked, []byte(f))...)
			}
			r.write(b)
			if got := readRawText(t, r); got != tc.want {
				t.Fatalf("echo %q, want %q", got, tc.want)
			}
		})
	}
}

// TestCloseSentWithTheHandshake: a message and a close frame sent with the
// upgrade request (read ahead by net/http) get the echo before the close.
func TestCloseSentWithTheHandshake(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{"/x": idScript}})
	early := append(frame(finBit|opText, true, []byte("early")), frame(finBit|opClose, true, []byte{0x0f, 0xa1, 'b', 'y', 'e'})...)
	r, err := dialRaw(h.Srv.Listener.Addr().String(), "/x", early)
	if err != nil {
		t.Fatal(err)
	}
	r.t = t
	defer r.c.Close()
	id := readRawText(t, r)
	if got := readRawText(t, r); got != "early" {
		t.Fatalf("echo = %q, want the message before the close", got)
	}
	if code, _ := r.expectClose(); code != 4001 {
		t.Fatalf("close %d, want the client's 4001 echoed", code)
	}
	h.Logs.Wait(t, "close event", gwtest.ScriptLine(id, "close", "closed 4001 bye"))
}

// TestBigReplyBeforeFailWhileClientSends: the client is still sending the
// payload of a frame over the limit when the gateway fails the connection.
// The large reply queued before must still arrive whole, and the close
// after it: the gateway reads on until the client closes, because closing a
// socket with unread bytes sends a reset that discards what it still had to send.
func TestBigReplyBeforeFailWhileClientSends(t *testing.T) {
	const reply = 4 << 20
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/x": `if (websocketInfo.type === "data") return "x".repeat(` + fmt.Sprint(reply) + `)`},
		Limits:  gateway.Limits{MaxMessageBytes: 64 << 10},
		Timeout: gwtest.WaitFor, // building 4 MiB under -race on a busy box may take seconds; a timeout would send no reply
	})
	junk := make([]byte, 4<<20)
	for i := range 5 {
		r := rawDial(t, h, "/x")
		go func() { // until the gateway stops reading
			_ = r.c.SetWriteDeadline(time.Now().Add(gwtest.WaitFor))
			_, _ = r.c.Write(append(frame(finBit|opText, true, []byte("go")), frameHeader(finBit|opBinary, true, uint64(len(junk)))...))
			_, _ = r.c.Write(junk)
		}()
		_ = r.c.SetReadDeadline(time.Now().Add(gwtest.WaitFor))
		op, p, err := r.readFrame()
		if err != nil || op != opText || len(p) != reply {
			t.Fatalf("round %d: op %d, %d bytes, %v: want the %d-byte reply", i, op, len(p), err, reply)
		}
		if code, _ := r.expectClose(); code != 1009 {
			t.Fatalf("round %d: close %d, want 1009", i, code)
		}
	}
}
