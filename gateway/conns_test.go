package gateway_test

import (
	"errors"
	"testing"

	"github.com/coder/websocket"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/internal/gwtest"
)

// TestConnsServeOtherNodes: the connection table is the bus's Local, what
// other nodes' commands do here.
func TestConnsServeOtherNodes(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{"/id": idScript}})
	c := h.Dial("/id", nil)
	id := c.ReadText()
	local := h.Conns
	if err := local.Send(id, &wsgw.Message{Data: []byte("from afar")}); err != nil {
		t.Fatal(err)
	}
	if got := c.ReadText(); got != "from afar" {
		t.Fatalf("got %q", got)
	}
	if s, err := local.Info(id); err != nil || s.ID != id || s.Type != "open" {
		t.Fatalf("Info = %+v, %v", s, err)
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"send to an unknown socket", local.Send("nope", &wsgw.Message{Data: []byte("x")}), wsgw.ENotFound},
		{"info of an unknown socket", func() error { _, err := local.Info("nope"); return err }(), wsgw.ENotFound},
		{"close with a reserved code", local.CloseSocket(id, 1005, ""), wsgw.EInvalid},
		{"close of an unknown socket", local.CloseSocket("nope", 1000, ""), wsgw.ENotFound},
	}
	for _, tc := range tests {
		if got := wsgw.ErrorCode(tc.err); got != tc.want {
			t.Fatalf("%s: error %v, want code %q", tc.name, tc.err, tc.want)
		}
	}
	if n := local.CloseAll(); n != 1 {
		t.Fatalf("CloseAll = %d, want 1", n)
	}
	if code, _ := c.ExpectClose(); code != websocket.StatusNormalClosure {
		t.Fatalf("closed with %d", code)
	}
	var e *wsgw.Error
	if err := local.CloseSocket(id, 1000, ""); !errors.As(err, &e) || e.Code != wsgw.ENotFound {
		t.Fatalf("close of a closing socket = %v, want not found", err)
	}
}
