package stomp_test

import (
	"bytes"
	"errors"
	"reflect"
	"strconv"
	"testing"

	"github.com/wsgw/wsgw/stomp"
)

var fuzzVersions = [4]stomp.Version{0, stomp.V10, stomp.V11, stomp.V12}

// roomy decodes re-encoded frames: escaping may lengthen a line (a raw colon
// that 1.2 accepted is written back as \c).
func roomy(v stomp.Version) *stomp.Decoder {
	return &stomp.Decoder{Version: v, MaxHeaderLine: 4 * stomp.DefaultMaxHeaderLine}
}

// FuzzDecode decodes any message in any version. Properties: it never
// panics or loops; an error wraps one of the package's errors; every frame
// decoded re-encodes (Append) to bytes that decode to the same frame; the
// helpers accept whatever the decoder yields; a MESSAGE template built from
// a decoded frame stamps frames that decode with its body.
//
//	go test ./stomp -run '^$' -fuzz FuzzDecode -fuzztime 1m
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		"CONNECT\naccept-version:1.0,1.1,1.2\nheart-beat:10000,10000\n\n\x00",
		"\r\n\nSUBSCRIBE\nid:0\ndestination:/t\n\n\x00\nSEND\ndestination:/t\n\nx\x00\r\n",
		"SEND\r\ndestination:/a\r\n\r\nbody\x00",
		"SEND\n" + `k\c1:v\\a\nb\rc\cd` + "\n\n\x00",
		"SEND\ndestination:/a\ncontent-length:5\n\na\x00b\x00c\x00",
		"MESSAGE\nsubscription:0\nmessage-id:1\ndestination:/a:b\ncontent-type:text/plain\n\n{}\x00",
		"SEND\ncontent-length:10\n\nabc\x00",
		"SEND\nk:a\\tb\n\n\x00",
		"CONNECTED\nversion:1.2\nserver:a:b\\c\n\n\x00",
		"SEND\ndestination:/a\r\n\n\x00",
	} {
		for v := range fuzzVersions {
			f.Add([]byte(seed), uint8(v))
		}
	}
	f.Fuzz(func(t *testing.T, msg []byte, vi uint8) {
		v := fuzzVersions[vi%4]
		d := stomp.Decoder{Version: v}
		for fr, err := range d.Frames(msg) {
			if err != nil {
				if !errors.Is(err, stomp.ErrUnknownCommand) && !errors.Is(err, stomp.ErrIncomplete) && !errors.Is(err, stomp.ErrBadHeader) &&
					!errors.Is(err, stomp.ErrContentLength) && !errors.Is(err, stomp.ErrTooLarge) {
					t.Fatalf("error %q wraps none of the package's errors", err)
				}
				return
			}
			enc := stomp.Append(nil, v, &fr)
			again, err := decodeAll(roomy(v), enc)
			if err != nil || len(again) != 1 || !reflect.DeepEqual(again[0], fr) {
				t.Fatalf("%s: decode(Append(%#v)) = %#v, %v\nencoded %q", v, fr, again, err, enc)
			}

			_ = stomp.Validate(v, &fr)
			_, _ = stomp.NegotiateVersion(fr.Get("accept-version"))
			_, _ = stomp.ParseHeartBeat(fr.Get("heart-beat"))
			_, _ = stomp.ParseHeartBeatConfig(fr.Get("heart-beat"))

			tmpl := stomp.NewMessageTemplate(stomp.Message{Destination: fr.Get("destination"), ContentType: fr.Get("content-type"), Headers: fr.Headers, Body: fr.Body})
			stamped := tmpl.Append(nil, v, fr.Get("id"), fr.Get("receipt"))
			msgs, err := decodeAll(roomy(v), stamped)
			if err != nil || len(msgs) != 1 || msgs[0].Command != stomp.CmdMessage || !bytes.Equal(msgs[0].Body, fr.Body) {
				t.Fatalf("%s: stamped MESSAGE %q decodes to %#v, %v", v, stamped, msgs, err)
			}
		}
	})
}

// FuzzEncode encodes arbitrary frames. Properties: the output always decodes
// to exactly one frame with the same command and body; for escaped frames
// the headers come back as given, less empty keys, with content-length made
// right.
//
//	go test ./stomp -run '^$' -fuzz FuzzEncode -fuzztime 1m
func FuzzEncode(f *testing.F) {
	f.Add(uint8(0), uint8(3), []byte("destination\x00/a\x00k:1\x00v\\a\nb\rc:d"), []byte("body"))
	f.Add(uint8(14), uint8(1), []byte("server\x00x\r\x00\x00empty key"), []byte("a\x00b"))
	f.Add(uint8(2), uint8(2), []byte("content-length\x009\x00content-length\x001"), []byte("12"))
	commands := []string{stomp.CmdSend, stomp.CmdSubscribe, stomp.CmdUnsubscribe, stomp.CmdAck, stomp.CmdNack, stomp.CmdBegin,
		stomp.CmdCommit, stomp.CmdAbort, stomp.CmdDisconnect, stomp.CmdMessage, stomp.CmdReceipt, stomp.CmdError,
		stomp.CmdConnect, stomp.CmdStomp, stomp.CmdConnected}
	f.Fuzz(func(t *testing.T, ci, vi uint8, fields, body []byte) {
		v := fuzzVersions[vi%4]
		fr := stomp.Frame{Command: commands[int(ci)%len(commands)], Body: body}
		parts := bytes.Split(fields, []byte{0})
		for i := 0; i+1 < len(parts); i += 2 {
			fr.Headers = append(fr.Headers, stomp.Header{Key: string(parts[i]), Value: string(parts[i+1])})
		}
		if len(fr.Headers) > stomp.DefaultMaxHeaders-1 || len(body) > stomp.DefaultMaxBody {
			return
		}
		enc := stomp.Append(nil, v, &fr)
		got, err := decodeAll(roomy(v), enc)
		if err != nil || len(got) != 1 || got[0].Command != fr.Command || !bytes.Equal(got[0].Body, fr.Body) {
			t.Fatalf("%s: decode(Append(%#v)) = %#v, %v\nencoded %q", v, fr, got, err, enc)
		}
		escaped := v != stomp.V10 && fr.Command != stomp.CmdConnect && fr.Command != stomp.CmdStomp && fr.Command != stomp.CmdConnected
		if escaped && !reflect.DeepEqual(got[0].Headers, wantHeaders(fr)) {
			t.Fatalf("%s: headers\n got %q\nwant %q", v, got[0].Headers, wantHeaders(fr))
		}
	})
}

// wantHeaders is what Append documents for escaped frames: empty keys left
// out, the first content-length made right, one added for a body with NUL.
func wantHeaders(f stomp.Frame) []stomp.Header {
	var out []stomp.Header
	hasLength := false
	for _, h := range f.Headers {
		if h.Key == "" {
			continue
		}
		if h.Key == "content-length" && !hasLength {
			hasLength = true
			if n, err := strconv.ParseUint(h.Value, 10, 63); err != nil || n != uint64(len(f.Body)) {
				h.Value = strconv.Itoa(len(f.Body))
			}
		}
		out = append(out, h)
	}
	if !hasLength && bytes.IndexByte(f.Body, 0) >= 0 {
		out = append(out, stomp.Header{Key: "content-length", Value: strconv.Itoa(len(f.Body))})
	}
	return out
}
