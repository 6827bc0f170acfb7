package stomp_test

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/wsgw/wsgw/stomp"
)

// decodeAll collects every frame of msg, stopping at the first error.
func decodeAll(d *stomp.Decoder, msg []byte) ([]stomp.Frame, error) {
	var frames []stomp.Frame
	for f, err := range d.Frames(msg) {
		if err != nil {
			return frames, err
		}
		frames = append(frames, f)
	}
	return frames, nil
}

func hdrs(kv ...string) []stomp.Header {
	var h []stomp.Header
	for i := 0; i < len(kv); i += 2 {
		h = append(h, stomp.Header{Key: kv[i], Value: kv[i+1]})
	}
	return h
}

func TestDecode(t *testing.T) {
	send := func(body string, kv ...string) stomp.Frame {
		f := stomp.Frame{Command: stomp.CmdSend, Headers: hdrs(kv...)}
		if body != "" {
			f.Body = []byte(body)
		}
		return f
	}
	tests := []struct {
		name    string
		version stomp.Version
		in      string
		want    []stomp.Frame
	}{
		{"one frame", stomp.V12, "SEND\ndestination:/a\n\nhello\x00",
			[]stomp.Frame{send("hello", "destination", "/a")}},
		{"no headers, no body", stomp.V12, "DISCONNECT\n\n\x00",
			[]stomp.Frame{{Command: stomp.CmdDisconnect}}},
		{"empty message", stomp.V12, "", nil},
		{"heart-beat LF", stomp.V12, "\n", nil},
		{"heart-beat CRLF", stomp.V11, "\r\n", nil},
		{"several heart-beats", stomp.V10, "\n\r\n\n", nil},
		{"several frames with heart-beats around", stomp.V12,
			"\r\n\nSUBSCRIBE\nid:0\ndestination:/t\n\n\x00\nSEND\ndestination:/t\n\nx\x00SEND\ndestination:/u\n\n\x00\r\n\n",
			[]stomp.Frame{
				{Command: stomp.CmdSubscribe, Headers: hdrs("id", "0", "destination", "/t")},
				send("x", "destination", "/t"),
				send("", "destination", "/u"),
			}},
		{"CRLF lines in 1.2", stomp.V12, "SEND\r\ndestination:/a\r\nk:\r\n\r\nbody\x00",
			[]stomp.Frame{send("body", "destination", "/a", "k", "")}},
		{"CRLF lines before negotiation", 0, "CONNECT\r\naccept-version:1.2\r\nhost:h\r\n\r\n\x00",
			[]stomp.Frame{{Command: stomp.CmdConnect, Headers: hdrs("accept-version", "1.2", "host", "h")}}},
		{"CR is data in 1.1", stomp.V11, "SEND\ndestination:/a\r\n\n\x00",
			[]stomp.Frame{send("", "destination", "/a\r")}},
		{"escapes in 1.2", stomp.V12, `SEND` + "\n" + `k\c1:v\\a\nb\rc\cd` + "\n\n\x00",
			[]stomp.Frame{send("", "k:1", "v\\a\nb\rc:d")}},
		{"escapes in 1.1", stomp.V11, `SEND` + "\n" + `k\c1:v\\a\nb\cd` + "\n\n\x00",
			[]stomp.Frame{send("", "k:1", "v\\a\nb:d")}},
		{"no escapes in 1.0", stomp.V10, `SEND` + "\n" + `destination:/a\nb\c:c` + "\n\n\x00",
			[]stomp.Frame{send("", "destination", `/a\nb\c:c`)}},
		{"CONNECT is never unescaped", stomp.V12, "CONNECT\n" + `passcode:a\cb\\` + "\n\n\x00",
			[]stomp.Frame{{Command: stomp.CmdConnect, Headers: hdrs("passcode", `a\cb\\`)}}},
		{"STOMP is never unescaped", stomp.V12, "STOMP\n" + `login:a\t` + "\n\n\x00",
			[]stomp.Frame{{Command: stomp.CmdStomp, Headers: hdrs("login", `a\t`)}}},
		{"CONNECTED is never unescaped", stomp.V11, "CONNECTED\n" + `server:x\r` + "\n\n\x00",
			[]stomp.Frame{{Command: stomp.CmdConnected, Headers: hdrs("server", `x\r`)}}},
		{"raw colon in a value", stomp.V12, "SEND\ndestination:/a:b:c\n\n\x00",
			[]stomp.Frame{send("", "destination", "/a:b:c")}},
		{"content-length body with NULs", stomp.V12, "SEND\ndestination:/a\ncontent-length:5\n\na\x00b\x00c\x00",
			[]stomp.Frame{send("a\x00b\x00c", "destination", "/a", "content-length", "5")}},
		{"content-length 0", stomp.V12, "SEND\ncontent-length:0\ndestination:/a\n\n\x00",
			[]stomp.Frame{send("", "content-length", "0", "destination", "/a")}},
		{"content-length with leading zeros, then a frame", stomp.V12, "SEND\ncontent-length:002\n\n\x00\x00\x00\nDISCONNECT\n\n\x00",
			[]stomp.Frame{send("\x00\x00", "content-length", "002"), {Command: stomp.CmdDisconnect}}},
		{"the first content-length counts", stomp.V12, "SEND\ncontent-length:1\ncontent-length:3\n\n\x00\x00",
			[]stomp.Frame{send("\x00", "content-length", "1", "content-length", "3")}},
		{"repeated headers are all kept", stomp.V12, "SEND\ndestination:/a\ndestination:/b\n\n\x00",
			[]stomp.Frame{send("", "destination", "/a", "destination", "/b")}},
		{"zero version reads SEND as 1.2", 0, "SEND\r\nk:\\r\r\n\r\n\x00",
			[]stomp.Frame{send("", "k", "\r")}},
		{"server frames decode too", stomp.V12, "MESSAGE\nsubscription:0\nmessage-id:1\ndestination:/a\n\n{}\x00",
			[]stomp.Frame{{Command: stomp.CmdMessage, Headers: hdrs("subscription", "0", "message-id", "1", "destination", "/a"), Body: []byte("{}")}}},
		{"UTF-8 and spaces are data", stomp.V12, "SEND\n ké y : vàl \n\nü\x00",
			[]stomp.Frame{send("ü", " ké y ", " vàl ")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := stomp.Decoder{Version: tt.version}
			got, err := decodeAll(&d, []byte(tt.in))
			if err != nil {
				t.Fatalf("decode %q: %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("decode %q:\n got %#v\nwant %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestDecodeMalformed(t *testing.T) {
	tests := []struct {
		name    string
		decoder stomp.Decoder
		in      string
		is      error
		msg     string
	}{
		{"unknown command", stomp.Decoder{}, "FOO\n\n\x00", stomp.ErrUnknownCommand,
			`unknown command "FOO"`},
		{"plain text", stomp.Decoder{}, "hello", stomp.ErrUnknownCommand,
			`unknown command "hello"`},
		{"lower case command", stomp.Decoder{}, "send\n\n\x00", stomp.ErrUnknownCommand,
			`unknown command "send"`},
		{"long garbage is cut in the message", stomp.Decoder{}, strings.Repeat("x", 100) + "\n", stomp.ErrUnknownCommand,
			`unknown command "` + strings.Repeat("x", 40) + `"...`},
		{"CRLF in 1.1", stomp.Decoder{Version: stomp.V11}, "SEND\r\n\r\n\x00", stomp.ErrUnknownCommand,
			`unknown command "SEND\r"`},
		{"lone CR between frames", stomp.Decoder{}, "DISCONNECT\n\n\x00\rSEND\n\n\x00", stomp.ErrUnknownCommand,
			`unknown command "\rSEND"`},
		{"garbage after a frame", stomp.Decoder{}, "DISCONNECT\n\n\x00x", stomp.ErrUnknownCommand,
			`unknown command "x"`},
		{"ends in the command line", stomp.Decoder{}, "SEND", stomp.ErrIncomplete,
			"incomplete frame: the message ends in the command line of a SEND frame"},
		{"ends in the headers", stomp.Decoder{}, "SEND\ndestination:/a\n", stomp.ErrIncomplete,
			"incomplete frame: the message ends in the headers of a SEND frame"},
		{"no blank line", stomp.Decoder{}, "DISCONNECT\n\x00", stomp.ErrIncomplete,
			"incomplete frame: the message ends in the headers of a DISCONNECT frame"},
		{"ends before the NUL", stomp.Decoder{}, "SEND\ndestination:/a\n\nbody", stomp.ErrIncomplete,
			"incomplete frame: the message ends before the NUL that ends the SEND frame"},
		{"content-length past the end", stomp.Decoder{}, "SEND\ncontent-length:10\n\nabc\x00", stomp.ErrIncomplete,
			"incomplete frame: the SEND frame has content-length 10 but the message ends 4 bytes after its headers"},
		{"content-length body without its NUL", stomp.Decoder{}, "SEND\ncontent-length:2\n\nabc\x00", stomp.ErrContentLength,
			`invalid content-length: the SEND frame's body of content-length 2 is not followed by NUL`},
		{"content-length not a number", stomp.Decoder{}, "SEND\ncontent-length:abc\n\n\x00", stomp.ErrContentLength,
			`invalid content-length: the SEND frame's content-length "abc" is not a decimal number`},
		{"content-length negative", stomp.Decoder{}, "SEND\ncontent-length:-1\n\n\x00", stomp.ErrContentLength,
			`invalid content-length: the SEND frame's content-length "-1" is not a decimal number`},
		{"content-length with a sign", stomp.Decoder{}, "SEND\ncontent-length:+1\n\nx\x00", stomp.ErrContentLength,
			`invalid content-length: the SEND frame's content-length "+1" is not a decimal number`},
		{"content-length with a space", stomp.Decoder{}, "SEND\ncontent-length: 1\n\nx\x00", stomp.ErrContentLength,
			`invalid content-length: the SEND frame's content-length " 1" is not a decimal number`},
		{"content-length empty", stomp.Decoder{}, "SEND\ncontent-length:\n\n\x00", stomp.ErrContentLength,
			`invalid content-length: the SEND frame's content-length is empty`},
		{"content-length over the limit", stomp.Decoder{MaxBody: 4}, "SEND\ncontent-length:5\n\n12345\x00", stomp.ErrTooLarge,
			`frame too large: the SEND frame's content-length "5" is over 4 bytes`},
		{"content-length overflowing int", stomp.Decoder{}, "SEND\ncontent-length:99999999999999999999999\n\n\x00", stomp.ErrTooLarge,
			`frame too large: the SEND frame's content-length "99999999999999999999999" is over 1048576 bytes`},
		{"body over the limit", stomp.Decoder{MaxBody: 4}, "SEND\n\n12345\x00", stomp.ErrTooLarge,
			"frame too large: the body of the SEND frame is over 4 bytes"},
		{"body at the limit is fine, then garbage", stomp.Decoder{MaxBody: 4}, "SEND\n\n1234\x00?", stomp.ErrUnknownCommand,
			`unknown command "?"`},
		{"header without colon", stomp.Decoder{}, "SEND\ndestination /a\n\n\x00", stomp.ErrBadHeader,
			`malformed header: header line 1 of the SEND frame has no colon: "destination /a"`},
		{"header with an empty name", stomp.Decoder{}, "SEND\na:b\n:x\n\n\x00", stomp.ErrBadHeader,
			"malformed header: header line 2 of the SEND frame has an empty name"},
		{"CR header line in 1.0", stomp.Decoder{Version: stomp.V10}, "SEND\n\r\n\n\x00", stomp.ErrBadHeader,
			`malformed header: header line 1 of the SEND frame has no colon: "\r"`},
		{"undefined escape", stomp.Decoder{Version: stomp.V12}, "SEND\ndestination:a\\tb\n\n\x00", stomp.ErrBadHeader,
			`malformed header: undefined escape sequence "\\t" in header "destination" of the SEND frame`},
		{"lone backslash", stomp.Decoder{Version: stomp.V12}, "SEND\nk:ab\\\n\n\x00", stomp.ErrBadHeader,
			`malformed header: a backslash ends the text in header "k" of the SEND frame`},
		{"bad escape in a name", stomp.Decoder{Version: stomp.V11}, "SEND\nk\\x:v\n\n\x00", stomp.ErrBadHeader,
			`malformed header: undefined escape sequence "\\x" in the name of header line 1 of the SEND frame`},
		{"\\r undefined in 1.1", stomp.Decoder{Version: stomp.V11}, "SEND\nk:a\\rb\n\n\x00", stomp.ErrBadHeader,
			`malformed header: undefined escape sequence "\\r" in STOMP 1.1 in header "k" of the SEND frame`},
		{"too many headers", stomp.Decoder{MaxHeaders: 2}, "SEND\na:1\nb:2\nc:3\n\n\x00", stomp.ErrTooLarge,
			"frame too large: the SEND frame has more than 2 headers"},
		{"header line too long", stomp.Decoder{MaxHeaderLine: 8}, "SEND\nabc:12345\n\n\x00", stomp.ErrTooLarge,
			"frame too large: header line 1 of the SEND frame is longer than 8 bytes"},
		{"header line too long without its LF", stomp.Decoder{MaxHeaderLine: 8}, "SEND\nabc:123456789", stomp.ErrTooLarge,
			"frame too large: header line 1 of the SEND frame is longer than 8 bytes"},
		{"command line too long", stomp.Decoder{MaxHeaderLine: 4}, "SUBSCRIBE\n\n\x00", stomp.ErrTooLarge,
			"frame too large: the command line is longer than 4 bytes"},
		{"the second frame is malformed", stomp.Decoder{}, "DISCONNECT\n\n\x00SEND\n", stomp.ErrIncomplete,
			"incomplete frame: the message ends in the headers of a SEND frame"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeAll(&tt.decoder, []byte(tt.in))
			if err == nil {
				t.Fatalf("decode %q: no error, want %q", tt.in, tt.msg)
			}
			if !errors.Is(err, tt.is) || err.Error() != tt.msg {
				t.Fatalf("decode %q:\n got %q\nwant %q (wrapping %q)", tt.in, err, tt.msg, tt.is)
			}
		})
	}
}

// TestDecodeLimitsAreInclusive: a frame exactly at each limit decodes.
func TestDecodeLimitsAreInclusive(t *testing.T) {
	huge := stomp.Decoder{MaxHeaders: math.MaxInt, MaxHeaderLine: math.MaxInt, MaxBody: math.MaxInt}
	if _, err := decodeAll(&huge, []byte("SEND\nk:v\n\nbody\x00SEND\ncontent-length:1\n\nx\x00")); err != nil {
		t.Errorf("limits of MaxInt: %v", err)
	}
	d := stomp.Decoder{MaxHeaders: 2, MaxHeaderLine: 16, MaxBody: 3}
	for _, in := range []string{
		"SUBSCRIBE\nabc:123456789012\nid:0\n\nabc\x00",
		"SUBSCRIBE\r\nabc:123456789012\r\nid:0\r\n\r\nabc\x00",
		"SEND\ncontent-length:3\n\na\x00c\x00",
	} {
		if _, err := decodeAll(&d, []byte(in)); err != nil {
			t.Errorf("decode %q: %v", in, err)
		}
	}
}

// TestDecodeVersionSwitch: frames after a CONNECT in the same message are
// read with the version the loop body negotiated.
func TestDecodeVersionSwitch(t *testing.T) {
	msg := []byte("CONNECT\naccept-version:1.0\n\n\x00SEND\ndestination:/a\\nb\n\n\x00")
	var d stomp.Decoder
	var got []string
	for f, err := range d.Frames(msg) {
		if err != nil {
			t.Fatal(err)
		}
		if f.Command == stomp.CmdConnect {
			v, err := stomp.NegotiateVersion(f.Get("accept-version"))
			if err != nil {
				t.Fatal(err)
			}
			d.Version = v
			continue
		}
		got = append(got, f.Get("destination"))
	}
	if want := []string{`/a\nb`}; !reflect.DeepEqual(got, want) {
		t.Fatalf("destination after a 1.0 CONNECT = %q, want %q (unescaped as 1.0)", got, want)
	}
}

// TestDecodeBodyAliasesMessage: bodies are slices of the message, capped so
// that appending to one cannot overwrite the next frame.
func TestDecodeBodyAliasesMessage(t *testing.T) {
	msg := []byte("SEND\n\nab\x00SEND\n\ncd\x00")
	frames, err := decodeAll(&stomp.Decoder{}, msg)
	if err != nil {
		t.Fatal(err)
	}
	if &frames[0].Body[0] != &msg[6] {
		t.Fatalf("body is a copy, want a slice of the message")
	}
	_ = append(frames[0].Body, 'X')
	if string(frames[1].Body) != "cd" || msg[8] != 0 {
		t.Fatalf("appending to a body overwrote the message: %q", msg)
	}
}

// TestDecodeStopsWhenAsked: breaking out of the loop stops decoding.
func TestDecodeStopsWhenAsked(t *testing.T) {
	n := 0
	for _, err := range (&stomp.Decoder{}).Frames([]byte("DISCONNECT\n\n\x00garbage")) {
		if err != nil {
			t.Fatal("decoded past the break:", err)
		}
		n++
		break
	}
	if n != 1 {
		t.Fatalf("got %d frames, want 1", n)
	}
}

func TestFrameLookup(t *testing.T) {
	f := stomp.Frame{Command: stomp.CmdSend, Headers: hdrs("a", "1", "b", "", "a", "2")}
	if v, ok := f.Lookup("a"); v != "1" || !ok {
		t.Errorf("Lookup(a) = %q, %v; want the first occurrence", v, ok)
	}
	if v, ok := f.Lookup("b"); v != "" || !ok {
		t.Errorf("Lookup(b) = %q, %v; want present and empty", v, ok)
	}
	if v, ok := f.Lookup("c"); v != "" || ok {
		t.Errorf("Lookup(c) = %q, %v; want absent", v, ok)
	}
	if f.Get("a") != "1" || f.Get("c") != "" {
		t.Errorf("Get: %q %q", f.Get("a"), f.Get("c"))
	}
}
