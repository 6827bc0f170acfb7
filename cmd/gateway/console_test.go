package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/wsgw/wsgw/internal/gwtest"
)

// The console tests drive /console/ in headless Chromium, against a gateway
// started as the binary starts it. Outside CI they skip when no Chromium is
// installed; under CI=true (.ci/run installs Debian's chromium) they fail.

// idJS tells each client its socket_id, so that a test knows which row is its.
const idJS = `if (websocketInfo.type === "open") return websocketInfo.socket_id;`

// roomJS puts a client in the group its path names and binds it to the user
// its ?user= names, keeps a nickname in its state, and tells it its
// socket_id.
const roomJS = `if (websocketInfo.type === "open") {
  websocketInfo.join(websocketInfo.parameters.room);
  const user = websocketInfo.parameters.user;
  if (user) websocketInfo.setUser(user);
  websocketInfo.state = {nick: user || "guest", room: websocketInfo.parameters.room};
  return websocketInfo.socket_id;
}`

// consoleFiles is a gateway on loopback ports whose admin API needs token
// (none when ""), with its scripts.
func consoleFiles(token string) map[string]string {
	return map[string]string{
		"gateway.yaml": fmt.Sprintf(`
listen: "127.0.0.1:0"
admin: {listen: "127.0.0.1:0", token: %q}
log: {level: info, format: json}
limits: {messages_per_second: 0}
endpoints:
  - path: /id
    script: id.js
  - path: /echo
    script: echo.js
  - path: /room/{room}
    script: room.js
  - path: /proto
    script: id.js
    subprotocols: [chat.v2, chat.v1]
`, token),
		"id.js":   idJS,
		"echo.js": echoJS,
		"room.js": roomJS,
	}
}

// browser is one headless Chromium tab.
type browser struct {
	t   *testing.T
	ctx context.Context
}

// chromium finds the browser: $WSGW_CHROMIUM, else chromium or Chrome on the PATH.
func chromium(t *testing.T) string {
	t.Helper()
	names := []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}
	if p := os.Getenv("WSGW_CHROMIUM"); p != "" {
		names = []string{p}
	}
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found (" + strings.Join(names, ", ") + "): install Debian's chromium (apt-get install chromium) or set WSGW_CHROMIUM to run the console tests"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// newBrowser starts headless Chromium with a fresh profile; it stops when
// the test ends.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	// Start the browser with no deadline: a deadline on the first call would
	// stop the browser with it.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("starting Chromium: %v", err)
		}
	case <-time.After(waitFor):
		t.Fatalf("Chromium did not start within %v", waitFor)
	}
	// Any uncaught JavaScript error fails the test.
	var mu sync.Mutex
	var thrown []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*cdpruntime.EventExceptionThrown); ok {
			what := e.ExceptionDetails.Text
			if x := e.ExceptionDetails.Exception; x != nil {
				what += " " + x.Description
			}
			mu.Lock()
			thrown = append(thrown, what)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range thrown {
			t.Errorf("the page threw: %s", e)
		}
	})
	return &browser{t: t, ctx: ctx}
}

// do runs actions, each wait bounded by waitFor.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitFor)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval answers a JavaScript expression's value.
func eval[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitFor)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// until waits for a JavaScript expression to be true.
func (b *browser) until(what, js string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitFor)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(waitFor))); err != nil {
		b.t.Fatalf("waiting for %s (%s): %v; the page's last message: %q", what, js, err, b.text("#toast"))
	}
}

// click clicks the element sel once it is there, finding and clicking it in
// one step: the lists render again as the gateway changes, and a node found
// by one call may be gone by the next.
func (b *browser) click(what, sel string) {
	b.t.Helper()
	b.until(what, fmt.Sprintf(`(() => { const el = document.querySelector(%q); if (!el) return false; el.click(); return true; })()`, sel))
}

// text is the text of the element sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`document.querySelector(%q)?.textContent ?? ""`, sel))
}

// setValue sets an input's or a select's value, "" too (chromedp.SetValue
// refuses to set ""), as a user would: with input and change events.
func setValue(sel, value string) chromedp.Action[chromedp.Void] {
	v, _ := json.Marshal(value)
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.value = %s;
		for (const e of ["input", "change"]) el.dispatchEvent(new Event(e, {bubbles: true})); })()`, sel, v))
}

// socketID reads the socket_id the /id script sends a new client.
func socketID(t *testing.T, c *gwtest.Client) string {
	t.Helper()
	id := c.ReadText()
	if len(id) != 22 {
		t.Fatalf("socket_id %q", id)
	}
	return id
}

// adminGet makes an admin call with the token and answers the status and body.
func adminGet(t *testing.T, srv *server, method, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+srv.adminAddr+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.String()
}

// TestConsole clicks through the console against a gateway with an admin
// token: nothing but the static files loads before the token; then a
// connecting client appears, a send reaches it, a close closes it with the
// code given, close-all asks first, and a script that does not compile shows
// its line.
func TestConsole(t *testing.T) {
	const token = "console-s3cret"
	srv, _ := startGateway(t, consoleFiles(token))
	b := newBrowser(t)
	ws := func(path string) string { return "ws://" + srv.publicAddr + path }
	consoleURL := "http://" + srv.adminAddr + "/console"

	var mu sync.Mutex
	apiStatus := map[string][]int{} // API path -> the statuses the page got
	if err := chromedp.Listen(b.ctx, func(ev any) {
		if e, ok := ev.(*network.EventResponseReceived); ok && strings.Contains(e.Response.URL, "/api/") {
			mu.Lock()
			path := strings.TrimPrefix(e.Response.URL, "http://"+srv.adminAddr)
			apiStatus[path] = append(apiStatus[path], int(e.Response.Status))
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}

	first := gwtest.Dial(t, ws("/id"), nil)
	firstID := socketID(t, first)

	t.Run("the token prompt gates everything", func(t *testing.T) {
		b.t = t
		if status, _ := adminGet(t, srv, "GET", "/console/app.js", ""); status != 200 {
			t.Fatalf("the console's files without the token: %d, want 200", status)
		}
		b.do("open the console", chromedp.Navigate(consoleURL), chromedp.WaitVisible(chromedp.CSS("#token-dialog")))
		if got := eval[string](b, `location.pathname`); got != "/console/" {
			t.Fatalf("/console led to %s, want /console/", got)
		}
		// The page asked for sockets, endpoints and the stream, and got 401
		// for each: no data until the token.
		b.until("the first calls to be refused", `document.querySelector("#token-dialog").open`)
		mu.Lock()
		for path, statuses := range apiStatus {
			for _, s := range statuses {
				if s != 401 {
					t.Errorf("before the token, %s answered %d", path, s)
				}
			}
		}
		asked := len(apiStatus)
		mu.Unlock()
		if asked == 0 {
			t.Fatal("the page made no API call before the token")
		}
		if rows := eval[int](b, `document.querySelectorAll("#sockets tbody tr, #endpoints tbody tr").length`); rows != 0 {
			t.Fatalf("%d rows shown without the token", rows)
		}

		b.do("give a wrong token", chromedp.SendKeys(chromedp.CSS("#token-input"), "wrong"), chromedp.Click(chromedp.CSS("#token-submit")))
		b.until("the prompt again, saying the token was refused",
			`document.querySelector("#token-dialog").open && document.querySelector("#token-message").textContent.includes("refused")`)

		b.do("give the token", chromedp.SendKeys(chromedp.CSS("#token-input"), token), chromedp.Click(chromedp.CSS("#token-submit")))
		b.until("the prompt to close", `!document.querySelector("#token-dialog").open`)
		if got := eval[string](b, `sessionStorage.getItem("wsgw.admin.token")`); got != token {
			t.Fatalf("sessionStorage holds %q, want the token", got)
		}
		b.until("the stats stream", `document.querySelector("#live").textContent === "live"`)
	})

	t.Run("a connecting socket appears", func(t *testing.T) {
		b.t = t
		b.until("the socket open before the token", fmt.Sprintf(`!!document.querySelector('#sockets tr[data-id=%q]')`, firstID))
		c := gwtest.Dial(t, ws("/id"), nil)
		id := socketID(t, c)
		b.until("the new socket's row, without a reload", fmt.Sprintf(`!!document.querySelector('#sockets tr[data-id=%q]')`, id))
		if route := b.text(fmt.Sprintf(`#sockets tr[data-id=%q] td:nth-child(2)`, id)); route != "/id" {
			t.Fatalf("route cell %q, want /id", route)
		}
		b.until("this node's count", `document.querySelector("#open-now").textContent === "2"`)
	})

	t.Run("send and close", func(t *testing.T) {
		b.t = t
		b.click("open the socket's details", fmt.Sprintf(`#sockets tr[data-id=%q]`, firstID))
		b.until("the details", fmt.Sprintf(`document.querySelector("#details-id").textContent === %q`, firstID))
		if route := b.text("#details-info dd"); route != "/id" {
			t.Fatalf("details start with %q, want the route /id", route)
		}

		b.do("send text", chromedp.SendKeys(chromedp.CSS("#send-message"), "hello from the console"), chromedp.Click(chromedp.CSS("#send")))
		if got := first.ReadText(); got != "hello from the console" {
			t.Fatalf("the client got %q", got)
		}
		b.do("send binary",
			chromedp.SetValue(chromedp.CSS("#send-message"), "AAEC/w=="),
			chromedp.SetValue(chromedp.CSS("#send-type"), "data-binary"),
			chromedp.Click(chromedp.CSS("#send")))
		if typ, got := first.Read(); typ != websocket.MessageBinary || got != "\x00\x01\x02\xff" {
			t.Fatalf("the client got a %v frame %q, want binary 00 01 02 ff", typ, got)
		}

		b.do("close with a code",
			chromedp.SetValue(chromedp.CSS("#close-code"), "4321"),
			chromedp.SendKeys(chromedp.CSS("#close-reason"), "bye from the console"),
			chromedp.Click(chromedp.CSS("#close")))
		if code, reason := first.ExpectClose(); code != 4321 || reason != "bye from the console" {
			t.Fatalf("the client saw close %d %q, want 4321 and the reason", code, reason)
		}
		b.until("the closed socket to leave the list", fmt.Sprintf(`!document.querySelector('#sockets tr[data-id=%q]:not(.gone)')`, firstID))
	})

	t.Run("close all asks first", func(t *testing.T) {
		b.t = t
		others := []*gwtest.Client{gwtest.Dial(t, ws("/id"), nil), gwtest.Dial(t, ws("/id"), nil)}
		var ids []string
		for _, c := range others {
			id := socketID(t, c)
			ids = append(ids, id)
			b.until("the socket's row", fmt.Sprintf(`!!document.querySelector('#sockets tr[data-id=%q]')`, id))
		}
		listed := func() string {
			status, body := adminGet(t, srv, "GET", "/api/v1/websocket/sockets", token)
			if status != 200 {
				t.Fatalf("listing: %d %s", status, body)
			}
			return body
		}
		// Only these two are open: the earlier subtests' clients have gone.
		gwtest.Eventually(t, "only the two sockets open", func() bool { return strings.Count(listed(), ",") == 1 })
		b.do("close all, then cancel", chromedp.Click(chromedp.CSS("#close-all")), chromedp.WaitVisible(chromedp.CSS("#confirm-dialog")))
		b.do("cancel", chromedp.Click(chromedp.CSS("#confirm-cancel")))
		b.until("the confirmation to close", `!document.querySelector("#confirm-dialog").open`)
		if body := listed(); !strings.Contains(body, ids[0]) || !strings.Contains(body, ids[1]) {
			t.Fatalf("after cancel the sockets are %s, want both still open", body)
		}
		b.do("close all, then confirm", chromedp.Click(chromedp.CSS("#close-all")), chromedp.WaitVisible(chromedp.CSS("#confirm-dialog")))
		b.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
		for _, c := range others {
			if code, _ := c.ExpectClose(); code != websocket.StatusNormalClosure {
				t.Fatalf("close all: the client saw %d, want 1000", code)
			}
		}
		b.until("the list to empty", `document.querySelectorAll("#sockets tbody tr:not(.gone)").length === 0`)
		b.until("the count of the close", `document.querySelector("#toast").textContent === "Closed 2 sockets"`)
	})

	t.Run("users and groups", func(t *testing.T) {
		b.t = t
		dial := func(path string) (*gwtest.Client, string) {
			c := gwtest.Dial(t, ws(path), nil)
			return c, socketID(t, c)
		}
		redAlice, redAliceID := dial("/room/red?user=alice")
		blueAlice, blueAliceID := dial("/room/blue?user=alice")
		redBob, redBobID := dial("/room/red?user=bob")
		guest, guestID := dial("/id")
		all := []string{redAliceID, blueAliceID, redBobID, guestID}
		for _, id := range all {
			b.until("the socket's row", fmt.Sprintf(`!!document.querySelector('#sockets tr[data-id=%q]')`, id))
		}
		rows := func(table string) string {
			return fmt.Sprintf(`[...document.querySelectorAll("%s tbody tr[data-id]:not(.gone)")].map((tr) => tr.dataset.id).sort().join(" ")`, table)
		}
		listed := func(what, table string, ids ...string) {
			t.Helper()
			want := append([]string(nil), ids...)
			slices.Sort(want)
			b.until(what, fmt.Sprintf(`%s === %q`, rows(table), strings.Join(want, " ")))
		}
		filter := func(user, group string) {
			t.Helper()
			b.do("filter",
				setValue("#user-filter", user),
				setValue("#group-filter", group),
				chromedp.Click(chromedp.CSS("#filter-apply")))
		}

		filter("", "red")
		listed("the members of red, no other socket", "#sockets", redAliceID, redBobID)
		filter("alice", "")
		listed("alice's sockets, no other socket", "#sockets", redAliceID, blueAliceID)
		// Send to the user: both of alice's sockets get it; bob's first
		// message below is a later one, so it did not reach him.
		b.do("send to alice", chromedp.SendKeys(chromedp.CSS("#user-message"), "for alice"), chromedp.Click(chromedp.CSS("#user-send")))
		for name, c := range map[string]*gwtest.Client{"red alice": redAlice, "blue alice": blueAlice} {
			if got := c.ReadText(); got != "for alice" {
				t.Fatalf("%s got %q, want the message to alice", name, got)
			}
		}
		b.until("the count sent", `document.querySelector("#toast").textContent === "Sent to 2 sockets of alice"`)
		filter("alice", "red")
		listed("alice's sockets in red", "#sockets", redAliceID)
		if note := b.text("#page-note"); !strings.Contains(note, "User alice in group red: 1 socket.") {
			t.Fatalf("the note says %q", note)
		}
		// The filters list from the API, not from the page shown.
		mu.Lock()
		for _, prefix := range []string{"/api/v1/websocket/groups/red/sockets?limit=", "/api/v1/websocket/users/alice/sockets"} {
			if !slices.ContainsFunc(slices.Collect(maps.Keys(apiStatus)), func(p string) bool { return strings.HasPrefix(p, prefix) }) {
				t.Errorf("the page did not call %s", prefix)
			}
		}
		mu.Unlock()
		b.do("clear the filters", chromedp.Click(chromedp.CSS("#filter-clear")))
		b.until("every socket again", fmt.Sprintf(`%s.split(" ").length >= 4`, rows("#sockets")))

		b.click("open alice's red socket", fmt.Sprintf(`#sockets tr[data-id=%q]`, redAliceID))
		b.until("its details", fmt.Sprintf(`document.querySelector("#details-id").textContent === %q`, redAliceID))
		b.until("the info loaded", `document.querySelector("#details-state").textContent !== ""`)
		details := eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll("#details-info dt")].map((dt) => [dt.textContent, dt.nextElementSibling.textContent]))`)
		if details["user"] != "alice" {
			t.Errorf("details show user %q, want alice", details["user"])
		}
		var state map[string]string
		if err := json.Unmarshal([]byte(b.text("#details-state")), &state); err != nil || state["nick"] != "alice" || state["room"] != "red" {
			t.Errorf("details show state %q (%v), want the script's", b.text("#details-state"), err)
		}
		if got := eval[string](b, `[...document.querySelectorAll("#details-groups button[data-group]:not([data-action])")].map((b) => b.textContent).join(" ")`); got != "red" {
			t.Errorf("details show groups %q, want red", got)
		}

		if details["subprotocol"] != "(none)" {
			t.Errorf("details show subprotocol %q, want (none)", details["subprotocol"])
		}

		// A socket that chose a subprotocol shows it.
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		proto, _, err := websocket.Dial(ctx, ws("/proto"), &websocket.DialOptions{Subprotocols: []string{"chat.v1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer proto.CloseNow()
		_, protoID, err := proto.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b.do("open the socket with a subprotocol", setValue("#open-id", string(protoID)), chromedp.Click(chromedp.CSS("#open-socket")))
		b.until("its subprotocol", `[...document.querySelectorAll("#details-info dt")].some((dt) => dt.textContent === "subprotocol" && dt.nextElementSibling.textContent === "chat.v1")`)

		// Join from the details: the guest joins a group whose name needs
		// escaping in a path.
		const green = "green/team #1"
		b.do("open the guest", setValue("#open-id", guestID), chromedp.Click(chromedp.CSS("#open-socket")))
		b.until("the guest's details", fmt.Sprintf(`document.querySelector("#details-id").textContent === %q`, guestID))
		b.until("no group", `document.querySelector("#details-groups").textContent === "in no group"`)
		b.do("join "+green, chromedp.SendKeys(chromedp.CSS("#join-group"), green), chromedp.Click(chromedp.CSS("#join")))
		b.until(green+" in the details", fmt.Sprintf(`!!document.querySelector('#details-groups button[data-group=%q]')`, green))
		members := func(group string) string {
			status, body := adminGet(t, srv, "GET", "/api/v1/websocket/groups/"+url.PathEscape(group)+"/sockets", token)
			if status != 200 {
				t.Fatalf("members of %s: %d %s", group, status, body)
			}
			return strings.TrimSpace(body)
		}
		if got := members(green); got != fmt.Sprintf("[%q]", guestID) {
			t.Fatalf("%s's members are %s, want the guest", green, got)
		}
		b.click("leave "+green, fmt.Sprintf(`#details-groups button[data-action=leave][data-group=%q]`, green))
		b.until("no group again", `document.querySelector("#details-groups").textContent === "in no group"`)
		if got := members(green); got != "[]" {
			t.Fatalf("after leaving, %s's members are %s, want none", green, got)
		}

		// The group's members: the link in the details opens them.
		b.click("show red's members", fmt.Sprintf(`#sockets tr[data-id=%q]`, redBobID))
		b.until("bob's groups", `!!document.querySelector('#details-groups button[data-group="red"]')`)
		b.click("open red", `#details-groups button[data-group="red"]:not([data-action])`)
		b.until("the groups tab", `!document.querySelector("#panel-groups").hidden`)
		listed("red's members", "#members", redAliceID, redBobID)

		// Publish, bob left out; then a publish to all: what bob reads first
		// is the second, so the first did not reach him.
		b.click("leave bob out", fmt.Sprintf(`#members input[data-exclude=%q]`, redBobID))
		b.until("the exclusion noted", `document.querySelector("#publish-exclude").textContent === "except 1 ticked"`)
		b.do("publish", chromedp.SendKeys(chromedp.CSS("#publish-message"), "hello red"), chromedp.Click(chromedp.CSS("#publish")))
		if got := redAlice.ReadText(); got != "hello red" {
			t.Fatalf("alice got %q, want the publish", got)
		}
		b.click("take bob in again", fmt.Sprintf(`#members input[data-exclude=%q]`, redBobID))
		b.do("publish again",
			setValue("#publish-message", "AAEC/w=="),
			setValue("#publish-type", "data-binary"),
			chromedp.Click(chromedp.CSS("#publish")))
		for name, c := range map[string]*gwtest.Client{"alice": redAlice, "bob": redBob} {
			if typ, got := c.Read(); typ != websocket.MessageBinary || got != "\x00\x01\x02\xff" {
				t.Fatalf("%s got a %v frame %q, want the binary publish", name, typ, got)
			}
		}

		// Add the guest to red from the members view, then remove it.
		b.do("add the guest", chromedp.SendKeys(chromedp.CSS("#member-id"), guestID), chromedp.Click(chromedp.CSS("#member-add")))
		listed("the guest among red's members", "#members", redAliceID, redBobID, guestID)
		if got := members("red"); !strings.Contains(got, guestID) {
			t.Fatalf("red's members are %s, want the guest among them", got)
		}
		b.do("publish to red with the guest",
			setValue("#publish-type", "data-text"),
			setValue("#publish-message", "guest welcome"),
			chromedp.Click(chromedp.CSS("#publish")))
		if got := guest.ReadText(); got != "guest welcome" {
			t.Fatalf("the guest got %q, want the publish to red", got)
		}
		_, _ = redAlice.Read()
		_, _ = redBob.Read()
		b.click("remove the guest", fmt.Sprintf(`#members button[data-remove=%q]`, guestID))
		listed("red's members without the guest", "#members", redAliceID, redBobID)
		if got := members("red"); strings.Contains(got, guestID) {
			t.Fatalf("red's members are %s, want the guest gone", got)
		}

		// Broadcast to every socket but alice's blue one; then to all.
		b.do("broadcast",
			chromedp.SendKeys(chromedp.CSS("#broadcast-message"), "to everyone"),
			chromedp.SendKeys(chromedp.CSS("#broadcast-exclude"), blueAliceID),
			chromedp.Click(chromedp.CSS("#broadcast")))
		for name, c := range map[string]*gwtest.Client{"red alice": redAlice, "bob": redBob, "guest": guest} {
			if got := c.ReadText(); got != "to everyone" {
				t.Fatalf("%s got %q, want the broadcast", name, got)
			}
		}
		b.do("broadcast again",
			setValue("#broadcast-exclude", ""),
			setValue("#broadcast-message", "to all"),
			chromedp.Click(chromedp.CSS("#broadcast")))
		if got := blueAlice.ReadText(); got != "to all" {
			t.Fatalf("blue alice got %q first, want the second broadcast only", got)
		}
		b.do("back to the sockets", chromedp.Click(chromedp.CSS("#tab-sockets")))

		// Close the user's sockets, after a confirmation.
		filter("alice", "")
		listed("alice's sockets", "#sockets", redAliceID, blueAliceID)
		b.do("close alice's sockets", chromedp.Click(chromedp.CSS("#user-close")), chromedp.WaitVisible(chromedp.CSS("#confirm-dialog")))
		if title := b.text("#confirm-title"); title != "Close alice's sockets?" {
			t.Fatalf("the confirmation asks %q", title)
		}
		b.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
		for name, c := range map[string]*gwtest.Client{"red alice": redAlice, "blue alice": blueAlice} {
			if code, _ := c.ExpectClose(); code != websocket.StatusNormalClosure {
				t.Fatalf("%s saw close %d, want 1000", name, code)
			}
		}
		listed("no socket of alice's", "#sockets")
		b.do("clear the filters", chromedp.Click(chromedp.CSS("#filter-clear")))
	})

	t.Run("a refused script shows its line", func(t *testing.T) {
		b.t = t
		b.do("open /echo", chromedp.Click(chromedp.CSS("#tab-endpoints")))
		b.until("the endpoint list", `!!document.querySelector('#endpoints tr[data-path="/echo"]')`)
		b.do("open /echo", chromedp.Click(chromedp.CSS(`#endpoints tr[data-path="/echo"]`)))
		b.until("the script in the editor", `document.querySelector("#editor textarea").value.includes("websocketInfo.message")`)

		var src strings.Builder
		for i := 1; i <= 80; i++ {
			if i == 57 {
				src.WriteString("var broken = ;\n")
				continue
			}
			fmt.Fprintf(&src, "// line %d\n", i)
		}
		js, _ := json.Marshal(src.String())
		b.do("type a broken script",
			chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const a = document.querySelector("#editor textarea");
				a.value = %s; a.dispatchEvent(new Event("input")); })()`, js)),
			chromedp.Click(chromedp.CSS("#deploy")))
		b.until("the error", `!document.querySelector("#deploy-error").hidden`)
		if msg := b.text("#deploy-error"); !strings.Contains(msg, "/echo:57:") {
			t.Fatalf("the error %q does not name line 57", msg)
		}
		if line := b.text("#editor .gutter .error"); line != "57" {
			t.Fatalf("the gutter marks line %q, want 57", line)
		}
		if !eval[bool](b, `(() => { const a = document.querySelector("#editor textarea"), bar = document.querySelector("#editor .error-line");
			return !bar.hidden && a.scrollTop > 0 && bar.offsetTop >= 0 && bar.offsetTop + bar.offsetHeight <= a.clientHeight; })()`) {
			t.Fatal("the error line is not marked in view")
		}
		version := b.text(`#endpoints tr[data-path="/echo"] td.num`)
		if status, body := adminGet(t, srv, "GET", "/api/v1/endpoints/%2Fecho", token); status != 200 || !strings.Contains(body, `"version":`+version+",") {
			t.Fatalf("after the refused deploy: %d %s, want version %s still", status, body, version)
		}

		b.do("fix it and deploy",
			chromedp.Evaluate[chromedp.Void](`(() => { const a = document.querySelector("#editor textarea");
				a.value = 'if (websocketInfo.type === "data") return "fixed: " + websocketInfo.message;';
				a.dispatchEvent(new Event("input")); })()`),
			chromedp.Click(chromedp.CSS("#deploy")))
		b.until("a new version", fmt.Sprintf(`document.querySelector('#endpoints tr[data-path="/echo"] td.num').textContent !== %q`, version))
		if !eval[bool](b, `document.querySelector("#deploy-error").hidden && !document.querySelector("#editor .gutter .error")`) {
			t.Fatal("the error is still shown after a good deploy")
		}
		c := gwtest.Dial(t, ws("/echo"), nil)
		c.Send("hi")
		if got := c.ReadText(); got != "fixed: hi" {
			t.Fatalf("/echo answers %q after the deploy, want the new script's", got)
		}
	})

	t.Run("a new endpoint", func(t *testing.T) {
		b.t = t
		b.do("create /echo again",
			chromedp.Click(chromedp.CSS("#new-endpoint")),
			chromedp.SendKeys(chromedp.CSS("#edit-path"), "/echo"),
			chromedp.Click(chromedp.CSS("#deploy")))
		b.until("the refusal", `document.querySelector("#deploy-error").textContent.includes("/echo exists already")`)
		b.do("create /made",
			chromedp.Click(chromedp.CSS("#new-endpoint")),
			chromedp.SendKeys(chromedp.CSS("#edit-path"), "/made/{thing}"),
			chromedp.Click(chromedp.CSS("#deploy")))
		b.until("the new endpoint in the list", `!!document.querySelector('#endpoints tr[data-path="/made/{thing}"]')`)
		if got := b.text("#toast"); !strings.HasPrefix(got, "Created /made/{thing}, version ") {
			t.Fatalf("toast %q, want the endpoint created", got)
		}
		c := gwtest.Dial(t, ws("/made/x"), nil)
		if got := c.ReadText(); got != "Welcome" {
			t.Fatalf("the new endpoint's template answers %q, want Welcome", got)
		}
	})

	if out := os.Getenv("WSGW_CONSOLE_SCREENSHOT"); out != "" {
		screenshot(t, b, srv, token, out)
	}
}

// TestConsoleWithoutToken: with no admin.token (a loopback admin listener)
// the console works without asking for one.
func TestConsoleWithoutToken(t *testing.T) {
	srv, _ := startGateway(t, consoleFiles(""))
	b := newBrowser(t)
	c := gwtest.Dial(t, "ws://"+srv.publicAddr+"/id", nil)
	id := socketID(t, c)
	b.do("open the console", chromedp.Navigate("http://"+srv.adminAddr+"/console/"))
	b.until("the socket's row", fmt.Sprintf(`!!document.querySelector('#sockets tr[data-id=%q]')`, id))
	if eval[bool](b, `document.querySelector("#token-dialog").open || !document.querySelector("#forget-token").hidden`) {
		t.Fatal("the console asked for a token that the gateway does not need")
	}
}

// TestConsolePages: the list goes a page at a time, and so do a group's
// members and a user's sockets: paging forward shows each socket once and
// every one of them, and Prev goes back.
func TestConsolePages(t *testing.T) {
	srv, _ := startGateway(t, consoleFiles(""))
	b := newBrowser(t)
	var all, big, many []string
	for i := range 60 {
		path := "/room/big"
		if i%2 == 0 {
			path += "?user=many"
		}
		if i%10 == 9 {
			path = "/room/small"
		}
		id := socketID(t, gwtest.Dial(t, "ws://"+srv.publicAddr+path, nil))
		all = append(all, id)
		if path != "/room/small" {
			big = append(big, id)
		}
		if strings.Contains(path, "many") {
			many = append(many, id)
		}
	}
	b.do("open the console", chromedp.Navigate("http://"+srv.adminAddr+"/console/"),
		chromedp.WaitVisible(chromedp.CSS("#sockets tbody tr")),
		setValue("#page-size", "25"))
	rows := `[...document.querySelectorAll("#sockets tbody tr[data-id]")].map((tr) => tr.dataset.id).join(" ")`
	walk := func(what string, want []string) {
		t.Helper()
		b.until(what+": the first page, 25 rows", fmt.Sprintf(`document.querySelector("#page-label").textContent === "page 1" && %s.split(" ").length === %d`, rows, min(25, len(want))))
		firstPage := eval[string](b, rows)
		seen := map[string]int{}
		for page := 1; ; page++ {
			b.until(what+": the page", fmt.Sprintf(`document.querySelector("#page-label").textContent === "page %d"`, page))
			ids := strings.Fields(eval[string](b, rows))
			if len(ids) > 25 {
				t.Fatalf("%s: page %d has %d rows, more than its size", what, page, len(ids))
			}
			for _, id := range ids {
				seen[id]++
			}
			if eval[bool](b, `document.querySelector("#page-next").disabled`) {
				break
			}
			b.do("next page", chromedp.Click(chromedp.CSS("#page-next")))
		}
		for _, id := range want {
			if seen[id] != 1 {
				t.Errorf("%s: socket %s shown %d times, want once", what, id, seen[id])
			}
		}
		if len(seen) != len(want) {
			t.Errorf("%s: %d sockets shown, want %d", what, len(seen), len(want))
		}
		b.do("the first page", chromedp.Click(chromedp.CSS("#page-first")))
		b.until(what+": the first page again", fmt.Sprintf(`document.querySelector("#page-label").textContent === "page 1" && %s === %q`, rows, firstPage))
	}
	walk("every socket", all)
	b.do("filter by group", setValue("#group-filter", "big"), chromedp.Click(chromedp.CSS("#filter-apply")))
	b.until("the group's page", `document.querySelector("#page-note").textContent.includes("Members of group big.")`)
	walk("group big", big)
	b.do("filter by user", setValue("#group-filter", ""), setValue("#user-filter", "many"), chromedp.Click(chromedp.CSS("#filter-apply")))
	b.until("the user's page", fmt.Sprintf(`document.querySelector("#page-note").textContent.includes("User many: %d sockets.")`, len(many)))
	walk("user many", many)
}

// screenshot writes a picture of the console with traffic to out (relative
// to the repository root): WSGW_CONSOLE_SCREENSHOT=docs/console.png.
func screenshot(t *testing.T, b *browser, srv *server, token, out string) {
	b.t = t
	if !filepath.IsAbs(out) {
		out = filepath.Join("..", "..", out)
	}
	// A chat: each client in its room's group, bound to its user, some in
	// staff too, a count of its messages in its state.
	chat, _ := json.Marshal(map[string]string{"script": `const p = websocketInfo.parameters;
if (websocketInfo.type === "open") {
  websocketInfo.join("room:" + p.room);
  if (p.staff) websocketInfo.join("staff");
  if (p.user) websocketInfo.setUser(p.user);
  websocketInfo.state = {nick: p.user || "guest", messages: 0};
} else if (websocketInfo.type === "data") {
  websocketInfo.state.messages++;
  return websocketInfo.message;
}`})
	req, _ := http.NewRequest("PUT", "http://"+srv.adminAddr+"/api/v1/endpoints/%2Fchat%2F%7Broom%7D", bytes.NewReader(chat))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("deploying /chat/{room}: %s", resp.Status)
	}
	ws := func(path string) string { return "ws://" + srv.publicAddr + path }
	routes := []string{"/echo", "/chat/lobby", "/chat/ops", "/id"}
	var clients []*gwtest.Client
	users := []string{"ana", "ben", "chloe", "dev", "eli", "fay", "gus"}
	for i := 0; i < 14; i++ {
		path := routes[i%len(routes)] + fmt.Sprintf("?client=%d", i)
		if strings.HasPrefix(path, "/chat/") {
			path += "&user=" + users[i%len(users)]
			if i%3 == 1 {
				path += "&staff=1"
			}
		}
		clients = append(clients, gwtest.Dial(t, ws(path), nil))
	}
	b.do("show the sockets", chromedp.EmulateViewport(1400, 900), chromedp.Click(chromedp.CSS("#tab-sockets")), setValue("#open-id", ""))
	stop := time.Now().Add(25 * time.Second)
	for i := 0; time.Now().Before(stop); i++ {
		for k, c := range clients {
			if k%len(routes) != 3 && (i+k)%4 != 0 {
				c.Send(fmt.Sprintf("message %d", i))
				_, _ = c.Read()
			}
		}
		if i%25 == 0 && len(clients) < 22 {
			clients = append(clients, gwtest.Dial(t, ws(fmt.Sprintf("/chat/lobby?late=%d&user=%s", i, users[i%len(users)])), nil))
		}
		time.Sleep(40 * time.Millisecond) // a steady trickle of traffic for the charts
	}
	id := eval[string](b, `[...document.querySelectorAll("#sockets tbody tr")].find((tr) => tr.textContent.includes("staff")).dataset.id`)
	b.click("open a socket", fmt.Sprintf(`#sockets tr[data-id=%q]`, id))
	b.until("its details", fmt.Sprintf(`document.querySelector("#details-id").textContent === %q`, id))
	b.until("its groups", `!!document.querySelector("#details-groups button[data-group]")`)
	b.do("fill in a message",
		chromedp.SetValue(chromedp.CSS("#send-type"), "data-text"),
		chromedp.SetValue(chromedp.CSS("#send-message"), `{"type": "notice", "text": "maintenance at 18:00"}`),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#details").scrollTop = 0`))
	ctx, cancel := context.WithTimeout(b.ctx, waitFor)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", out)
}

// TestShutdownEndsStatsStreams: an open stats stream (a console left open)
// does not hold up the admin listener's shutdown.
func TestShutdownEndsStatsStreams(t *testing.T) {
	srv, _ := startGateway(t, map[string]string{"gateway.yaml": baseConfig, "echo.js": echoJS})
	resp, err := http.Get("http://" + srv.adminAddr + "/api/v1/stats/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := resp.Body.Read(make([]byte, 1)); err != nil {
		t.Fatalf("stream: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := srv.admin.Shutdown(ctx); err != nil {
		t.Fatalf("admin shutdown with a stream open: %v", err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatalf("the stream ended with %v, want its end", err)
	}
}
