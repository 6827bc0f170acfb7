package gateway_test

import (
	"strings"
	"testing"
	"time"

	"github.com/lxzan/gws"

	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/internal/gwtest"
)

func TestIdleTimeoutClosesSilentClients(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/x": idScript},
		Limits:  gateway.Limits{IdleTimeout: 300 * time.Millisecond, CloseTimeout: 200 * time.Millisecond},
	})
	c := h.Dial("/x", nil)
	id := c.ReadText() // then never read again: pings go unanswered
	line := h.ClosedLine(id)
	if line["code"] != int64(1001) || line["reason"] != "idle timeout" {
		t.Fatalf("silent client closed with %v %v, want 1001 idle timeout", line["code"], line["reason"])
	}
}

// pingCounter is a gws client that answers pings and reports each one.
type pingCounter struct {
	gws.BuiltinEventHandler
	pings    chan struct{}
	messages chan string
}

func (p *pingCounter) OnPing(c *gws.Conn, payload []byte) {
	_ = c.WritePong(payload)
	p.pings <- struct{}{}
}

func (p *pingCounter) OnMessage(_ *gws.Conn, m *gws.Message) {
	p.messages <- m.Data.String()
	m.Close()
}

// next is the next message the client received; a lost one fails the test.
func (p *pingCounter) next(t *testing.T) string {
	t.Helper()
	select {
	case m := <-p.messages:
		return m
	case <-time.After(gwtest.WaitFor):
		t.Fatalf("no message within %v", gwtest.WaitFor)
		return ""
	}
}

func TestPingsKeepAnsweringClientsOpen(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/x": idScript},
		Limits:  gateway.Limits{IdleTimeout: 300 * time.Millisecond},
	})
	p := &pingCounter{pings: make(chan struct{}, 100), messages: make(chan string, 10)}
	client, _, err := gws.NewClient(p, &gws.ClientOption{Addr: h.URL("/x")})
	if err != nil {
		t.Fatal(err)
	}
	defer client.NetConn().Close()
	go client.ReadLoop()
	p.next(t)          // the socket_id
	for i := range 4 { // four pings: well past the idle timeout, answered every time
		select {
		case <-p.pings:
		case <-time.After(gwtest.WaitFor):
			t.Fatalf("ping %d never came", i+1)
		}
	}
	if err := client.WriteString("still open"); err != nil {
		t.Fatalf("write after pings: %v", err)
	}
	if got := p.next(t); !strings.Contains(got, "still open") {
		t.Fatalf("echo after pings = %q", got)
	}
}
