package stomp_test

// Cross-checks against a stock implementation, go-stomp's frame package:
// what its Writer writes we decode, and what we encode its Reader reads.
//
// go-stomp escapes and unescapes the headers of every frame, CONNECT and
// CONNECTED included, which the STOMP 1.2 spec says not to do; so those
// frames are checked with headers that need no escaping.

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3/frame"

	"github.com/wsgw/wsgw/stomp"
)

// crossFrames are frames of every command with the headers and bodies that
// trip codecs up. escapes says whether a frame's headers need escaping.
func crossFrames() []stomp.Frame {
	tricky := hdrs(
		"destination", "/topic/a:b",
		"colon:key", "value:with:colons",
		"backslash", `C:\dir\n`,
		"newline", "line1\nline2",
		"cr", "a\rb",
		"both", "\r\n",
		"empty", "",
		"utf8", "héllo ✓",
		"dup", "first",
		"dup", "second",
		"spaces", " padded ",
	)
	var out []stomp.Frame
	for _, cmd := range []string{stomp.CmdSend, stomp.CmdSubscribe, stomp.CmdUnsubscribe, stomp.CmdAck, stomp.CmdNack,
		stomp.CmdBegin, stomp.CmdCommit, stomp.CmdAbort, stomp.CmdDisconnect, stomp.CmdMessage, stomp.CmdReceipt, stomp.CmdError} {
		out = append(out,
			stomp.Frame{Command: cmd, Headers: tricky, Body: []byte("plain body")},
			stomp.Frame{Command: cmd, Headers: append(hdrs("content-length", "7"), tricky...), Body: []byte("\x00nul\x00\n\x00")},
			stomp.Frame{Command: cmd},
		)
	}
	for _, cmd := range []string{stomp.CmdConnect, stomp.CmdStomp, stomp.CmdConnected} {
		out = append(out,
			stomp.Frame{Command: cmd, Headers: hdrs("accept-version", "1.0,1.1,1.2", "host", "example.com", "login", "user", "passcode", "p@ss word", "heart-beat", "10000,10000")},
			stomp.Frame{Command: cmd, Headers: hdrs("version", "1.2", "session", "s-1", "server", "wsgw/1", "dup", "a", "dup", "b")},
			stomp.Frame{Command: cmd},
		)
	}
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	out = append(out, stomp.Frame{Command: stomp.CmdSend, Headers: hdrs("destination", "/bin", "content-length", "256"), Body: binary})
	return out
}

func toGoStomp(f stomp.Frame) *frame.Frame {
	g := frame.New(f.Command)
	for _, h := range f.Headers {
		g.Header.Add(h.Key, h.Value)
	}
	g.Body = f.Body
	return g
}

func sameFrame(g *frame.Frame, f stomp.Frame) error {
	if g.Command != f.Command {
		return fmt.Errorf("command %q, want %q", g.Command, f.Command)
	}
	var got []stomp.Header
	for i := range g.Header.Len() {
		k, v := g.Header.GetAt(i)
		got = append(got, stomp.Header{Key: k, Value: v})
	}
	if !reflect.DeepEqual(got, f.Headers) {
		return fmt.Errorf("headers %q, want %q", got, f.Headers)
	}
	if !bytes.Equal(g.Body, f.Body) {
		return fmt.Errorf("body %q, want %q", g.Body, f.Body)
	}
	return nil
}

// TestGoStompWriterToDecoder: one buffer of every frame go-stomp writes,
// with heart-beats between them, decodes into the same frames.
func TestGoStompWriterToDecoder(t *testing.T) {
	frames := crossFrames()
	var buf bytes.Buffer
	w := frame.NewWriter(&buf)
	for _, f := range frames {
		if err := w.Write(nil); err != nil { // a heart-beat
			t.Fatal(err)
		}
		if err := w.Write(toGoStomp(f)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := decodeAll(&stomp.Decoder{Version: stomp.V12}, buf.Bytes())
	if err != nil {
		t.Fatalf("decode go-stomp's output: %v", err)
	}
	if len(got) != len(frames) {
		t.Fatalf("decoded %d frames, want %d", len(got), len(frames))
	}
	for i, f := range frames {
		if err := sameFrame(toGoStomp(got[i]), f); err != nil {
			t.Errorf("frame %d (%s): %v", i, f.Command, err)
		}
	}
}

// TestAppendToGoStompReader: go-stomp reads back every frame we encode in
// 1.2, and in 1.1 those without a CR (1.1 has no \r escape, and go-stomp
// ends lines at CRLF whatever the version).
func TestAppendToGoStompReader(t *testing.T) {
	for _, v := range []stomp.Version{stomp.V11, stomp.V12} {
		var frames []stomp.Frame
		var buf []byte
		for _, f := range crossFrames() {
			if v == stomp.V11 {
				f.Headers = slicesDeleteCR(f.Headers)
			}
			frames = append(frames, f)
			buf = append(buf, "\r\n"...)
			buf = stomp.Append(buf, v, &f)
		}
		r := frame.NewReaderSize(bytes.NewReader(buf), 1<<16)
		for i := 0; i < len(frames); {
			g, err := r.Read()
			if err != nil {
				t.Fatalf("%s: go-stomp reading frame %d: %v", v, i, err)
			}
			if g == nil { // a heart-beat
				continue
			}
			if err := sameFrame(g, frames[i]); err != nil {
				t.Errorf("%s: frame %d (%s): %v", v, i, frames[i].Command, err)
			}
			i++
		}
	}
}

func slicesDeleteCR(hs []stomp.Header) []stomp.Header {
	var out []stomp.Header
	for _, h := range hs {
		if !strings.Contains(h.Key+h.Value, "\r") {
			out = append(out, h)
		}
	}
	return out
}

// TestBuildersToGoStompReader: the frames the gateway sends (CONNECTED,
// RECEIPT, ERROR, stamped MESSAGE) read as meant with go-stomp.
func TestBuildersToGoStompReader(t *testing.T) {
	tmpl := stomp.NewMessageTemplate(stomp.Message{
		Destination: "/v1/topic/conversation/28ccd489",
		ContentType: "application/json",
		Headers:     hdrs("x-note", "a:b\nc"),
		Body:        []byte(`{"startTyping":{"userId":"0be8c544"}}` + "\x00"),
	})
	hb := stomp.HeartBeat{Send: 10 * time.Second, Receive: 10 * time.Second}
	connected := stomp.ConnectedFrame(stomp.V12, hb, "wsgw", "sock-1")
	receipt := stomp.ReceiptFrame("r:7")
	errFrame := stomp.ErrorFrame(`unknown command "FOO"`, "r-8", "the frame was\nFOO")
	var buf []byte
	buf = stomp.Append(buf, stomp.V12, &connected)
	buf = tmpl.Append(buf, stomp.V12, "sub-0", "m-1")
	buf = append(buf, '\n')
	buf = tmpl.Append(buf, stomp.V12, "sub:1", "m-2")
	buf = stomp.Append(buf, stomp.V12, &receipt)
	buf = stomp.Append(buf, stomp.V12, &errFrame)

	r := frame.NewReader(bytes.NewReader(buf))
	read := func() *frame.Frame {
		t.Helper()
		for {
			g, err := r.Read()
			if err != nil {
				t.Fatal(err)
			}
			if g != nil {
				return g
			}
		}
	}
	g := read()
	if g.Command != frame.CONNECTED || g.Header.Get("version") != "1.2" || g.Header.Get("heart-beat") != "10000,10000" || g.Header.Get("session") != "sock-1" {
		t.Errorf("CONNECTED read as %s %v", g.Command, g.Header)
	}
	if cx, cy, err := frame.ParseHeartBeat(g.Header.Get("heart-beat")); err != nil || cx != 10*time.Second || cy != 10*time.Second {
		t.Errorf("go-stomp parses our heart-beat as %v %v %v", cx, cy, err)
	}
	for _, sub := range []string{"sub-0", "sub:1"} {
		g = read()
		if g.Command != frame.MESSAGE || g.Header.Get("subscription") != sub || g.Header.Get("destination") != "/v1/topic/conversation/28ccd489" ||
			g.Header.Get("content-type") != "application/json" || g.Header.Get("x-note") != "a:b\nc" ||
			string(g.Body) != `{"startTyping":{"userId":"0be8c544"}}`+"\x00" {
			t.Errorf("MESSAGE read as %s %v %q", g.Command, g.Header, g.Body)
		}
	}
	if g = read(); g.Command != frame.RECEIPT || g.Header.Get("receipt-id") != "r:7" {
		t.Errorf("RECEIPT read as %s %v", g.Command, g.Header)
	}
	if g = read(); g.Command != frame.ERROR || g.Header.Get("message") != `unknown command "FOO"` || g.Header.Get("receipt-id") != "r-8" || string(g.Body) != "the frame was\nFOO" {
		t.Errorf("ERROR read as %s %v %q", g.Command, g.Header, g.Body)
	}
}

// TestHeartBeatLikeGoStomp: a heart-beat header value parses as go-stomp
// parses it (but for the empty value, which is 0,0 here: no header).
func TestHeartBeatLikeGoStomp(t *testing.T) {
	for _, in := range []string{"0,0", "10000,10000", "1,2", "007,0", "9223372036854,1", "9223372036855,1",
		"1", "1,", ",1", "a,b", "1,2,3", " 1,2", "1 ,2", "-1,2", "+1,2", "1.5,2", "99999999999999999999,1"} {
		want := "error"
		if x, y, err := frame.ParseHeartBeat(in); err == nil {
			want = fmt.Sprint(x, y)
		}
		got := "error"
		if hb, err := stomp.ParseHeartBeat(in); err == nil {
			got = fmt.Sprint(hb.Send, hb.Receive)
		}
		if got != want {
			t.Errorf("ParseHeartBeat(%q) = %s, go-stomp says %s", in, got, want)
		}
	}
}
