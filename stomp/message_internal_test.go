package stomp

import "testing"

// TestMessageTemplateSharesTails: versions whose escaping agrees share one
// encoded tail (one copy of the body), and only those.
func TestMessageTemplateSharesTails(t *testing.T) {
	same := func(a, b []byte) bool { return &a[0] == &b[0] }
	plain := NewMessageTemplate(Message{Destination: "/t", Body: []byte("x")})
	if !same(plain.tail[0], plain.tail[1]) || !same(plain.tail[1], plain.tail[2]) {
		t.Error("plain headers: versions do not share their tail")
	}
	colon := NewMessageTemplate(Message{Destination: "/t:x", Body: []byte("x")})
	if same(colon.tail[0], colon.tail[1]) || !same(colon.tail[1], colon.tail[2]) {
		t.Error("a colon: want 1.0 apart, 1.1 and 1.2 shared")
	}
	cr := NewMessageTemplate(Message{Destination: "/t\r", Body: []byte("x")})
	if !same(cr.tail[0], cr.tail[1]) || same(cr.tail[1], cr.tail[2]) {
		t.Error("a CR: want 1.0 and 1.1 shared (a raw CR), 1.2 apart (\\r)")
	}
	both := NewMessageTemplate(Message{Destination: "/t:\r", Body: []byte("x")})
	if same(both.tail[0], both.tail[1]) || same(both.tail[1], both.tail[2]) || same(both.tail[0], both.tail[2]) {
		t.Error("a colon and a CR: want three tails")
	}
}
