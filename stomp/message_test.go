package stomp_test

import (
	"reflect"
	"testing"

	"github.com/wsgw/wsgw/stomp"
)

func TestMessageTemplate(t *testing.T) {
	tests := []struct {
		name     string
		msg      stomp.Message
		sub, id  string
		versions map[stomp.Version]string
		// decoded is the frame each version reads back.
		decoded map[stomp.Version]stomp.Frame
	}{
		{
			name: "plain JSON",
			msg:  stomp.Message{Destination: "/topic/a", ContentType: "application/json", Body: []byte(`{"online":42}`)},
			sub:  "sub-0", id: "m-1",
			versions: map[stomp.Version]string{
				stomp.V10: "MESSAGE\nsubscription:sub-0\nmessage-id:m-1\ndestination:/topic/a\ncontent-type:application/json\ncontent-length:13\n\n{\"online\":42}\x00",
				stomp.V11: "MESSAGE\nsubscription:sub-0\nmessage-id:m-1\ndestination:/topic/a\ncontent-type:application/json\ncontent-length:13\n\n{\"online\":42}\x00",
				stomp.V12: "MESSAGE\nsubscription:sub-0\nmessage-id:m-1\ndestination:/topic/a\ncontent-type:application/json\ncontent-length:13\n\n{\"online\":42}\x00",
			},
		},
		{
			name: "escaping per version, extra headers, reserved ones left out",
			msg: stomp.Message{
				Destination: "/q:x",
				Headers:     hdrs("x-a", "1\n2", "subscription", "forged", "content-length", "99", "content-type", "x/y", "", "nameless"),
				Body:        []byte("a\x00b"),
			},
			sub: "s:1", id: "i\\d",
			versions: map[stomp.Version]string{
				stomp.V10: "MESSAGE\nsubscription:s:1\nmessage-id:i\\d\ndestination:/q:x\ncontent-length:3\nx-a:1 2\n\na\x00b\x00",
				stomp.V11: "MESSAGE\nsubscription:s\\c1\nmessage-id:i\\\\d\ndestination:/q\\cx\ncontent-length:3\nx-a:1\\n2\n\na\x00b\x00",
				stomp.V12: "MESSAGE\nsubscription:s\\c1\nmessage-id:i\\\\d\ndestination:/q\\cx\ncontent-length:3\nx-a:1\\n2\n\na\x00b\x00",
			},
			decoded: map[stomp.Version]stomp.Frame{
				stomp.V10: {Command: stomp.CmdMessage, Headers: hdrs("subscription", "s:1", "message-id", "i\\d", "destination", "/q:x", "content-length", "3", "x-a", "1 2"), Body: []byte("a\x00b")},
				stomp.V11: {Command: stomp.CmdMessage, Headers: hdrs("subscription", "s:1", "message-id", "i\\d", "destination", "/q:x", "content-length", "3", "x-a", "1\n2"), Body: []byte("a\x00b")},
				stomp.V12: {Command: stomp.CmdMessage, Headers: hdrs("subscription", "s:1", "message-id", "i\\d", "destination", "/q:x", "content-length", "3", "x-a", "1\n2"), Body: []byte("a\x00b")},
			},
		},
		{
			name: "empty body",
			msg:  stomp.Message{Destination: "/t", ContentType: "text/plain"},
			sub:  "0", id: "1",
			versions: map[stomp.Version]string{
				stomp.V12: "MESSAGE\nsubscription:0\nmessage-id:1\ndestination:/t\ncontent-type:text/plain\ncontent-length:0\n\n\x00",
				0:         "MESSAGE\nsubscription:0\nmessage-id:1\ndestination:/t\ncontent-type:text/plain\ncontent-length:0\n\n\x00",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := stomp.NewMessageTemplate(tt.msg)
			for v, want := range tt.versions {
				got := tmpl.Append([]byte("prefix"), v, tt.sub, tt.id)
				if string(got) != "prefix"+want {
					t.Fatalf("%s:\n got %q\nwant %q", v, got[len("prefix"):], want)
				}
				frames, err := decodeAll(&stomp.Decoder{Version: v}, got[len("prefix"):])
				if err != nil || len(frames) != 1 {
					t.Fatalf("%s: decode = %v, %v", v, frames, err)
				}
				if d, ok := tt.decoded[v]; ok && !reflect.DeepEqual(frames[0], d) {
					t.Fatalf("%s: decoded\n got %#v\nwant %#v", v, frames[0], d)
				}
			}
		})
	}
}

// TestMessageTemplateMatchesAppend: a stamped frame is byte for byte the
// frame Append writes for the same headers.
func TestMessageTemplateMatchesAppend(t *testing.T) {
	m := stomp.Message{Destination: "/topic/conversation/1", ContentType: "application/json",
		Headers: hdrs("x-event", "startTyping"), Body: []byte(`{"startTyping":{"userId":"u"}}`)}
	tmpl := stomp.NewMessageTemplate(m)
	for _, v := range []stomp.Version{stomp.V10, stomp.V11, stomp.V12} {
		f := stomp.Frame{Command: stomp.CmdMessage, Headers: hdrs(
			"subscription", "sub-7", "message-id", "42",
			"destination", m.Destination, "content-type", m.ContentType, "content-length", "30",
			"x-event", "startTyping"), Body: m.Body}
		if got, want := tmpl.Append(nil, v, "sub-7", "42"), stomp.Append(nil, v, &f); string(got) != string(want) {
			t.Errorf("%s:\ntemplate %q\n  Append %q", v, got, want)
		}
		f.Headers = append(f.Headers[:2:2], append(hdrs("ack", "a:1"), f.Headers[2:]...)...)
		if got, want := tmpl.AppendAck(nil, v, "sub-7", "42", "a:1"), stomp.Append(nil, v, &f); string(got) != string(want) {
			t.Errorf("%s with ack:\ntemplate %q\n  Append %q", v, got, want)
		}
	}
}

// TestMessageTemplateOneAllocation: stamping a subscriber's frame into a
// nil buffer allocates that buffer and nothing else.
func TestMessageTemplateOneAllocation(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector adds allocations")
	}
	tmpl := stomp.NewMessageTemplate(stomp.Message{Destination: "/t", ContentType: "application/json", Body: make([]byte, 300)})
	for _, v := range []stomp.Version{stomp.V10, stomp.V11, stomp.V12} {
		if n := testing.AllocsPerRun(100, func() { tmpl.Append(nil, v, "sub-1", "m-1") }); n != 1 {
			t.Errorf("%s: %v allocations per frame, want 1", v, n)
		}
	}
}
