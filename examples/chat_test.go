// The chat example of the quick start (chat.js on /chat/{room}), played
// against the real binary on examples/gateway.yaml.
package examples_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/wsgw/wsgw/internal/exampletest"
	"github.com/wsgw/wsgw/internal/gwtest"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

// TestChat: two people in a room and one in another: each gets a welcome,
// the room's notices and messages but not their own, nothing of the other
// room; /who names the room from its members' state; a rename and a leave
// are told; the REST API sees the room as a group.
func TestChat(t *testing.T) {
	gw := exampletest.Start(t, "gateway.yaml", exampletest.Options{})
	read := func(c *gwtest.Client, want string) {
		t.Helper()
		if got := c.ReadText(); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	ana := gw.Dial(t, "/chat/lobby?nick=ana", nil)
	read(ana, "* welcome to lobby, ana (/who lists the room, /nick <name> renames you)")
	bo := gw.Dial(t, "/chat/lobby?nick=bo", nil)
	read(bo, "* welcome to lobby, bo (/who lists the room, /nick <name> renames you)")
	read(ana, "* bo joined")
	cy := gw.Dial(t, "/chat/"+url.PathEscape("back office")+"?nick=cy", nil)
	read(cy, "* welcome to back office, cy (/who lists the room, /nick <name> renames you)")

	ana.Send("hello")
	read(bo, "ana: hello")
	bo.Send("/who")
	read(bo, "* in lobby: ana, bo")
	bo.Send("/nick bob")
	read(ana, "* bo is now bob")
	read(bo, "* bo is now bob")
	cy.Send("anyone?") // alone in its room: nobody gets it, not even cy
	cy.Send("/who")
	read(cy, "* in back office: cy")

	var members []string
	gw.CallJSON(t, http.MethodGet, "/api/v1/websocket/groups/lobby/sockets", nil, http.StatusOK, &members)
	if len(members) != 2 {
		t.Fatalf("the lobby as REST lists it: %v, want 2 members", members)
	}
	gw.Call(t, http.MethodPost, "/api/v1/websocket/groups/lobby/send", map[string]any{"message": "* the admin says hi"})
	read(ana, "* the admin says hi")
	read(bo, "* the admin says hi")

	_ = bo.WS.CloseNow()
	read(ana, "* bob left")
	ana.Send("still here?")
	ana.Send("/who")
	read(ana, "* in lobby: ana")
}
