package gateway_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/internal/gwtest"
)

// FuzzFrames writes each input as raw bytes after a valid handshake to a
// live in-process gateway, then half-closes. Properties: the process never
// panics (not even a recovered panic is allowed) or hangs; the server sends
// only well-formed frames, ending with a close frame whose code a server
// may send and whose reason is the gateway's own; the connection is finished with its close line logged; and a
// well-behaved connection opened before the fuzzing still echoes.
//
//	go test ./gateway -run '^$' -fuzz FuzzFrames -fuzztime 3m
func FuzzFrames(f *testing.F) {
	masked := true
	for _, seed := range [][]byte{
		frame(finBit|opText, masked, []byte("hello")),
		frame(finBit|opBinary, masked, []byte{0, 1, 2}),
		append(frame(opText, masked, []byte("frag")), frame(finBit|opContinuation, masked, []byte("ment"))...),
		frame(finBit|opPing, masked, []byte("p")),
		frame(finBit|opClose, masked, []byte{0x03, 0xe8, 'b', 'y', 'e'}),
		frame(finBit|opClose, masked, []byte{0x03}),
		frame(finBit|opText, !masked, []byte("unmasked")),
		frame(finBit|opText, masked, []byte{0xff}),
		frame(finBit|rsv1|opText, masked, []byte("x")),
		frame(finBit|0xB, masked, nil),
		frameHeader(finBit|opBinary, masked, 1<<63),
		frameHeader(finBit|opBinary, masked, 1<<40),
		frameHeader(finBit|opText, masked, 2000),
		append(frameHeader(finBit|opText, !masked, 3), 'a'),
		bytes.Repeat(frame(opContinuation, masked, []byte("xx")), 3),
	} {
		f.Add(seed)
	}

	sink := &fuzzSink{closed: make(chan fuzzClose, 64)}
	srv := gwtest.New(f, gwtest.Options{
		Scripts:  map[string]string{"/x": idScript},
		Limits:   gateway.Limits{MaxMessageBytes: 1024, CloseTimeout: 200 * time.Millisecond},
		PoolSize: 4,
		Logger:   slog.New(sink),
	}).Srv
	ctx := context.Background()
	well, _, err := websocket.Dial(ctx, "ws"+srv.URL[len("http"):]+"/x", nil)
	if err != nil {
		f.Fatal(err)
	}
	if _, _, err := well.Read(ctx); err != nil { // its socket_id
		f.Fatal(err)
	}
	var round atomic.Int64

	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := dialRaw(srv.Listener.Addr().String(), "/x", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer r.c.Close()
		_ = r.c.SetDeadline(time.Now().Add(gwtest.WaitFor))
		op, idBytes, err := r.readFrame()
		if err != nil || op != opText {
			t.Fatalf("greeting: op %d, %v", op, err)
		}
		id := string(idBytes)
		if _, err := r.c.Write(data); err != nil && !isReset(err) {
			t.Fatalf("write: %v", err)
		}
		_ = r.c.(*net.TCPConn).CloseWrite()

		closed := false
		for {
			op, payload, err := r.readFrame()
			if errors.Is(err, io.EOF) || isReset(err) {
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the server neither closed nor ended the connection within %v", gwtest.WaitFor)
			}
			if err != nil {
				t.Fatalf("the server sent a malformed frame: %v", err)
			}
			if closed {
				t.Fatalf("the server sent a frame (op %d) after its close frame", op)
			}
			switch op {
			case opText, opBinary, opPing, opPong:
			case opClose:
				closed = true
				if len(payload) >= 2 {
					if code := int(binary.BigEndian.Uint16(payload)); !serverMaySend(code) {
						t.Fatalf("the server closed with code %d, which no endpoint may send", code)
					}
					if reason := string(payload[2:]); !utf8.ValidString(reason) || strings.Contains(reason, "gws") {
						t.Fatalf("close reason %q: want the gateway's own words, in UTF-8", reason)
					}
				}
			default:
				t.Fatalf("the server sent opcode %d", op)
			}
		}
		// The gateway finished the connection: its close line is logged.
		for {
			select {
			case c := <-sink.closed:
				if c.id != id {
					continue // an earlier connection, finished late
				}
				if c.code < 1000 || c.code >= 5000 {
					t.Fatalf("connection finished with code %d", c.code)
				}
			case <-time.After(gwtest.WaitFor):
				t.Fatalf("connection %s was never finished", id)
			}
			break
		}
		if p := sink.panics.Load(); p > 0 {
			t.Fatalf("%d panics recovered: %s", p, sink.lastPanic.Load())
		}
		msg := fmt.Sprint("ping ", round.Add(1))
		ctx, cancel := context.WithTimeout(context.Background(), gwtest.WaitFor)
		defer cancel()
		if err := well.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatalf("the well-behaved connection: %v", err)
		}
		if _, got, err := well.Read(ctx); err != nil || string(got) != msg {
			t.Fatalf("the well-behaved connection answered %q, %v", got, err)
		}
	})
}

const opPong = 0xA

// serverMaySend reports whether a server may put code in a close frame
// (RFC 6455 §7.4: not 1004-1006 or 1015, nothing under 1000 or from 5000).
func serverMaySend(code int) bool {
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)
}

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && !oe.Timeout()
}

type fuzzClose struct {
	id   string
	code int64
}

// fuzzSink is a slog handler that keeps nothing but the signals the fuzz
// target needs, so that millions of connections cost no memory.
type fuzzSink struct {
	closed    chan fuzzClose
	panics    atomic.Int64
	lastPanic atomic.Value
}

func (s *fuzzSink) Enabled(context.Context, slog.Level) bool { return true }
func (s *fuzzSink) WithAttrs([]slog.Attr) slog.Handler       { return s }
func (s *fuzzSink) WithGroup(string) slog.Handler            { return s }
func (s *fuzzSink) Handle(_ context.Context, r slog.Record) error {
	switch r.Message {
	case "connection closed":
		var c fuzzClose
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "socket_id":
				c.id = a.Value.String()
			case "code":
				c.code = a.Value.Int64()
			}
			return true
		})
		select {
		case s.closed <- c:
		default: // nobody is waiting for it
		}
	case "panic recovered", "gws":
		s.panics.Add(1)
		var detail string
		r.Attrs(func(a slog.Attr) bool { detail += a.Key + "=" + a.Value.String() + " "; return true })
		s.lastPanic.Store(detail)
	}
	return nil
}
