package gateway

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
)

// guardFrame encodes a client frame (masked with a zero key) claiming length.
func guardFrame(op byte, length uint64, payload []byte) []byte {
	h := []byte{0x80 | op, 0x80}
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
	h = append(h, 0, 0, 0, 0)
	return append(h, payload...)
}

// TestFrameGuardRewritesOnlyTopBitLengths feeds a stream of frames through
// the guard in every chunk size: ordinary frames pass unchanged, and the
// header claiming 2^63 bytes has its length lowered below 2^63, however the
// bytes are split.
func TestFrameGuardRewritesOnlyTopBitLengths(t *testing.T) {
	var stream []byte
	stream = append(stream, guardFrame(0x1, 5, []byte("hello"))...)
	stream = append(stream, guardFrame(0x9, 0, nil)...)
	stream = append(stream, guardFrame(0x2, 300, bytes.Repeat([]byte{0xff}, 300))...)
	stream = append(stream, guardFrame(0x2, 70000, bytes.Repeat([]byte{0x80}, 70000))...)
	stream = append(stream, []byte{0x81, 0x03, 'a', 'b', 'c'}...) // unmasked: no key
	clean := len(stream)
	stream = append(stream, guardFrame(0x2, 1<<63|5, nil)...)
	lengthAt := clean + 2

	for _, chunk := range []int{1, 2, 3, 7, 13, 4096, len(stream)} {
		g := &frameGuard{}
		out := bytes.Clone(stream)
		for i := 0; i < len(out); i += chunk {
			g.scan(out[i:min(i+chunk, len(out))])
		}
		if !bytes.Equal(out[:clean], stream[:clean]) {
			t.Fatalf("chunk %d: the guard changed ordinary frames", chunk)
		}
		if got := binary.BigEndian.Uint64(out[lengthAt:]); got>>63 != 0 || got <= MaxMessageBytesLimit {
			t.Fatalf("chunk %d: length rewritten to %#x, want below 2^63 and above every limit", chunk, got)
		}
		if g.state != inPayload || g.left != binary.BigEndian.Uint64(out[lengthAt:]) {
			t.Fatalf("chunk %d: state %d with %d left, want the claimed payload next", chunk, g.state, g.left)
		}
	}
}

// BenchmarkFrameGuard measures what the guard adds to every read: a 4 KiB
// read of small frames (the header-heavy case) and of one large frame.
//
//	go test ./gateway -run '^$' -bench BenchmarkFrameGuard
func BenchmarkFrameGuard(b *testing.B) {
	for _, size := range []int{16, 100, 64 << 10} {
		var stream []byte
		for len(stream) < 4096 {
			stream = append(stream, guardFrame(0x2, uint64(size), make([]byte, size))...)
		}
		stream = stream[:4096]
		b.Run(fmt.Sprintf("frames_of_%dB", size), func(b *testing.B) {
			b.SetBytes(int64(len(stream)))
			for b.Loop() {
				g := frameGuard{}
				g.scan(stream)
			}
		})
	}
}
