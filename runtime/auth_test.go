package runtime_test

import (
	"testing"

	"github.com/wsgw/wsgw/runtime"
)

// TestAuthClaimsAreACopy: a script that writes to websocketInfo.auth changes
// its own copy, never the connection's claims seen by the next event.
func TestAuthClaimsAreACopy(t *testing.T) {
	e := newEngine(t, runtime.Options{PoolSize: 1})
	c := newConn()
	c.auth = map[string]any{"sub": "alice", "roles": []any{"user"}, "org": map[string]any{"id": 7.0}}
	h := mustCompile(t, `
var a = websocketInfo.auth;
websocketInfo.send(a.sub + " " + a.roles.join() + " " + a.org.id);
a.sub = "admin"; a.roles.push("admin"); a.org.id = 1; delete a.org;`)
	for range 2 {
		if err := run(t, e, h, c, runtime.Event{Type: runtime.Data}); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.texts(); len(got) != 2 || got[0] != "alice user 7" || got[1] != "alice user 7" {
		t.Fatalf("the script saw %q; its writes must not reach the claims", got)
	}
	if c.auth["sub"] != "alice" || len(c.auth["roles"].([]any)) != 1 || c.auth["org"] == nil {
		t.Fatalf("claims changed to %v", c.auth)
	}
}
