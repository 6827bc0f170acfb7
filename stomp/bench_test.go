package stomp_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/wsgw/wsgw/stomp"
)

// BenchmarkDecode reads typical client messages, as stomp.js and go-stomp
// write them.
//
//	go test ./stomp -run '^$' -bench Decode -benchmem
func BenchmarkDecode(b *testing.B) {
	body4k := strings.Repeat("x", 4096)
	cases := []struct {
		name string
		v    stomp.Version
		msg  string
	}{
		{"CONNECT", 0, "CONNECT\naccept-version:1.2,1.1,1.0\nheart-beat:10000,10000\nhost:api.example.com\n\n\x00"},
		{"SUBSCRIBE", stomp.V12, "SUBSCRIBE\nid:sub-0\ndestination:/v1/topic/conversation/28ccd489-f588-4d35-99a9-1e74ec2475b2\n\n\x00"},
		{"SEND typing", stomp.V12, "SEND\ndestination:/v1/app/conversation/6b92c178-c22b-4bbb-8dec-8d497660b5bf/typing/start\ncontent-length:0\n\n\x00"},
		{"SEND 4KiB content-length", stomp.V12, "SEND\ndestination:/v1/app/x\ncontent-type:text/plain\ncontent-length:4096\n\n" + body4k + "\x00"},
		{"SEND escaped headers", stomp.V12, "SEND\ndestination:/a\\cb\nx-note:line1\\nline2\\\\\n\n{}\x00"},
		{"3 frames and heart-beats", stomp.V12, "\nSUBSCRIBE\nid:0\ndestination:/t\n\n\x00\nSEND\ndestination:/t\n\nx\x00\r\nDISCONNECT\nreceipt:77\n\n\x00\n"},
		{"heart-beat", stomp.V12, "\n"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			msg := []byte(c.msg)
			d := stomp.Decoder{Version: c.v}
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				for _, err := range d.Frames(msg) {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkMessageFanout builds the MESSAGE frames of one publish to 5,000
// subscribers of a destination, one buffer each (each is queued on its own
// connection): with a MessageTemplate, and with a Frame per subscriber
// encoded by Append as the baseline. ns/frame is the cost per subscriber.
//
//	go test ./stomp -run '^$' -bench MessageFanout -benchmem
func BenchmarkMessageFanout(b *testing.B) {
	const subscribers = 5000
	subs := make([]string, subscribers)
	for i := range subs {
		subs[i] = "sub-" + strconv.Itoa(i)
	}
	for _, size := range []int{64, 1024} {
		m := stomp.Message{
			Destination: "/v1/topic/conversation/28ccd489-f588-4d35-99a9-1e74ec2475b2",
			ContentType: "application/json",
			Body:        []byte(`{"startTyping":{"userId":"` + strings.Repeat("u", size-29) + `"}}`),
		}
		out := make([][]byte, subscribers)
		b.Run("template/"+strconv.Itoa(size)+"B", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				t := stomp.NewMessageTemplate(m)
				for i, sub := range subs {
					out[i] = t.Append(nil, stomp.V12, sub, "m-1")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*subscribers), "ns/frame")
		})
		b.Run("frame-per-subscriber/"+strconv.Itoa(size)+"B", func(b *testing.B) {
			b.ReportAllocs()
			length := strconv.Itoa(len(m.Body))
			for b.Loop() {
				for i, sub := range subs {
					f := stomp.Frame{Command: stomp.CmdMessage, Headers: []stomp.Header{
						{Key: "subscription", Value: sub}, {Key: "message-id", Value: "m-1"},
						{Key: "destination", Value: m.Destination}, {Key: "content-type", Value: m.ContentType},
						{Key: "content-length", Value: length}}, Body: m.Body}
					out[i] = stomp.Append(nil, stomp.V12, &f)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*subscribers), "ns/frame")
		})
	}
}
