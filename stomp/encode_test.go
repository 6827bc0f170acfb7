package stomp_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/wsgw/wsgw/stomp"
)

func TestAppend(t *testing.T) {
	tricky := stomp.Frame{Command: stomp.CmdMessage, Headers: hdrs("k:1", "v\\a\nb\rc:d")}
	tests := []struct {
		name    string
		version stomp.Version
		frame   stomp.Frame
		want    string
		// decoded is what reading the output back gives; nil: the frame itself.
		decoded *stomp.Frame
	}{
		{"1.2 escapes backslash, LF, CR and colon", stomp.V12, tricky,
			"MESSAGE\n" + `k\c1:v\\a\nb\rc\cd` + "\n\n\x00", nil},
		{"the zero version encodes as 1.2", 0, tricky,
			"MESSAGE\n" + `k\c1:v\\a\nb\rc\cd` + "\n\n\x00", nil},
		{"1.1 leaves CR as data", stomp.V11, tricky,
			"MESSAGE\n" + `k\c1:v\\a\nb` + "\r" + `c\cd` + "\n\n\x00", nil},
		{"1.1 keeps a CR ending a value", stomp.V11, stomp.Frame{Command: stomp.CmdMessage, Headers: hdrs("k", "v\r")},
			"MESSAGE\nk:v\r\n\n\x00", nil},
		{"1.0 writes what it cannot carry as spaces", stomp.V10, tricky,
			"MESSAGE\nk 1:v\\a b\rc:d\n\n\x00",
			&stomp.Frame{Command: stomp.CmdMessage, Headers: hdrs("k 1", "v\\a b\rc:d")}},
		{"CONNECTED is not escaped in 1.2", stomp.V12,
			stomp.Frame{Command: stomp.CmdConnected, Headers: hdrs("server", `a:b\c`, "x", "1\n2\r")},
			"CONNECTED\nserver:a:b\\c\nx:1 2 \n\n\x00",
			&stomp.Frame{Command: stomp.CmdConnected, Headers: hdrs("server", `a:b\c`, "x", "1 2 ")}},
		{"CONNECT is not escaped in 1.1, a final CR stays", stomp.V11,
			stomp.Frame{Command: stomp.CmdConnect, Headers: hdrs("login", "a\\b\r")},
			"CONNECT\nlogin:a\\b\r\n\n\x00", nil},
		{"empty keys are left out", stomp.V12,
			stomp.Frame{Command: stomp.CmdSend, Headers: hdrs("", "x", "destination", "/a")},
			"SEND\ndestination:/a\n\n\x00",
			&stomp.Frame{Command: stomp.CmdSend, Headers: hdrs("destination", "/a")}},
		{"a body with NUL gets a content-length", stomp.V12,
			stomp.Frame{Command: stomp.CmdSend, Headers: hdrs("destination", "/a"), Body: []byte("a\x00b")},
			"SEND\ndestination:/a\ncontent-length:3\n\na\x00b\x00",
			&stomp.Frame{Command: stomp.CmdSend, Headers: hdrs("destination", "/a", "content-length", "3"), Body: []byte("a\x00b")}},
		{"a wrong content-length is corrected", stomp.V12,
			stomp.Frame{Command: stomp.CmdSend, Headers: hdrs("content-length", "7", "content-length", "9"), Body: []byte("ab")},
			"SEND\ncontent-length:2\ncontent-length:9\n\nab\x00",
			&stomp.Frame{Command: stomp.CmdSend, Headers: hdrs("content-length", "2", "content-length", "9"), Body: []byte("ab")}},
		{"a right content-length is kept as written", stomp.V12,
			stomp.Frame{Command: stomp.CmdSend, Headers: hdrs("content-length", "02"), Body: []byte("ab")},
			"SEND\ncontent-length:02\n\nab\x00", nil},
		{"binary body", stomp.V12,
			stomp.Frame{Command: stomp.CmdSend, Headers: hdrs("content-length", "4"), Body: []byte{0, 0xff, '\n', 0}},
			"SEND\ncontent-length:4\n\n\x00\xff\n\x00\x00", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := stomp.Append([]byte("prefix"), tt.version, &tt.frame)
			if string(got) != "prefix"+tt.want {
				t.Fatalf("Append:\n got %q\nwant %q", got[len("prefix"):], tt.want)
			}
			want := tt.frame
			if tt.decoded != nil {
				want = *tt.decoded
			}
			frames, err := decodeAll(&stomp.Decoder{Version: tt.version}, got[len("prefix"):])
			if err != nil || len(frames) != 1 || !reflect.DeepEqual(frames[0], want) {
				t.Fatalf("decode(Append) = %#v, %v; want %#v", frames, err, want)
			}
		})
	}
}

// TestEscapingRoundTrip: every byte a header may hold survives the escaping
// of 1.1 and 1.2, in keys and values, for every escaped command.
func TestEscapingRoundTrip(t *testing.T) {
	var all []byte
	for b := range 256 {
		all = append(all, byte(b))
	}
	values := []string{"", "plain", "\\", "\\\\n", "\n", "\r", "\r\n", ":", "a:b:c", "\\c", "end\r", "\x00", string(all)}
	for _, v := range []stomp.Version{stomp.V11, stomp.V12} {
		for _, cmd := range []string{stomp.CmdSend, stomp.CmdSubscribe, stomp.CmdMessage, stomp.CmdError, stomp.CmdReceipt, stomp.CmdAck} {
			for _, s := range values {
				key := "k" + s
				f := stomp.Frame{Command: cmd, Headers: hdrs(key, s, "x", s+s)}
				frames, err := decodeAll(&stomp.Decoder{Version: v}, stomp.Append(nil, v, &f))
				if err != nil || len(frames) != 1 || !reflect.DeepEqual(frames[0], f) {
					t.Fatalf("%s %s %q: round trip = %#v, %v", v, cmd, s, frames, err)
				}
			}
		}
	}
}

func TestBuilders(t *testing.T) {
	hb := stomp.HeartBeat{Send: 10 * time.Second, Receive: 5 * time.Second}
	tests := []struct {
		name string
		v    stomp.Version
		f    stomp.Frame
		want string
	}{
		{"CONNECTED 1.2", stomp.V12, stomp.ConnectedFrame(stomp.V12, hb, "wsgw", "s1"),
			"CONNECTED\nversion:1.2\nheart-beat:10000,5000\nserver:wsgw\nsession:s1\n\n\x00"},
		{"CONNECTED 1.0 has no heart-beat", stomp.V10, stomp.ConnectedFrame(stomp.V10, hb, "", "s:1"),
			"CONNECTED\nversion:1.0\nsession:s:1\n\n\x00"},
		{"RECEIPT", stomp.V12, stomp.ReceiptFrame("r:1"),
			"RECEIPT\nreceipt-id:r\\c1\n\n\x00"},
		{"ERROR with receipt and body", stomp.V12, stomp.ErrorFrame("bad\nframe", "r1", "details\x00"),
			"ERROR\nmessage:bad\\nframe\nreceipt-id:r1\ncontent-type:text/plain\ncontent-length:8\n\ndetails\x00\x00"},
		{"ERROR alone", stomp.V10, stomp.ErrorFrame("bad\nframe", "", ""),
			"ERROR\nmessage:bad frame\n\n\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stomp.Append(nil, tt.v, &tt.f); string(got) != tt.want {
				t.Fatalf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}
