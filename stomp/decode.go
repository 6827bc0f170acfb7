package stomp

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"math"
	"strconv"
	"strings"
)

// Errors of malformed input. Every decoding error wraps one of them and says
// precisely what is wrong, in words fit for the message header of an ERROR
// frame.
var (
	ErrUnknownCommand = errors.New("unknown command")
	ErrIncomplete     = errors.New("incomplete frame")
	ErrBadHeader      = errors.New("malformed header")
	ErrContentLength  = errors.New("invalid content-length")
	ErrTooLarge       = errors.New("frame too large")
)

// Limits a Decoder applies when its fields are zero.
const (
	DefaultMaxHeaders    = 64
	DefaultMaxHeaderLine = 8 << 10
	DefaultMaxBody       = 1 << 20
)

// Decoder splits WebSocket messages into STOMP frames. The zero value reads
// a CONNECT frame with the default limits; set Version once it is negotiated.
type Decoder struct {
	// Version selects the escaping and line ending rules; zero before
	// CONNECT (CONNECT and STOMP frames are never escaped).
	Version Version
	// MaxHeaders caps the header entries of one frame.
	MaxHeaders int
	// MaxHeaderLine caps the bytes of the command line and of each header
	// line, without its end of line.
	MaxHeaderLine int
	// MaxBody caps the bytes of one frame's body.
	MaxBody int
}

// Frames yields the frames of one WebSocket message in order, skipping the
// lone EOLs (heart-beats) between and around them; a message of only EOLs
// yields nothing. On malformed input (a message that ends inside a frame
// included) it yields one error and stops. The loop body may change
// d.Version: the frames after a CONNECT are then read with the negotiated
// version.
//
// A frame's Body aliases msg (zero copy): use it before msg is reused. Its
// header strings are copied out of msg.
func (d *Decoder) Frames(msg []byte) iter.Seq2[Frame, error] {
	return func(yield func(Frame, error) bool) {
		rest := msg
		for {
			rest = skipEOLs(rest)
			if len(rest) == 0 {
				return
			}
			f, n, err := d.decode(rest)
			if err != nil {
				yield(Frame{}, err)
				return
			}
			if !yield(f, nil) {
				return
			}
			rest = rest[n:]
		}
	}
}

// skipEOLs drops the heart-beats (LF or CRLF, in every version) at the start of b.
func skipEOLs(b []byte) []byte {
	for len(b) > 0 {
		switch {
		case b[0] == '\n':
			b = b[1:]
		case b[0] == '\r' && len(b) > 1 && b[1] == '\n':
			b = b[2:]
		default:
			return b
		}
	}
	return b
}

func (d *Decoder) limits() (maxHeaders, maxLine, maxBody int) {
	maxHeaders, maxLine, maxBody = d.MaxHeaders, d.MaxHeaderLine, d.MaxBody
	if maxHeaders <= 0 {
		maxHeaders = DefaultMaxHeaders
	}
	if maxLine <= 0 {
		maxLine = DefaultMaxHeaderLine
	}
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	// Room for a CRLF after a line and a NUL after a body.
	return maxHeaders, min(maxLine, math.MaxInt-2), min(maxBody, math.MaxInt-2)
}

// errLineTooLong is nextLine's signal that a line is over the limit; the
// caller says which line.
var errLineTooLong = errors.New("line too long")

// nextLine finds the line starting at msg[i]: end is where its content ends
// (before the LF, or the CR of a CRLF when cr is set) and next where the
// following line starts. end is -1 when msg ends before the LF.
func nextLine(msg []byte, i, maxLine int, cr bool) (end, next int, err error) {
	window := msg[i:]
	if len(window) > maxLine+2 {
		window = window[:maxLine+2]
	}
	j := bytes.IndexByte(window, '\n')
	if j < 0 {
		if len(window) == maxLine+2 {
			return 0, 0, errLineTooLong
		}
		return -1, len(msg), nil
	}
	end = i + j
	if cr && j > 0 && msg[end-1] == '\r' {
		end--
	}
	if end-i > maxLine {
		return 0, 0, errLineTooLong
	}
	return end, i + j + 1, nil
}

// decode reads the frame at the start of msg (which is not an EOL) and
// returns it with the number of bytes it took, its NUL included.
func (d *Decoder) decode(msg []byte) (Frame, int, error) {
	maxHeaders, maxLine, maxBody := d.limits()
	cr := crlf(d.Version)

	end, next, err := nextLine(msg, 0, maxLine, cr)
	if err != nil {
		return Frame{}, 0, fmt.Errorf("%w: the command line is longer than %d bytes", ErrTooLarge, maxLine)
	}
	if end < 0 {
		partial := bytes.TrimSuffix(msg, []byte{'\r'})
		if _, ok := command(partial); !ok {
			return Frame{}, 0, fmt.Errorf("%w %s", ErrUnknownCommand, quote(partial))
		}
		return Frame{}, 0, fmt.Errorf("%w: the message ends in the command line of a %s frame", ErrIncomplete, partial)
	}
	cmd, ok := command(msg[:end])
	if !ok {
		return Frame{}, 0, fmt.Errorf("%w %s", ErrUnknownCommand, quote(msg[:end]))
	}

	// First pass: find the blank line ending the headers, within the limits.
	start, headersEnd, count := next, next, 0
	for {
		end, next, err = nextLine(msg, headersEnd, maxLine, cr)
		if err != nil {
			return Frame{}, 0, fmt.Errorf("%w: header line %d of the %s frame is longer than %d bytes", ErrTooLarge, count+1, cmd, maxLine)
		}
		if end < 0 {
			return Frame{}, 0, fmt.Errorf("%w: the message ends in the headers of a %s frame", ErrIncomplete, cmd)
		}
		if end == headersEnd {
			break
		}
		if count++; count > maxHeaders {
			return Frame{}, 0, fmt.Errorf("%w: the %s frame has more than %d headers", ErrTooLarge, cmd, maxHeaders)
		}
		headersEnd = next
	}
	bodyStart := next

	// Second pass: one string holds every header; keys and values that need
	// no unescaping are slices of it.
	f := Frame{Command: cmd}
	if count > 0 {
		f.Headers = make([]Header, 0, count)
		esc := escaped(d.Version, cmd)
		block := string(msg[start:headersEnd])
		for n := 1; block != ""; n++ {
			j := strings.IndexByte(block, '\n')
			line := block[:j]
			block = block[j+1:]
			if cr {
				line = strings.TrimSuffix(line, "\r")
			}
			c := strings.IndexByte(line, ':')
			if c < 0 {
				return Frame{}, 0, fmt.Errorf("%w: header line %d of the %s frame has no colon: %s", ErrBadHeader, n, cmd, quote(line))
			}
			if c == 0 {
				return Frame{}, 0, fmt.Errorf("%w: header line %d of the %s frame has an empty name", ErrBadHeader, n, cmd)
			}
			key, value := line[:c], line[c+1:]
			if esc {
				var err error
				if key, err = unescape(key, d.Version); err != nil {
					return Frame{}, 0, fmt.Errorf("%w: %v in the name of header line %d of the %s frame", ErrBadHeader, err, n, cmd)
				}
				if value, err = unescape(value, d.Version); err != nil {
					return Frame{}, 0, fmt.Errorf("%w: %v in header %s of the %s frame", ErrBadHeader, err, quote(key), cmd)
				}
			}
			f.Headers = append(f.Headers, Header{key, value})
		}
	}

	rest := msg[bodyStart:]
	if cl, ok := f.Lookup("content-length"); ok {
		n, err := parseLength(cl, cmd, maxBody)
		if err != nil {
			return Frame{}, 0, err
		}
		if len(rest) <= n {
			return Frame{}, 0, fmt.Errorf("%w: the %s frame has content-length %d but the message ends %d bytes after its headers", ErrIncomplete, cmd, n, len(rest))
		}
		if rest[n] != 0 {
			return Frame{}, 0, fmt.Errorf("%w: the %s frame's body of content-length %d is not followed by NUL", ErrContentLength, cmd, n)
		}
		if n > 0 {
			f.Body = rest[:n:n]
		}
		return f, bodyStart + n + 1, nil
	}
	window := rest
	if len(window) > maxBody+1 {
		window = window[:maxBody+1]
	}
	n := bytes.IndexByte(window, 0)
	if n < 0 {
		if len(window) > maxBody {
			return Frame{}, 0, fmt.Errorf("%w: the body of the %s frame is over %d bytes", ErrTooLarge, cmd, maxBody)
		}
		return Frame{}, 0, fmt.Errorf("%w: the message ends before the NUL that ends the %s frame", ErrIncomplete, cmd)
	}
	if n > 0 {
		f.Body = rest[:n:n]
	}
	return f, bodyStart + n + 1, nil
}

// parseLength reads the content-length of a cmd frame: decimal digits only,
// at most maxBody.
func parseLength(s, cmd string, maxBody int) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("%w: the %s frame's content-length is empty", ErrContentLength, cmd)
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: the %s frame's content-length %s is not a decimal number", ErrContentLength, cmd, quote(s))
		}
		if n > (math.MaxInt-9)/10 || n*10+int(c-'0') > maxBody {
			return 0, fmt.Errorf("%w: the %s frame's content-length %s is over %d bytes", ErrTooLarge, cmd, quote(s), maxBody)
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// unescape decodes the escape sequences of a 1.1 or 1.2 header key or value.
func unescape(s string, v Version) (string, error) {
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i++; i == len(s) {
			return "", errors.New("a backslash ends the text")
		}
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		case 'c':
			b.WriteByte(':')
		case 'r':
			if v == V11 {
				return "", fmt.Errorf("undefined escape sequence %s in STOMP 1.1", quote(s[i-1:i+1]))
			}
			b.WriteByte('\r')
		default:
			return "", fmt.Errorf("undefined escape sequence %s", quote(s[i-1:i+1]))
		}
	}
	return b.String(), nil
}

// quote shortens and quotes outside text for an error message.
func quote[T string | []byte](s T) string {
	const max = 40
	if len(s) > max {
		return strconv.Quote(string(s[:max])) + "..."
	}
	return strconv.Quote(string(s))
}
