package handlers_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/wsgw/wsgw/handlers"
	"github.com/wsgw/wsgw/internal/httperr"
)

const batchPath = "/api/v1/websocket/sockets/send"

// TestSendBatch: each item is sent or answered with its own error, in the
// order of the request; a socket receives its items in order.
func TestSendBatch(t *testing.T) {
	a := newAPI(t, "")
	c1, id1 := a.connect()
	c2, id2 := a.connect()
	items := []struct {
		item    string
		errType string // "" when the item is sent
	}{
		{fmt.Sprintf(`{"socket_id": %q, "message": "one"}`, id1), ""},
		{fmt.Sprintf(`{"socket_id": %q, "message": "AAEC/w==", "type": "data-binary"}`, id2), ""},
		{`{"socket_id": "nosuchsocket", "message": "x"}`, "not_found"},
		{fmt.Sprintf(`{"socket_id": %q, "message": "x", "type": "data-json"}`, id1), "invalid_request"},
		{`{"message": "x"}`, "invalid_request"},
		{fmt.Sprintf(`{"socket_id": %q, "message": "x", "extra": 1}`, id1), "invalid_request"},
		{`"not an object"`, "invalid_request"},
		{fmt.Sprintf(`{"socket_id": %q, "message": %q}`, id2, strings.Repeat("x", 1025)), "payload_too_large"},
		{fmt.Sprintf(`{"socket_id": %q, "message": {"a": [1, 2]}}`, id1), ""},
		{fmt.Sprintf(`{"socket_id": %q, "message": "three"}`, id1), ""},
	}
	var body []string
	for _, it := range items {
		body = append(body, it.item)
	}
	status, _, resp := a.do("POST", batchPath, "application/json", "["+strings.Join(body, ",")+"]")
	if status != 200 {
		t.Fatalf("batch: %d %s", status, resp)
	}
	var answers []*httperr.Body
	if err := json.Unmarshal([]byte(resp), &answers); err != nil || len(answers) != len(items) {
		t.Fatalf("batch answered %s, want an array of %d", resp, len(items))
	}
	for i, it := range items {
		switch got := answers[i]; {
		case it.errType == "" && got != nil:
			t.Errorf("item %d: answered %+v, want null", i, *got)
		case it.errType != "" && (got == nil || got.Type != it.errType || got.Error == "" || got.Status == 0):
			t.Errorf("item %d: answered %+v, want a %s error", i, got, it.errType)
		}
	}
	for _, want := range []string{"one", `{"a":[1,2]}`, "three"} {
		if typ, got := c1.Read(); typ != websocket.MessageText || got != want {
			t.Fatalf("first socket received %v %q, want %q", typ, got, want)
		}
	}
	if typ, got := c2.Read(); typ != websocket.MessageBinary || got != "\x00\x01\x02\xff" {
		t.Fatalf("second socket received %v %q", typ, got)
	}
}

// TestSendBatchRefused: a batch that cannot be read as one is refused
// whole, with the limit it broke named.
func TestSendBatchRefused(t *testing.T) {
	a := newAPI(t, "")
	_, id := a.connect()
	item := fmt.Sprintf(`{"socket_id": %q, "message": "x"}`, id)
	tooMany := "[" + strings.Repeat(item+",", handlers.MaxBatchItems) + item + "]"
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
		errType, mention        string
	}{
		{"empty", "application/json", `[]`, 400, "invalid_request", "empty"},
		{"an object", "application/json", item, 400, "invalid_request", "array"},
		{"null", "application/json", `null`, 400, "invalid_request", "array"},
		{"bad JSON", "application/json", `[` + item, 400, "invalid_request", "array"},
		{"too many items", "application/json", tooMany, 413, "payload_too_large", fmt.Sprint(handlers.MaxBatchItems)},
		{"not JSON", "text/plain", "[" + item + "]", 415, "unsupported_media_type", "application/json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := a.do("POST", batchPath, tc.contentType, tc.body)
			if status != tc.status || errorBody(t, status, body) != tc.errType || !strings.Contains(body, tc.mention) {
				t.Fatalf("%d %s, want %d %s mentioning %q", status, body, tc.status, tc.errType, tc.mention)
			}
		})
	}
	for _, method := range []string{"GET", "DELETE", "PUT"} {
		status, hdr, body := a.do(method, batchPath, "", "")
		if status != 405 || hdr.Get("Allow") != "POST" || errorBody(t, status, body) != "method_not_allowed" {
			t.Errorf("%s %s: %d Allow %q %s, want 405 Allow POST", method, batchPath, status, hdr.Get("Allow"), body)
		}
	}
}
