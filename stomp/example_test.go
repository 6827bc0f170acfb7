package stomp_test

import (
	"fmt"
	"time"

	"github.com/wsgw/wsgw/stomp"
)

// A connection's side of the protocol: each WebSocket message goes through
// the connection's Decoder; CONNECT sets the version for what follows; any
// error becomes an ERROR frame (and the gateway closes the connection).
func ExampleDecoder_Frames() {
	server := stomp.HeartBeat{Send: 10 * time.Second, Receive: 10 * time.Second}
	var dec stomp.Decoder // one per connection; the zero value reads CONNECT
	var out []byte        // what the gateway would send, one frame per message

	for _, msg := range []string{
		"CONNECT\naccept-version:1.1,1.2\nheart-beat:5000,20000\nhost:example.com\n\n\x00",
		"SUBSCRIBE\nid:sub-0\ndestination:/topic/chat\nreceipt:r1\n\n\x00\n",
		"SEND\ndestination:/topic/chat\n\nhi", // no NUL: malformed
	} {
		for f, err := range dec.Frames([]byte(msg)) {
			if err == nil {
				err = stomp.Validate(dec.Version, &f)
			}
			if err != nil {
				e := stomp.ErrorFrame(err.Error(), f.Get("receipt"), "")
				out = stomp.Append(out[:0], dec.Version, &e)
				fmt.Printf("%q\n", out)
				break
			}
			switch f.Command {
			case stomp.CmdConnect, stomp.CmdStomp:
				v, _ := stomp.NegotiateVersion(f.Get("accept-version"))
				client, _ := stomp.ParseHeartBeat(f.Get("heart-beat"))
				send, expect := stomp.NegotiateHeartBeat(server, client)
				fmt.Println("version", v, "send every", send, "expect every", expect)
				dec.Version = v
				c := stomp.ConnectedFrame(v, server, "wsgw", "socket-1")
				out = stomp.Append(out[:0], v, &c)
			case stomp.CmdSubscribe:
				r := stomp.ReceiptFrame(f.Get("receipt"))
				out = stomp.Append(out[:0], dec.Version, &r)
			}
			fmt.Printf("%q\n", out)
		}
	}
	// Output:
	// version 1.2 send every 20s expect every 10s
	// "CONNECTED\nversion:1.2\nheart-beat:10000,10000\nserver:wsgw\nsession:socket-1\n\n\x00"
	// "RECEIPT\nreceipt-id:r1\n\n\x00"
	// "ERROR\nmessage:incomplete frame\\c the message ends before the NUL that ends the SEND frame\n\n\x00"
}

// Fan-out: encode the common part of a publish once, then stamp each
// subscription's frame.
func ExampleMessageTemplate() {
	tmpl := stomp.NewMessageTemplate(stomp.Message{
		Destination: "/topic/chat",
		ContentType: "application/json",
		Body:        []byte(`{"online":42}`),
	})
	for _, sub := range []string{"sub-0", "sub-1"} {
		fmt.Printf("%q\n", tmpl.Append(nil, stomp.V12, sub, "m-1"))
	}
	// Output:
	// "MESSAGE\nsubscription:sub-0\nmessage-id:m-1\ndestination:/topic/chat\ncontent-type:application/json\ncontent-length:13\n\n{\"online\":42}\x00"
	// "MESSAGE\nsubscription:sub-1\nmessage-id:m-1\ndestination:/topic/chat\ncontent-type:application/json\ncontent-length:13\n\n{\"online\":42}\x00"
}
