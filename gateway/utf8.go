package gateway

import "unicode/utf8"

// utf8Stream validates UTF-8 text that arrives in pieces, as the fragments
// of a WebSocket text message do: a sequence may be split between pieces,
// and feed fails at the first piece holding a byte that no valid text could
// have there, so a message is refused at the fragment that spoils it rather
// than at its last one. Its zero value is at the start of a text.
type utf8Stream struct {
	need   uint8 // continuation bytes still to come in the current sequence
	lo, hi byte  // the range the next one must be in
}

// feed validates p as the next piece of the text.
func (s *utf8Stream) feed(p []byte) bool {
	for len(p) > 0 {
		if s.need > 0 {
			if c := p[0]; c < s.lo || c > s.hi {
				return false
			}
			s.need--
			s.lo, s.hi = 0x80, 0xbf
			p = p[1:]
			continue
		}
		// Whole sequences go to the standard library's fast check; a
		// sequence cut off at the end is followed byte by byte.
		whole := len(p) - openTail(p)
		if !utf8.Valid(p[:whole]) {
			return false
		}
		if whole == len(p) {
			return true
		}
		if !s.lead(p[whole]) {
			return false
		}
		p = p[whole+1:]
	}
	return true
}

// complete reports whether the text fed so far ends on a whole character.
func (s *utf8Stream) complete() bool { return s.need == 0 }

// lead starts a multi-byte sequence at c, with the ranges of RFC 3629 §4:
// no overlong forms, no surrogates, nothing above U+10FFFF.
func (s *utf8Stream) lead(c byte) bool {
	switch {
	case c >= 0xc2 && c <= 0xdf:
		s.need, s.lo, s.hi = 1, 0x80, 0xbf
	case c == 0xe0:
		s.need, s.lo, s.hi = 2, 0xa0, 0xbf
	case c == 0xed:
		s.need, s.lo, s.hi = 2, 0x80, 0x9f
	case c >= 0xe1 && c <= 0xef:
		s.need, s.lo, s.hi = 2, 0x80, 0xbf
	case c == 0xf0:
		s.need, s.lo, s.hi = 3, 0x90, 0xbf
	case c >= 0xf1 && c <= 0xf3:
		s.need, s.lo, s.hi = 3, 0x80, 0xbf
	case c == 0xf4:
		s.need, s.lo, s.hi = 3, 0x80, 0x8f
	default:
		return false
	}
	return true
}

// openTail is the length of a sequence at the end of p that is valid so far
// but incomplete; 0 when p ends on a whole character or on invalid bytes.
func openTail(p []byte) int {
	for i := len(p) - 1; i >= 0 && i >= len(p)-3; i-- {
		if p[i]&0xc0 != 0x80 { // the last byte that starts a sequence
			if utf8.FullRune(p[i:]) {
				return 0
			}
			return len(p) - i
		}
	}
	return 0
}
