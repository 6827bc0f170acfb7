package runtime_test

import (
	"errors"
	"testing"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/runtime"
	"github.com/wsgw/wsgw/stomp"
)

// TestSTOMPEventFields runs the events of a STOMP endpoint: the script sees
// the type, the destination and the frame's command and headers (the first
// of a repeated header), and plain events have neither field.
func TestSTOMPEventFields(t *testing.T) {
	e := newEngine(t, runtime.Options{})
	h := mustCompile(t, `return JSON.stringify([websocketInfo.type, websocketInfo.destination, websocketInfo.stomp, websocketInfo.message]);`)
	frame := &stomp.Frame{Command: "SEND", Headers: []stomp.Header{{Key: "destination", Value: "/q"}, {Key: "x", Value: "1"}, {Key: "x", Value: "2"}}}
	for _, tc := range []struct {
		ev   runtime.Event
		want string
	}{
		{runtime.Event{Type: runtime.Data, Data: []byte("hi"), Frame: frame, Destination: "/q"},
			`["data","/q",{"command":"SEND","headers":{"destination":"/q","x":"1"}},"hi"]`},
		{runtime.Event{Type: runtime.Open, Frame: &stomp.Frame{Command: "CONNECT", Headers: []stomp.Header{{Key: "accept-version", Value: "1.2"}}}},
			`["open","",{"command":"CONNECT","headers":{"accept-version":"1.2"}},""]`},
		{runtime.Event{Type: runtime.Data, Data: []byte("plain")}, `["data",null,null,"plain"]`},
	} {
		c := newConn()
		if err := run(t, e, h, c, tc.ev); err != nil {
			t.Fatal(err)
		}
		if got := c.texts(); len(got) != 1 || got[0] != tc.want {
			t.Fatalf("%s event sent %q, want %q", tc.ev.Type, got, tc.want)
		}
	}
}

// TestSubscribeRefusal: a subscribe event that returns false ends with
// ErrRefused; one that returns anything else, or nothing, accepts and sends
// nothing; one that throws is a script error.
func TestSubscribeRefusal(t *testing.T) {
	e := newEngine(t, runtime.Options{})
	frame := &stomp.Frame{Command: "SUBSCRIBE", Headers: []stomp.Header{{Key: "id", Value: "0"}, {Key: "destination", Value: "/x"}}}
	for _, tc := range []struct {
		script  string
		refused bool
		thrown  bool
	}{
		{`return websocketInfo.destination !== "/x";`, true, false},
		{`return websocketInfo.type === "subscribe";`, false, false},
		{`if (websocketInfo.destination === "/x") throw new Error("no");`, false, true},
		{`return 0;`, false, false},
	} {
		c := newConn()
		err := run(t, e, mustCompile(t, tc.script), c, runtime.Event{Type: runtime.Subscribe, Frame: frame, Destination: "/x"})
		var se *runtime.ScriptError
		if errors.Is(err, runtime.ErrRefused) != tc.refused || errors.As(err, &se) != tc.thrown {
			t.Fatalf("%s: err = %v, want refused %v, thrown %v", tc.script, err, tc.refused, tc.thrown)
		}
		if len(c.texts()) != 0 {
			t.Fatalf("%s: the subscribe event sent %q", tc.script, c.texts())
		}
	}
}

// TestSendOptionsObject: send's second argument may be an options object
// with type, destination and headers; a string is still the type.
func TestSendOptionsObject(t *testing.T) {
	e := newEngine(t, runtime.Options{})
	c := newConn()
	h := mustCompile(t, `
websocketInfo.send({a: 1}, {destination: "/topic/t", headers: {k: "v"}});
websocketInfo.send("text", {destination: "/topic/u"});
websocketInfo.send("AAE=", {type: "data-binary", destination: "/topic/b"});
websocketInfo.send("AAE=", "data-binary");
websocketInfo.send("plain", {});`)
	if err := run(t, e, h, c, runtime.Event{Type: runtime.Data}); err != nil {
		t.Fatal(err)
	}
	want := []wsgw.Message{
		{Data: []byte(`{"a":1}`), JSON: true, Destination: "/topic/t", Headers: map[string]string{"k": "v"}},
		{Data: []byte("text"), Destination: "/topic/u"},
		{Data: []byte{0, 1}, Binary: true, Destination: "/topic/b"},
		{Data: []byte("plain")},
	}
	if len(c.delivered) != len(want) {
		t.Fatalf("delivered %+v, want %+v", c.delivered, want)
	}
	for i, m := range c.delivered {
		w := want[i]
		if string(m.Data) != string(w.Data) || m.Binary != w.Binary || m.JSON != w.JSON || m.Destination != w.Destination || len(m.Headers) != len(w.Headers) || m.Headers["k"] != w.Headers["k"] {
			t.Fatalf("message %d = %+v, want %+v", i, m, w)
		}
	}
	if f := c.frames; len(f) != 1 || !f[0].Binary || f[0].Data != "\x00\x01" {
		t.Fatalf("plain sends: %+v, want the binary frame of the string type", f)
	}
	bad := mustCompile(t, `websocketInfo.send("x", {headers: "k"});`)
	var se *runtime.ScriptError
	if err := run(t, e, bad, newConn(), runtime.Event{Type: runtime.Data}); !errors.As(err, &se) {
		t.Fatalf("headers not an object: %v, want a script error", err)
	}
}
