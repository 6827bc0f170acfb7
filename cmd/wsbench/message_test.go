package main

import "testing"

func TestMessageRoundTrip(t *testing.T) {
	tests := []struct {
		conn, seq, ts int64
		size          int
	}{
		{0, 1, 1_763_000_000_000_000_000, 64},
		{49_999, 123_456, 1, 16}, // size below the prefix: the prefix is sent whole
		{7, 7, 7, 4096},
	}
	for _, tc := range tests {
		b := appendMsg(nil, tc.conn, tc.seq, tc.ts, tc.size)
		if len(b) < tc.size {
			t.Errorf("message of %d bytes, want at least %d", len(b), tc.size)
		}
		conn, seq, ts, ok := parseMsg(b)
		if !ok || conn != tc.conn || seq != tc.seq || ts != tc.ts {
			t.Errorf("parse(%q) = %d %d %d %v", b, conn, seq, ts, ok)
		}
	}
}

func TestParseRejectsOtherMessages(t *testing.T) {
	for _, s := range []string{"Welcome", "", "wsb:", "wsb:1:2", "wsb:1:2:x:", "wsb:-1:2:3:", "wsb:1:2:99999999999999999999:", "wsbprobe:n:1"} {
		if _, _, _, ok := parseMsg([]byte(s)); ok {
			t.Errorf("parseMsg(%q) accepted", s)
		}
	}
}

func TestProbeMatchesOnlyItsNonce(t *testing.T) {
	p := probeMsg("abc-0", 42)
	if i, ok := parseProbe([]byte(p), "abc-0"); !ok || i != 42 {
		t.Fatalf("parseProbe(%q) = %d, %v", p, i, ok)
	}
	for _, nonce := range []string{"abc-1", "abc", ""} {
		if _, ok := parseProbe([]byte(p), nonce); ok {
			t.Errorf("probe %q accepted for nonce %q", p, nonce)
		}
	}
}
