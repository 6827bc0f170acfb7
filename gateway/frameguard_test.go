package gateway

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// testKey masks the frames of these tests, so that unmasking is seen to work.
var testKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// guardFrame encodes a masked client frame claiming length, first being
// FIN, RSV and opcode; payload is given in the clear.
func guardFrame(first byte, length uint64, payload []byte) []byte {
	h := []byte{first, 0x80}
	switch {
	case length < 126:
		h[1] |= byte(length)
	case length <= 0xffff:
		h[1] |= 126
		h = binary.BigEndian.AppendUint16(h, uint16(length))
	default:
		h[1] |= 127
		h = binary.BigEndian.AppendUint64(h, length)
	}
	h = append(h, testKey[:]...)
	masked := bytes.Clone(payload)
	maskXOR(masked, testKey, 0)
	return append(h, masked...)
}

func whole(first byte, payload string) []byte {
	return guardFrame(first, uint64(len(payload)), []byte(payload))
}

// feedGuard scans stream in chunks of size chunk as Read would, flushing at
// each close frame, and returns the bytes gws would get and the fault.
func feedGuard(stream []byte, chunk int) ([]byte, *closeFault) {
	g := &frameGuard{max: 1024}
	var out []byte
	for i := 0; i < len(stream); {
		b := stream[i:min(i+chunk, len(stream))]
		k := g.scan(b)
		out = append(out, b[:k]...)
		i += k
		if g.fault != nil {
			return out, g.fault
		}
		if k < len(b) {
			g.flushed = true
		}
	}
	return out, nil
}

// TestFrameGuardPassesValidFrames: valid frames reach gws whole, in any
// chunking; text and close payloads arrive unmasked under a zero key,
// the others as the client sent them.
func TestFrameGuardPassesValidFrames(t *testing.T) {
	var stream, want []byte
	add := func(f []byte, unmaskedByGuard bool) {
		stream = append(stream, f...)
		if unmaskedByGuard {
			f = bytes.Clone(f)
			at := bytes.Index(f, testKey[:])
			copy(f[at:], []byte{0, 0, 0, 0})
			maskXOR(f[at+4:], testKey, 0)
		}
		want = append(want, f...)
	}
	add(whole(0x81, "hello"), true)
	add(whole(0x89, "ping"), false)
	add(whole(0x82, string(bytes.Repeat([]byte{0xff}, 300))), false)
	add(whole(0x01, "caf\xc3"), true)
	add(whole(0x8a, "pong inside a fragmented message"), false)
	add(whole(0x00, "\xa9 \xf0\x9f"), true)
	add(whole(0x80, "\x98\x80"), true)
	add(whole(0x02, "bin"), false)
	add(whole(0x80, "ary"), false)
	add(whole(0x81, ""), true)
	add(whole(0x81, string(bytes.Repeat([]byte("é"), 500))), true)
	add(whole(0x88, "\x03\xe8bye \xe2\x9c\x93"), true)

	for _, chunk := range []int{1, 2, 3, 7, 13, 4096} {
		got, fault := feedGuard(bytes.Clone(stream), chunk)
		if fault != nil {
			t.Fatalf("chunk %d: fault %d %q on valid frames", chunk, fault.code, fault.reason)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("chunk %d: gws would get\n%x\nwant\n%x", chunk, got, want)
		}
	}
}

// TestFrameGuardFaults: a bad frame is refused with its code, and gws gets
// exactly the frames before it, in any chunking.
func TestFrameGuardFaults(t *testing.T) {
	ok := whole(0x81, "fine")
	tests := []struct {
		name   string
		bad    []byte
		code   int
		reason string
	}{
		{"frame over max", guardFrame(0x82, 1025, nil), 1009, "message too large: over 1024 bytes"},
		{"length with the top bit set", guardFrame(0x82, 1<<63, nil), 1009, "message too large: over 1024 bytes"},
		{"largest length", guardFrame(0x80, 1<<64-1, nil), 1009, "message too large: over 1024 bytes"},
		{"fragments over max", append(whole(0x02, string(make([]byte, 1000))), whole(0x80, string(make([]byte, 25)))...), 1009, "message too large: over 1024 bytes"},
		{"RSV1", whole(0xc1, "x"), 1002, "protocol error: reserved bits set"},
		{"RSV3", whole(0x92, "x"), 1002, "protocol error: reserved bits set"},
		{"unmasked", []byte{0x81, 0x01, 'x'}, 1002, "protocol error: unmasked client frame"},
		{"opcode 3", whole(0x83, ""), 1002, "protocol error: reserved opcode 3"},
		{"opcode 0xB", whole(0x8b, ""), 1002, "protocol error: reserved opcode 11"},
		{"fragmented ping", whole(0x09, ""), 1002, "protocol error: fragmented control frame"},
		{"long ping", whole(0x89, string(make([]byte, 126))), 1002, "protocol error: control frame over 125 bytes"},
		{"stray continuation", whole(0x80, "x"), 1002, "protocol error: continuation frame without a message to continue"},
		{"new message in a fragmented one", append(whole(0x01, "a"), whole(0x81, "b")...), 1002, "protocol error: new message inside a fragmented one"},
		{"1-byte close", whole(0x88, "\x03"), 1002, "protocol error: close frame with a 1-byte payload"},
		{"close code 1005", whole(0x88, "\x03\xed"), 1002, "protocol error: invalid close code 1005"},
		{"close code 5000", whole(0x88, "\x13\x88"), 1002, "protocol error: invalid close code 5000"},
		{"close reason not UTF-8", whole(0x88, "\x03\xe8\xc3"), 1007, "invalid UTF-8 in the close reason"},
		{"invalid text", whole(0x81, "ok \xff"), 1007, "invalid UTF-8 in a text message"},
		{"text ending mid-sequence", whole(0x81, "ok \xe2\x82"), 1007, "invalid UTF-8 in a text message"},
		{"invalid middle fragment", append(whole(0x01, "a"), whole(0x00, "\xc0\xaf")...), 1007, "invalid UTF-8 in a text message"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The last fragment of a message that fails early never arrives.
			stream := append(bytes.Clone(ok), tc.bad...)
			for _, chunk := range []int{1, 2, 5, 4096} {
				got, fault := feedGuard(bytes.Clone(stream), chunk)
				if fault == nil || fault.code != tc.code || fault.reason != tc.reason {
					t.Fatalf("chunk %d: fault %+v, want %d %q", chunk, fault, tc.code, tc.reason)
				}
				if len(got) < len(ok) || !bytes.Equal(got[:2], ok[:2]) {
					t.Fatalf("chunk %d: gws would get %x: want the valid frame before the bad one", chunk, got)
				}
				if end := bytes.Index(stream, tc.bad); len(got) > end+len(tc.bad) {
					t.Fatalf("chunk %d: gws would get bytes past the bad frame", chunk)
				}
			}
		})
	}
}

// TestFrameGuardFailsTextAtTheSpoilingFragment: gws never gets the
// fragment that makes a text message invalid, even when the message goes on.
func TestFrameGuardFailsTextAtTheSpoilingFragment(t *testing.T) {
	first := whole(0x01, "ab\xe2")
	spoiler := whole(0x00, "\x82x")
	stream := append(append(bytes.Clone(first), spoiler...), whole(0x80, "\xac")...)
	got, fault := feedGuard(stream, 4096)
	if fault == nil || fault.code != 1007 {
		t.Fatalf("fault %+v, want 1007", fault)
	}
	if len(got) != len(first) {
		t.Fatalf("gws would get %d bytes, want the %d of the first fragment", len(got), len(first))
	}
}

// TestFrameGuardHoldsCloseFrames: the guard stops at a close frame until
// the writer was flushed, then lets it through.
func TestFrameGuardHoldsCloseFrames(t *testing.T) {
	msg := whole(0x81, "x")
	stream := append(bytes.Clone(msg), whole(0x88, "\x03\xe8")...)
	g := &frameGuard{max: 1024}
	if k := g.scan(stream); k != len(msg) || g.fault != nil {
		t.Fatalf("scan = %d (fault %v), want %d: stop at the close frame", k, g.fault, len(msg))
	}
	if k := g.scan(stream[len(msg):]); k != 0 {
		t.Fatalf("scan of the close frame = %d before the flush, want 0", k)
	}
	g.flushed = true
	if k := g.scan(stream[len(msg):]); k != len(stream)-len(msg) || g.fault != nil {
		t.Fatalf("scan after the flush = %d (fault %v), want the whole close frame", k, g.fault)
	}
}

// TestUTF8Stream checks the incremental validator against the standard
// library over every split of a set of texts: a whole text is valid exactly
// when utf8.Valid says so, and a piece fails exactly when the text up to it
// can no longer be completed into valid UTF-8.
func TestUTF8Stream(t *testing.T) {
	texts := []string{
		"", "plain", "é", "€", "😀", "a€b😀c", "\xc3", "\xe2\x82", "\xf0\x9f\x98",
		"\xff", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5",
		"ok\xed\x9f\xbf", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", "\x80", "a\xe2\x82b",
		"κόσμε\xce", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
	}
	for _, text := range texts {
		for cut1 := 0; cut1 <= len(text); cut1++ {
			for cut2 := cut1; cut2 <= len(text); cut2++ {
				pieces := []string{text[:cut1], text[cut1:cut2], text[cut2:]}
				var s utf8Stream
				fed, failed := "", false
				for _, p := range pieces {
					fed += p
					if !s.feed([]byte(p)) {
						if completable(fed) {
							t.Fatalf("%q split %d/%d: failed at %q, which can still be completed", text, cut1, cut2, fed)
						}
						failed = true
						break
					}
					if !completable(fed) {
						t.Fatalf("%q split %d/%d: %q accepted, but no text starts so", text, cut1, cut2, fed)
					}
				}
				if !failed && s.complete() != utf8.ValidString(text) {
					t.Fatalf("%q split %d/%d: complete = %v, utf8.Valid = %v", text, cut1, cut2, s.complete(), utf8.ValidString(text))
				}
			}
		}
	}
}

// FuzzUTF8Stream: however a text is split, the validator agrees with
// utf8.Valid on the whole, and fails a piece exactly when the text up to it
// can no longer be completed.
//
//	go test ./gateway -run '^$' -fuzz FuzzUTF8Stream -fuzztime 1m
func FuzzUTF8Stream(f *testing.F) {
	f.Add([]byte("a€b😀c"), uint8(2), uint8(5))
	f.Add([]byte("\xed\xa0\x80"), uint8(1), uint8(1))
	f.Add([]byte("\xf4\x90\x80\x80"), uint8(2), uint8(3))
	f.Fuzz(func(t *testing.T, text []byte, cut1, cut2 uint8) {
		a := min(int(cut1), len(text))
		b := max(a, min(int(cut2), len(text)))
		var s utf8Stream
		fed := ""
		for _, p := range [][]byte{text[:a], text[a:b], text[b:]} {
			fed += string(p)
			if !s.feed(p) {
				if completable(fed) {
					t.Fatalf("failed at %q, which can still be completed", fed)
				}
				return
			}
			if !completable(fed) {
				t.Fatalf("%q accepted, but no text starts so", fed)
			}
		}
		if s.complete() != utf8.Valid(text) {
			t.Fatalf("%q: complete = %v, utf8.Valid = %v", text, s.complete(), utf8.Valid(text))
		}
	})
}

// completable reports whether some bytes appended to s make valid UTF-8.
func completable(s string) bool {
	if utf8.ValidString(s) {
		return true
	}
	for _, tail := range []string{"\x80", "\x90", "\xa0", "\xbf", "\x8f"} {
		for n := 1; n <= 3; n++ {
			for _, filler := range []string{"\x80", "\xbf"} {
				if utf8.ValidString(s + tail + strings.Repeat(filler, n-1)) {
					return true
				}
			}
		}
	}
	return false
}

// BenchmarkFrameGuard measures what the guard adds to every read: a 4 KiB
// read of small frames (the header-heavy case) and of one large frame, of
// binary frames (headers only) and of text (unmasked and checked here).
//
//	go test ./gateway -run '^$' -bench BenchmarkFrameGuard
func BenchmarkFrameGuard(b *testing.B) {
	for _, first := range []byte{0x82, 0x81} {
		for _, size := range []int{16, 100, 64 << 10} {
			var stream []byte
			for len(stream) < 4096 {
				stream = append(stream, guardFrame(first, uint64(size), bytes.Repeat([]byte("x"), size))...)
			}
			stream = stream[:4096]
			name := map[byte]string{0x81: "text", 0x82: "binary"}[first]
			b.Run(fmt.Sprintf("%s_frames_of_%dB", name, size), func(b *testing.B) {
				b.SetBytes(int64(len(stream)))
				buf := make([]byte, len(stream))
				for b.Loop() {
					if first == 0x81 { // the guard unmasks text in place
						copy(buf, stream)
					} else {
						buf = stream
					}
					g := frameGuard{max: 1 << 20}
					g.scan(buf)
				}
			})
		}
	}
}
