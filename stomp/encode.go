package stomp

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
)

// Append appends f encoded for version v to dst and returns the extended
// buffer, ready to send as one WebSocket message.
//
// Headers are escaped as v says (never in 1.0, CONNECT, STOMP and
// CONNECTED). What an unescaped frame cannot carry is written as a space: a
// line feed, a colon in a key, a carriage return ending a value where CRLF
// ends lines. Headers with an empty key are left out. The first
// content-length header is written as len(f.Body) when it says otherwise,
// and one is added when the body holds a NUL and none is given; so the
// output always decodes.
func Append(dst []byte, v Version, f *Frame) []byte {
	size := len(f.Command) + len(f.Body) + 3
	for _, h := range f.Headers {
		size += len(h.Key) + len(h.Value) + 2
	}
	dst = slices.Grow(dst, size)

	esc := escaped(v, f.Command)
	dst = append(dst, f.Command...)
	dst = append(dst, '\n')
	hasLength := false
	for _, h := range f.Headers {
		if h.Key == "" {
			continue
		}
		dst = appendKey(dst, v, esc, h.Key)
		dst = append(dst, ':')
		if h.Key == "content-length" && !hasLength {
			hasLength = true
			if !lengthIs(h.Value, len(f.Body)) {
				dst = strconv.AppendInt(dst, int64(len(f.Body)), 10)
				dst = append(dst, '\n')
				continue
			}
		}
		dst = appendValue(dst, v, esc, h.Value)
		dst = append(dst, '\n')
	}
	if !hasLength && bytes.IndexByte(f.Body, 0) >= 0 {
		dst = append(dst, "content-length:"...)
		dst = strconv.AppendInt(dst, int64(len(f.Body)), 10)
		dst = append(dst, '\n')
	}
	dst = append(dst, '\n')
	dst = append(dst, f.Body...)
	return append(dst, 0)
}

// appendKey appends a header key: escaped, or with LF and ':' made spaces.
func appendKey(dst []byte, v Version, esc bool, s string) []byte {
	if esc {
		return appendEscaped(dst, v, s)
	}
	if strings.IndexAny(s, "\n:") < 0 {
		return append(dst, s...)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\n' || c == ':' {
			dst = append(dst, ' ')
		} else {
			dst = append(dst, c)
		}
	}
	return dst
}

// appendValue appends a header value: escaped, or with LF made spaces and,
// where CRLF ends lines, a final CR made a space.
func appendValue(dst []byte, v Version, esc bool, s string) []byte {
	if esc {
		return appendEscaped(dst, v, s)
	}
	trailingCR := crlf(v) && strings.HasSuffix(s, "\r")
	if !trailingCR && strings.IndexByte(s, '\n') < 0 {
		return append(dst, s...)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\n' || (trailingCR && i == len(s)-1) {
			dst = append(dst, ' ')
		} else {
			dst = append(dst, c)
		}
	}
	return dst
}

// appendEscaped appends s with the escape sequences of version v (1.1 has
// no \r: a CR is plain data there, as lines end with LF alone).
func appendEscaped(dst []byte, v Version, s string) []byte {
	if strings.IndexAny(s, "\\\n\r:") < 0 {
		return append(dst, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			dst = append(dst, '\\', '\\')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == ':':
			dst = append(dst, '\\', 'c')
		case c == '\r' && v != V11:
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// lengthIs reports whether the content-length value s says n.
func lengthIs(s string, n int) bool {
	if s == "" {
		return false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		if v = v*10 + int(c-'0'); v > n {
			return false
		}
	}
	return v == n
}
