package handlers

import (
	"bytes"
	"testing"
)

// FuzzQuickSend: whenever quickSend takes a body, encoding/json decodes it
// (strictly, as DecodeSend does) to the same message and type.
func FuzzQuickSend(f *testing.F) {
	for _, body := range []string{
		`{"message":"hello","type":"data-text"}`,
		` { "type" : "data-binary" , "message" : "AAE=" } `,
		`{"message":"x"}`,
		`{"Message":"x"}`,
		`{"message":"x","message":"y"}`,
		`{"message":"a\"b"}`,
		`{"message":"\u00e9"}`,
		"{\"message\":\"\xff\"}",
		`{"message":"x"} {}`,
		`{"message":"x",}`,
		`{"message":5}`,
		`{"type":"data-text"}`,
		`{}`,
	} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		message, typ, ok := quickSend(body)
		if !ok {
			return
		}
		var raw sendJSON
		if err := decodeStrict(body, &raw); err != nil {
			t.Fatalf("quickSend took %q, which encoding/json refuses: %v", body, err)
		}
		if !bytes.Equal(message, raw.Message) || (typ == nil) != (raw.Type == nil) || typ != nil && *typ != *raw.Type {
			t.Fatalf("quickSend read %q as %s, %v; encoding/json as %s, %v", body, message, typ, raw.Message, raw.Type)
		}
		if raw.Destination != "" || raw.Headers != nil {
			t.Fatalf("quickSend took %q, which has destination or headers", body)
		}
	})
}

// TestQuickSendTakesTheCommonBody: the body of a plain text send takes the
// quick path, and what it leaves to encoding/json is not taken.
func TestQuickSendTakesTheCommonBody(t *testing.T) {
	tests := []struct {
		body, message string
		ok            bool
	}{
		{`{"message":"wsb:1:2:3:xx","type":"data-text"}`, `"wsb:1:2:3:xx"`, true},
		{"{\n\t\"message\": \"é\"\r\n}\n", `"é"`, true},
		{`{"message":"x","type":"data-text","destination":"/q"}`, "", false},
		{`{"message":"a\nb"}`, "", false},
		{`{"message":{"a":1}}`, "", false},
		{`{"type":null,"message":"x"}`, "", false},
		{`{"message":"x"`, "", false},
	}
	for _, tc := range tests {
		message, _, ok := quickSend([]byte(tc.body))
		if ok != tc.ok || string(message) != tc.message {
			t.Errorf("quickSend(%q) = %s, %v; want %s, %v", tc.body, message, ok, tc.message, tc.ok)
		}
	}
}
